"""Unit tests for the pure parts of plugins/module_utils/_pggrants.py (no database)."""

from __future__ import annotations

import pytest
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pggrants as pg
from psycopg2 import sql

TIAAS = [
    {
        "objects": ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"],
        "privileges": ["SELECT"],
    },
    {
        "objects": ["user_group_association", "galaxy_group", "role", "group_role_association"],
        "privileges": ["SELECT", "INSERT"],
    },
    {"objects": ["group_role_association"], "privileges": ["DELETE"]},
    {
        "type": "sequence",
        "objects": [
            "role_id_seq",
            "galaxy_group_id_seq",
            "group_role_association_id_seq",
            "user_group_association_id_seq",
        ],
        "privileges": ["usage", "select"],
    },
]


def table(name, schema="public"):
    return ("table", schema, name)


def catalog_for(grants, acl=None, missing=()):
    """A CatalogState where every named object exists, with the given ACL."""
    state = pg.CatalogState()
    for target in pg.targets_of(grants):
        if target in missing:
            state.resolved[target] = []
            state.missing.append(target)
            continue
        kind, schema, name = target
        key = (kind, schema, name)
        state.resolved[target] = [key]
        state.idents[key] = (name.split("(")[0], name[name.index("(") + 1 : -1] if kind == "function" else None)
    state.acl = acl or {}
    return state


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["tiaas"], ["tiaas"]),
        (["tiaas", "tiaas", "reports"], ["tiaas", "reports"]),
        (["public"], ["PUBLIC"]),
        (["Public", "MixedCase"], ["PUBLIC", "MixedCase"]),
    ],
)
def test_validate_roles(roles, expected):
    assert pg.validate_roles(roles) == expected


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ([], "roles: give at least one role"),
        (["ok", ""], "roles[1]: role name must be a non-empty string"),
        ([None], "roles[0]: role name must be a non-empty string"),
    ],
)
def test_validate_roles_errors(roles, message):
    with pytest.raises(pg.GrantsError) as err:
        pg.validate_roles(roles)
    assert message in str(err.value)


def test_validate_grants_normalizes_tiaas():
    grants = pg.validate_grants(TIAAS, "exact")
    assert [g.kind for g in grants] == ["table", "table", "table", "sequence"]
    assert grants[3].privileges == ("USAGE", "SELECT")
    assert grants[1].privileges == ("SELECT", "INSERT")
    assert all(g.schema == "public" for g in grants)
    assert grants[0].objects[0] == "galaxy_user"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"type": "table", "objects": ["t"], "privileges": ["ALL"]},
            ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
        ),
        ({"type": "sequence", "objects": ["s"], "privileges": ["all"]}, ("USAGE", "SELECT", "UPDATE")),
        ({"type": "database", "objects": ["galaxy"], "privileges": ["temp", "connect"]}, ("CONNECT", "TEMPORARY")),
        ({"type": "schema", "objects": ["public"], "privileges": ["usage"]}, ("USAGE",)),
        ({"type": "function", "objects": ["f(integer)"], "privileges": ["execute"]}, ("EXECUTE",)),
        ({"type": "table", "objects": ["t"], "privileges": ["DELETE", "SELECT", "select"]}, ("SELECT", "DELETE")),
    ],
)
def test_validate_grants_privileges(entry, expected):
    assert pg.validate_grants([entry], "present")[0].privileges == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"type": "table", "objects": ["galaxy_user"], "privileges": ["USAGE"]},
            "grants[0] (type table, objects galaxy_user): privilege USAGE is not valid for a table",
        ),
        (
            {"type": "sequence", "objects": ["role_id_seq"], "privileges": ["INSERT"]},
            "grants[0] (type sequence, objects role_id_seq): privilege INSERT is not valid for a sequence",
        ),
        (
            {"type": "database", "objects": ["galaxy"], "privileges": ["SELECT"]},
            "privilege SELECT is not valid for a database",
        ),
        ({"type": "table", "objects": [], "privileges": ["SELECT"]}, "objects is empty"),
        ({"type": "table", "privileges": ["SELECT"]}, "objects is empty"),
        (
            {"type": "table", "objects": ["t"], "all_in_schema": True, "privileges": ["SELECT"]},
            "give either objects or all_in_schema: true, not both",
        ),
        (
            {"type": "schema", "objects": ["public"], "schema": "public", "privileges": ["USAGE"]},
            "schema applies only to tables, sequences and functions, not to a schema",
        ),
        (
            {"type": "database", "all_in_schema": True, "privileges": ["CONNECT"]},
            "all_in_schema applies only to tables, sequences and functions",
        ),
        (
            {"type": "function", "objects": ["f"], "privileges": ["EXECUTE"]},
            "function 'f' must be written with its argument types",
        ),
        ({"type": "table", "objects": ["t"], "privileges": []}, "privileges is empty"),
        ({"type": "view", "objects": ["t"], "privileges": ["SELECT"]}, "type 'view' is not one of"),
        ({"type": "table", "objects": [""], "privileges": ["SELECT"]}, "object names must be non-empty strings"),
        ("SELECT", "grants[0]: each grant must be a dictionary"),
    ],
)
def test_validate_grants_errors_name_the_item(entry, message):
    with pytest.raises(pg.GrantsError) as err:
        pg.validate_grants([entry], "present")
    assert message in str(err.value)


def test_validate_grants_reports_every_error_with_its_index():
    with pytest.raises(pg.GrantsError) as err:
        pg.validate_grants(
            [
                {"objects": ["ok"], "privileges": ["SELECT"]},
                {"objects": ["a"], "privileges": ["USAGE"]},
                {"type": "sequence", "objects": ["s"], "privileges": ["DELETE"]},
            ],
            "present",
        )
    assert len(err.value.errors) == 2
    assert err.value.errors[0].startswith("grants[1]")
    assert err.value.errors[1].startswith("grants[2]")


def test_empty_privileges_allowed_in_exact_mode():
    assert pg.validate_grants([{"objects": ["t"], "privileges": []}], "exact")[0].privileges == ()


@pytest.mark.parametrize(("version", "ok"), [(150000, False), (170000, True), (None, True)])
def test_maintain_needs_postgresql_17(version, ok):
    entry = [{"objects": ["t"], "privileges": ["MAINTAIN"]}]
    if ok:
        assert pg.validate_grants(entry, "present", version)[0].privileges == ("MAINTAIN",)
    else:
        with pytest.raises(pg.GrantsError, match="needs PostgreSQL 17"):
            pg.validate_grants(entry, "present", version)


def test_targets_are_deterministic_and_deduplicated():
    grants = pg.validate_grants(TIAAS, "present")
    targets = pg.targets_of(grants)
    assert len(targets) == 14
    assert targets == sorted(targets, key=lambda t: (pg.KINDS.index(t[0]), t[1], t[2]))
    assert targets[0] == table("galaxy_group")


# --- catalog rows ------------------------------------------------------------------------------


def test_parse_catalog_rows():
    targets = [
        table("job"),
        table("nope"),
        ("table", "other", None),
        ("table", "ghost", None),
        ("schema", "", "public"),
    ]
    rows = [
        ("table", "public", "job", True, True, "job", None, "galaxy", "SELECT", False),
        ("table", "public", "job", True, True, "job", None, "tiaas", "SELECT", False),
        ("table", "public", "job", True, True, "job", None, "tiaas", "SELECT", True),  # second grantor
        ("table", "public", "nope", True, False, None, None, None, None, None),
        ("table", "other", None, True, True, "a", None, None, None, None),
        ("table", "ghost", None, False, False, None, None, None, None, None),
        ("schema", "", "public", True, True, "public", None, "PUBLIC", "USAGE", False),
        ("role", None, "tiaas", True, True, "tiaas", None, None, None, None),
        ("role", None, "ghost", True, False, "ghost", None, None, None, None),
    ]
    state = pg.parse_catalog_rows(rows, targets)
    assert state.roles == {"tiaas": True, "ghost": False}
    assert state.missing == [table("nope"), ("table", "ghost", None)]
    assert state.acl[table("job")]["tiaas"] == {"SELECT": True}
    assert state.resolved[("table", "other", None)] == [("table", "other", "a")]
    assert state.acl[("schema", "", "public")] == {"PUBLIC": {"USAGE": False}}


def test_parse_catalog_rows_empty_schema_is_not_missing():
    target = ("sequence", "empty", None)
    state = pg.parse_catalog_rows([("sequence", "empty", None, True, False, None, None, None, None, None)], [target])
    assert state.missing == []
    assert state.resolved[target] == []


def test_parse_catalog_rows_functions_are_keyed_by_identity():
    target = ("function", "public", "f(int)")
    rows = [("function", "public", "f(int)", True, True, "f", "integer", "PUBLIC", "EXECUTE", False)]
    state = pg.parse_catalog_rows(rows, [target])
    key = ("function", "public", "f(integer)")
    assert state.resolved[target] == [key]
    assert state.idents[key] == ("f", "integer")


def test_catalog_params():
    params = pg.catalog_params([table("job"), ("table", "s", None)], ["tiaas"])
    assert params == {
        "kinds": ["table", "table"],
        "schemas": ["public", "s"],
        "names": ["job", None],
        "roles": ["tiaas"],
    }


# --- difference ----------------------------------------------------------------------------------

ONE = [{"objects": ["job"], "privileges": ["SELECT", "INSERT"]}]


@pytest.mark.parametrize(
    ("state", "current", "expected"),
    [
        ("present", {}, [("grant", "SELECT"), ("grant", "INSERT")]),
        ("present", {"SELECT": False}, [("grant", "INSERT")]),
        ("present", {"SELECT": False, "INSERT": False}, []),
        ("present", {"SELECT": False, "INSERT": False, "UPDATE": False}, []),
        ("present", {"SELECT": True, "INSERT": True}, []),
        ("exact", {"SELECT": False, "INSERT": False, "UPDATE": False}, [("revoke", "UPDATE")]),
        ("exact", {"SELECT": True, "INSERT": False}, [("revoke_grant_option", "SELECT")]),
        ("exact", {"DELETE": False}, [("revoke", "DELETE"), ("grant", "SELECT"), ("grant", "INSERT")]),
        ("absent", {"SELECT": False, "UPDATE": False}, [("revoke", "SELECT")]),
        ("absent", {}, []),
    ],
)
def test_compute_changes(state, current, expected):
    grants = pg.validate_grants(ONE, state)
    catalog = catalog_for(grants, {table("job"): {"tiaas": current, "galaxy": {"UPDATE": False}}})
    changes = pg.compute_changes(grants, ["tiaas"], catalog, state)
    assert [(action, priv) for _role, action, _key, priv in changes] == expected
    assert all(role == "tiaas" and key == table("job") for role, _a, key, _p in changes)


@pytest.mark.parametrize(
    ("state", "current", "expected"),
    [
        ("present", {}, [("grant_with_option", "SELECT")]),
        ("present", {"SELECT": False}, [("grant_with_option", "SELECT")]),
        ("present", {"SELECT": True}, []),
        ("absent", {"SELECT": True}, [("revoke_grant_option", "SELECT")]),
        ("absent", {"SELECT": False}, []),
    ],
)
def test_compute_changes_grant_option(state, current, expected):
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["SELECT"], "grant_option": True}], state)
    catalog = catalog_for(grants, {table("job"): {"tiaas": current}})
    assert [(a, p) for _r, a, _k, p in pg.compute_changes(grants, ["tiaas"], catalog, state)] == expected


def test_privileges_of_other_roles_and_public_are_left_alone():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": []}], "exact")
    catalog = catalog_for(grants, {table("job"): {"PUBLIC": {"SELECT": False}, "other": {"UPDATE": False}}})
    assert pg.compute_changes(grants, ["tiaas"], catalog, "exact") == []


def test_public_as_a_role():
    grants = pg.validate_grants([{"type": "schema", "objects": ["public"], "privileges": ["CREATE"]}], "absent")
    catalog = catalog_for(grants, {("schema", "", "public"): {"PUBLIC": {"USAGE": False, "CREATE": False}}})
    changes = pg.compute_changes(grants, ["PUBLIC"], catalog, "absent")
    assert changes == [("PUBLIC", "revoke", ("schema", "", "public"), "CREATE")]
    (stmt,) = pg.plan_statements(changes)
    assert pg.statement_text(stmt, catalog.idents) == 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC'


def test_missing_objects_are_out_of_scope():
    grants = pg.validate_grants(ONE, "present")
    catalog = catalog_for(grants, missing=[table("job")])
    assert pg.compute_changes(grants, ["tiaas"], catalog, "present") == []


# --- statements -----------------------------------------------------------------------------------


def tiaas_plan(acl=None, state="exact", roles=("tiaas",)):
    grants = pg.validate_grants(TIAAS, state)
    catalog = catalog_for(grants, acl)
    changes = pg.compute_changes(grants, list(roles), catalog, state)
    return grants, catalog, changes, pg.plan_statements(changes)


def test_tiaas_statements_are_grouped_and_ordered():
    _g, catalog, changes, statements = tiaas_plan()
    assert len(changes) == 6 + 4 * 2 + 1 + 4 * 2
    assert [pg.statement_text(s, catalog.idents) for s in statements] == [
        'GRANT SELECT ON TABLE "public"."galaxy_session", "public"."galaxy_user", "public"."history", '
        '"public"."job", "public"."workflow", "public"."workflow_invocation" TO "tiaas"',
        'GRANT SELECT, INSERT ON TABLE "public"."galaxy_group", "public"."role", "public"."user_group_association" '
        'TO "tiaas"',
        'GRANT SELECT, INSERT, DELETE ON TABLE "public"."group_role_association" TO "tiaas"',
        'GRANT USAGE, SELECT ON SEQUENCE "public"."galaxy_group_id_seq", "public"."group_role_association_id_seq", '
        '"public"."role_id_seq", "public"."user_group_association_id_seq" TO "tiaas"',
    ]


def test_statement_order_does_not_depend_on_input_order():
    _g, catalog, _c, statements = tiaas_plan()
    grants = pg.validate_grants(list(reversed(TIAAS)), "exact")
    changes = pg.compute_changes(grants, ["tiaas"], catalog, "exact")
    assert pg.plan_statements(list(reversed(changes))) == statements


def test_revokes_come_before_grants_and_roles_are_sorted():
    acl = {table("galaxy_user"): {"tiaas": {"UPDATE": True}, "b": {"UPDATE": False}}}
    _g, catalog, _c, statements = tiaas_plan(acl, roles=("tiaas", "b"))
    texts = [pg.statement_text(s, catalog.idents) for s in statements]
    assert texts[0] == 'REVOKE UPDATE ON TABLE "public"."galaxy_user" FROM "b"'
    assert texts[5] == 'REVOKE UPDATE ON TABLE "public"."galaxy_user" FROM "tiaas"'
    assert texts[6].startswith('GRANT SELECT ON TABLE "public"."galaxy_session"')


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ("grant", 'GRANT SELECT ON TABLE "s"."we""ird" TO "R"'),
        ("grant_with_option", 'GRANT SELECT ON TABLE "s"."we""ird" TO "R" WITH GRANT OPTION'),
        ("revoke", 'REVOKE SELECT ON TABLE "s"."we""ird" FROM "R"'),
        ("revoke_grant_option", 'REVOKE GRANT OPTION FOR SELECT ON TABLE "s"."we""ird" FROM "R"'),
    ],
)
def test_statement_text_quotes_names(action, text):
    key = ("table", "s", 'we"ird')
    stmt = pg.plan_statements([("R", action, key, "SELECT")])[0]
    assert pg.statement_text(stmt, {key: ('we"ird', None)}) == text


def render(composed) -> str:
    """Render a psycopg2.sql composition without a server, quoting identifiers like PostgreSQL."""
    if isinstance(composed, sql.Composed):
        return "".join(render(part) for part in composed.seq)
    if isinstance(composed, sql.Identifier):
        return ".".join('"' + s.replace('"', '""') + '"' for s in composed.strings)
    if isinstance(composed, sql.SQL):
        return composed.string
    raise AssertionError(f"unexpected composable {composed!r}")


@pytest.mark.parametrize(
    ("key", "ident", "role"),
    [
        (("table", "public", "job"), ("job", None), "tiaas"),
        (("sequence", "public", "role_id_seq"), ("role_id_seq", None), 'odd"role'),
        (("schema", "", "public"), ("public", None), "PUBLIC"),
        (("database", "", "galaxy"), ("galaxy", None), "tiaas"),
        (("function", "public", "f(integer, text)"), ("f", "integer, text"), "tiaas"),
    ],
)
@pytest.mark.parametrize("action", pg.ACTION_ORDER)
def test_compose_matches_statement_text(key, ident, role, action):
    priv = pg.PRIVILEGES[key[0]][0]
    stmt = pg.plan_statements([(role, action, key, priv)])[0]
    idents = {key: ident}
    composed = pg.compose(stmt, idents)
    assert isinstance(composed, sql.Composed)
    assert render(composed) == pg.statement_text(stmt, idents)


# --- diff -----------------------------------------------------------------------------------------


def test_build_diff():
    acl = {table("galaxy_user"): {"tiaas": {"SELECT": False, "UPDATE": False}}}
    grants, catalog, changes, _s = tiaas_plan(acl)
    diff = pg.build_diff(grants, ["tiaas"], catalog, changes)
    assert diff["before"]["tiaas"]["table public.galaxy_user"] == ["SELECT", "UPDATE"]
    assert diff["after"]["tiaas"]["table public.galaxy_user"] == ["SELECT"]
    assert diff["before"]["tiaas"]["sequence public.role_id_seq"] == []
    assert diff["after"]["tiaas"]["sequence public.role_id_seq"] == ["USAGE", "SELECT"]
    assert len(diff["after"]["tiaas"]) == 14


def test_build_diff_shows_grant_option():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["SELECT"], "grant_option": True}], "present")
    catalog = catalog_for(grants)
    changes = pg.compute_changes(grants, ["r"], catalog, "present")
    diff = pg.build_diff(grants, ["r"], catalog, changes)
    assert diff == {
        "before": {"r": {"table public.job": []}},
        "after": {"r": {"table public.job": ["SELECT WITH GRANT OPTION"]}},
    }


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (("table", "public", "job"), "table public.job"),
        (("table", "public", None), "all tables in schema public"),
        (("database", "", "galaxy"), "database galaxy"),
        (("function", "s", "f(integer)"), "function s.f(integer)"),
    ],
)
def test_describe_target(target, text):
    assert pg.describe_target(target) == text
