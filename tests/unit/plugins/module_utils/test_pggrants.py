"""Unit tests for the pure parts of plugins/module_utils/_pggrants.py (no database)."""

from __future__ import annotations

import pytest
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pggrants as pg
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pgplan as plan
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


def catalog_for(grants, acl=None, missing=(), columns=None, me="postgres", superuser=True):
    """A CatalogState where every named object exists (owned by galaxy).

    ``acl`` maps key -> grantee -> privilege -> grantable (granted by the owner) or -> {grantor: grantable}.
    """
    state = pg.CatalogState(current_user=me, session_user=me, superuser=superuser)
    for target in pg.targets_of(grants):
        if target in missing:
            state.resolved[target] = []
            state.missing.append(target)
            continue
        kind, schema, name = target
        key = (kind, schema, name)
        state.resolved[target] = [key]
        state.idents[key] = (name.split("(")[0], name[name.index("(") + 1 : -1] if kind == "function" else None)
        state.owners[key] = "galaxy"

    def grantors(value):
        return dict(value) if isinstance(value, dict) else {"galaxy": value}

    state.acl = {
        key: {g: {p: grantors(v) for p, v in privs.items()} for g, privs in grantees.items()}
        for key, grantees in (acl or {}).items()
    }
    state.columns = {
        key: {
            g: {c: {p: grantors(v) for p, v in privs.items()} for c, privs in cols.items()}
            for g, cols in grantees.items()
        }
        for key, grantees in (columns or {}).items()
    }
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


def obj_row(kind, nsp, wanted, nsp_found, found, name, args=None, grantee=None, priv=None, grantable=None, **kw):
    return (
        "object",
        kind,
        nsp,
        wanted,
        nsp_found,
        found,
        name,
        args,
        kw.get("note"),
        kw.get("owner", "galaxy"),
        kw.get("column"),
        grantee,
        priv,
        grantable,
        kw.get("grantor", "galaxy"),
        kw.get("mine"),
    )


def tagged(tag, wanted, found, name=None):
    return (tag, None, None, wanted, None, found, name, None, None, None, None, None, None, None, None, None)


def test_parse_catalog_rows():
    targets = [
        table("job"),
        table("nope"),
        ("table", "other", None),
        ("table", "ghost", None),
        ("schema", "", "public"),
    ]
    rows = [
        obj_row("table", "public", "job", True, True, "job", grantee="tiaas", priv="SELECT", grantable=False),
        obj_row(
            "table", "public", "job", True, True, "job", grantee="tiaas", priv="SELECT", grantable=True, grantor="g"
        ),
        obj_row(
            "table", "public", "job", True, True, "job", grantee="tiaas", priv="UPDATE", grantable=False, column="email"
        ),
        obj_row("table", "public", "nope", True, False, None),
        obj_row("table", "other", None, True, True, "a"),
        obj_row("table", "ghost", None, False, False, None),
        obj_row("schema", "", "public", True, True, "public", grantee="PUBLIC", priv="USAGE", grantable=False),
        tagged("role", "tiaas", True),
        tagged("role", "ghost", False),
        tagged("me", "admin", False, "login"),
        tagged("grantor", "g", True),
    ]
    state = pg.parse_catalog_rows(rows, targets, detailed=True)
    assert state.roles == {"tiaas": True, "ghost": False}
    assert state.missing == [table("nope"), ("table", "ghost", None)]
    assert state.acl[table("job")]["tiaas"] == {"SELECT": {"galaxy": False, "g": True}}
    assert pg.held(state, table("job"), "tiaas") == {"SELECT": True}
    assert state.columns[table("job")]["tiaas"] == {"email": {"UPDATE": {"galaxy": False}}}
    assert pg.held_columns(state, table("job"), "tiaas") == {("email", "UPDATE"): False}
    assert state.resolved[("table", "other", None)] == [("table", "other", "a")]
    assert state.acl[("schema", "", "public")] == {"PUBLIC": {"USAGE": {"galaxy": False}}}
    assert (state.current_user, state.session_user, state.superuser) == ("admin", "login", False)
    assert state.can_act_as == {"g": True}
    assert state.owners[table("job")] == "galaxy"


def test_parse_catalog_rows_empty_schema_is_not_missing():
    target = ("sequence", "empty", None)
    state = pg.parse_catalog_rows([obj_row("sequence", "empty", None, True, False, None)], [target])
    assert state.missing == []
    assert state.resolved[target] == []


def test_parse_catalog_rows_functions_are_keyed_by_identity_and_keep_notes():
    target = ("function", "public", "f(int)")
    later = ("function", "public", "g(later_type)")
    rows = [
        obj_row("function", "public", "f(int)", True, True, "f", "integer", "PUBLIC", "EXECUTE", False),
        obj_row(
            "function", "public", "g(later_type)", True, False, None, note="argument type later_type does not exist"
        ),
    ]
    state = pg.parse_catalog_rows(rows, [target, later])
    key = ("function", "public", "f(integer)")
    assert state.resolved[target] == [key]
    assert state.idents[key] == ("f", "integer")
    assert state.missing == [later]
    assert plan.describe_missing(state, later) == (
        "function public.g(later_type) (argument type later_type does not exist)"
    )


def test_catalog_params():
    params = pg.catalog_params(
        [table("job"), ("table", "s", None), ("function", "public", 'f(integer, "My, Type")')],
        ["tiaas"],
        [("table", "SELECT")],
        160000,
    )
    assert params == {
        "kinds": ["table", "table", "function"],
        "schemas": ["public", "s", "public"],
        "names": ["job", None, 'f(integer, "My, Type")'],
        "fnames": [None, None, "f"],
        "fargs": [None, None, '["integer", "\\"My, Type\\""]'],
        "roles": ["tiaas"],
        "detail_kinds": ["table"],
        "detail_privs": ["SELECT"],
        "detailed": True,
        "set_privilege": "SET",
    }
    assert pg.catalog_params([table("job")], ["r"], None, 150000)["set_privilege"] == "MEMBER"
    assert pg.catalog_params([table("job")], ["r"])["detailed"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f()", ("f", [])),
        ("f(integer)", ("f", ["integer"])),
        (" f ( integer , text ) ", ("f", ["integer", "text"])),
        ('f("My, Type", timestamp with time zone)', ("f", ['"My, Type"', "timestamp with time zone"])),
        ("s.f(int[])", ("s.f", ["int[]"])),
    ],
)
def test_split_signature(text, expected):
    assert pg.split_signature(text) == expected


@pytest.mark.parametrize("text", ["f", "f(int,)", "f(,int)", "(int)", "f(numeric(10,2))", "f(int))"])
def test_split_signature_rejects(text):
    with pytest.raises(ValueError):
        pg.split_signature(text)


# --- why missing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "error", "note"),
    [
        (
            ("table", "public", "role_id_seq", "S", None, False, True),
            "is a sequence, not a table: list it under type: sequence",
            None,
        ),
        (
            ("sequence", "public", "job", "r", None, False, True),
            "is a table, not a sequence: list it under type: table",
            None,
        ),
        (("sequence", "public", "v", "v", None, False, True), "is a view, not a sequence", None),
        (
            ("table", "public", "job_pkey", "i", None, False, True),
            "is a index: privileges cannot be granted on it",
            None,
        ),
        (
            ("table", "public", "public.job", None, "r", False, True),
            "table public.public.job does not exist; object names do not include their schema: "
            "write objects: [job] with schema: public",
            None,
        ),
        (
            ("function", "public", "public.f(int)", None, None, True, True),
            "write objects: [f(int)] with schema: public",
            None,
        ),
        (
            ("table", "public", "public.later", None, None, False, True),
            None,
            "object names do not include their schema: write objects: [later] with schema: public",
        ),
        (("table", "reports", "t", None, None, False, False), None, "schema reports does not exist"),
        (("table", "public", "later", None, None, False, True), None, None),
    ],
)
def test_apply_diagnosis(row, error, note):
    catalog = pg.CatalogState()
    errors = plan.apply_diagnosis(catalog, [row])
    if error:
        assert len(errors) == 1
        assert error in errors[0]
    else:
        assert errors == []
    assert catalog.notes.get(row[:3]) == note


# --- difference ----------------------------------------------------------------------------------

ONE = [{"objects": ["job"], "privileges": ["SELECT", "INSERT"]}]


def pairs(changes):
    return [(c.action, c.priv) for c in changes]


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
    assert pairs(changes) == expected
    assert all(c.role == "tiaas" and c.key == table("job") and c.act_as == "" for c in changes)


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
    assert pairs(pg.compute_changes(grants, ["tiaas"], catalog, state)) == expected


def test_privileges_of_other_roles_and_public_are_left_alone():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": []}], "exact")
    catalog = catalog_for(grants, {table("job"): {"PUBLIC": {"SELECT": False}, "other": {"UPDATE": False}}})
    assert pg.compute_changes(grants, ["tiaas"], catalog, "exact") == []


def test_public_as_a_role():
    grants = pg.validate_grants([{"type": "schema", "objects": ["public"], "privileges": ["CREATE"]}], "absent")
    catalog = catalog_for(grants, {("schema", "", "public"): {"PUBLIC": {"USAGE": False, "CREATE": False}}})
    changes = pg.compute_changes(grants, ["PUBLIC"], catalog, "absent")
    assert changes == [pg.change("PUBLIC", "revoke", ("schema", "", "public"), "CREATE")]
    (stmt,) = plan.plan_statements(changes)
    assert plan.statement_text(stmt, catalog.idents) == 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC'


def test_missing_objects_are_out_of_scope():
    grants = pg.validate_grants(ONE, "present")
    catalog = catalog_for(grants, missing=[table("job")])
    assert pg.compute_changes(grants, ["tiaas"], catalog, "present") == []


# --- column privileges (issue 8, row 1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "privileges", "expected"),
    [
        ("exact", ["SELECT"], [("email", "SELECT"), ("email", "UPDATE"), ("id", "SELECT")]),
        ("absent", ["UPDATE"], [("email", "UPDATE")]),
        ("present", ["SELECT"], []),
    ],
)
def test_column_privileges(state, privileges, expected):
    grants = pg.validate_grants([{"objects": ["galaxy_user"], "privileges": privileges}], state)
    columns = {table("galaxy_user"): {"r": {"email": {"SELECT": False, "UPDATE": True}, "id": {"SELECT": False}}}}
    acl = {table("galaxy_user"): {"r": {"SELECT": False}}}
    catalog = catalog_for(grants, acl, columns=columns)
    changes = [c for c in pg.compute_changes(grants, ["r"], catalog, state) if c.column]
    assert sorted((c.column, c.priv) for c in changes) == expected
    assert all(c.action == "revoke" for c in changes)


def test_column_revokes_share_one_statement_per_table():
    grants = pg.validate_grants([{"objects": ["galaxy_user", "job"], "privileges": []}], "exact")
    columns = {
        table("galaxy_user"): {"r": {"email": {"SELECT": False, "UPDATE": False}, "id": {"SELECT": False}}},
        table("job"): {"r": {"state": {"UPDATE": False}}},
    }
    catalog = catalog_for(grants, columns=columns)
    statements = plan.plan_statements(pg.compute_changes(grants, ["r"], catalog, "exact"))
    assert [plan.statement_text(s, catalog.idents) for s in statements] == [
        'REVOKE SELECT ("email", "id"), UPDATE ("email") ON TABLE "public"."galaxy_user" FROM "r"',
        'REVOKE UPDATE ("state") ON TABLE "public"."job" FROM "r"',
    ]


def test_absent_with_grant_option_revokes_only_column_grant_options():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["UPDATE"], "grant_option": True}], "absent")
    columns = {table("job"): {"r": {"state": {"UPDATE": True}, "id": {"UPDATE": False}}}}
    changes = pg.compute_changes(grants, ["r"], catalog_for(grants, columns=columns), "absent")
    assert [(c.action, c.column) for c in changes] == [("revoke_grant_option", "state")]


# --- grantors (issue 8, row 5) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("me", "superuser", "grantor", "acting"),
    [
        ("postgres", True, "galaxy", ""),  # a superuser revokes as the owner
        ("postgres", True, "postgres", ""),
        ("postgres", True, "other", "other"),
        ("galaxy", False, "galaxy", ""),
        ("admin", False, "galaxy", "galaxy"),  # not superuser: the owner's grant needs the owner
        ("admin", False, "admin", ""),
    ],
)
def test_acting_role(me, superuser, grantor, acting):
    grants = pg.validate_grants(ONE, "exact")
    catalog = catalog_for(grants, me=me, superuser=superuser)
    assert pg.acting_role(catalog, table("job"), grantor) == acting


def test_a_privilege_from_two_grantors_is_revoked_as_each():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["SELECT"]}], "exact")
    acl = {table("job"): {"r": {"SELECT": {"galaxy": False}, "UPDATE": {"galaxy": False, "g": True}}}}
    catalog = catalog_for(grants, acl)
    changes = pg.compute_changes(grants, ["r"], catalog, "exact")
    assert [(c.action, c.priv, c.act_as) for c in changes] == [("revoke", "UPDATE", ""), ("revoke", "UPDATE", "g")]
    steps = plan.program(plan.plan_statements(changes), "postgres")
    assert [s[0] if s[0] == "statement" else s for s in steps] == [
        "statement",
        ("set_role", "g"),
        "statement",
        ("set_role", "postgres"),
    ]


def test_infeasible_names_privilege_grantor_and_reason():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["SELECT", "INSERT"]}], "exact")
    acl = {table("job"): {"r": {"UPDATE": {"g": False}}}}
    catalog = catalog_for(grants, acl, me="admin", superuser=False)
    catalog.session_user = "admin"
    catalog.grantable = {table("job"): {"SELECT"}}
    catalog.can_act_as = {"g": False}
    problems = plan.infeasible(pg.compute_changes(grants, ["r"], catalog, "exact"), catalog)
    assert problems == [
        "cannot revoke UPDATE on table public.job from r: it was granted by 'g', and only 'g' can revoke it, but "
        "the session user 'admin' may not SET ROLE 'g' (make it a member of 'g', log in as a superuser, or revoke "
        "it as 'g')",
        "cannot grant INSERT on table public.job to r: the executing role 'admin' is not a superuser, does not own "
        "it ('galaxy' does) and does not hold INSERT on it WITH GRANT OPTION, so PostgreSQL would grant nothing",
    ]
    catalog.grantable = {table("job"): {"SELECT", "INSERT"}}
    catalog.can_act_as = {"g": True}
    assert plan.infeasible(pg.compute_changes(grants, ["r"], catalog, "exact"), catalog) == []


def test_detail_needed_lists_granted_privileges():
    grants = pg.validate_grants(TIAAS, "exact")
    changes = pg.compute_changes(grants, ["r"], catalog_for(grants), "exact")
    assert plan.detail_needed(changes) == [
        ("sequence", "SELECT"),
        ("sequence", "USAGE"),
        ("table", "DELETE"),
        ("table", "INSERT"),
        ("table", "SELECT"),
    ]
    assert plan.detail_needed([]) == [("table", "SELECT")]


# --- verification (issue 8, row 2): what is left after applying --------------------------------------------


def test_applied_changes_leave_nothing_to_do_and_a_lost_grant_is_named():
    grants = pg.validate_grants(TIAAS, "exact")
    acl = {table("galaxy_user"): {"r": {"UPDATE": {"galaxy": False, "g": False}}}}
    before = catalog_for(grants, acl, columns={table("job"): {"r": {"state": {"UPDATE": False}}}})
    changes = pg.compute_changes(grants, ["r"], before, "exact")
    after = plan.apply_changes(before, changes)
    assert pg.compute_changes(grants, ["r"], after, "exact") == []
    # PostgreSQL granted nothing on job (it only warned): the re-read shows it and the message names it.
    del after.acl[table("job")]["r"]["SELECT"]
    (left,) = pg.compute_changes(grants, ["r"], after, "exact")
    assert plan.describe_change(left) == "grant SELECT on table public.job to r"


# --- statements -----------------------------------------------------------------------------------


def tiaas_plan(acl=None, state="exact", roles=("tiaas",)):
    grants = pg.validate_grants(TIAAS, state)
    catalog = catalog_for(grants, acl)
    changes = pg.compute_changes(grants, list(roles), catalog, state)
    return grants, catalog, changes, plan.plan_statements(changes)


def test_tiaas_statements_are_grouped_and_ordered():
    _g, catalog, changes, statements = tiaas_plan()
    assert len(changes) == 6 + 4 * 2 + 1 + 4 * 2
    assert [plan.statement_text(s, catalog.idents) for s in statements] == [
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
    assert plan.plan_statements(list(reversed(changes))) == statements


def test_revokes_come_before_grants_and_roles_share_statements():
    acl = {table("galaxy_user"): {"tiaas": {"UPDATE": True}, "b": {"UPDATE": False}}}
    _g, catalog, _c, statements = tiaas_plan(acl, roles=("tiaas", "b"))
    texts = [plan.statement_text(s, catalog.idents) for s in statements]
    assert texts[0] == 'REVOKE UPDATE ON TABLE "public"."galaxy_user" FROM "b", "tiaas"'
    assert texts[1].startswith('GRANT SELECT ON TABLE "public"."galaxy_session"')
    assert texts[1].endswith('TO "b", "tiaas"')
    assert len(texts) == 5


def test_roles_with_different_plans_get_their_own_statements():
    acl = {table("galaxy_user"): {"b": {"SELECT": False}}}
    _g, catalog, _c, statements = tiaas_plan(acl, roles=("tiaas", "b"), state="present")
    texts = [plan.statement_text(s, catalog.idents) for s in statements]
    assert texts[0] == (
        'GRANT SELECT ON TABLE "public"."galaxy_session", "public"."history", "public"."job", "public"."workflow", '
        '"public"."workflow_invocation" TO "b"'
    )
    assert any('"public"."galaxy_user"' in t and t.endswith('"public"."workflow_invocation" TO "tiaas"') for t in texts)
    assert any(t.endswith('"public"."user_group_association" TO "b", "tiaas"') for t in texts)


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
    stmt = plan.plan_statements([pg.change("R", action, key, "SELECT")])[0]
    assert plan.statement_text(stmt, {key: ('we"ird', None)}) == text


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
    ("key", "ident", "role", "column"),
    [
        (("table", "public", "job"), ("job", None), "tiaas", ""),
        (("table", "public", "job"), ("job", None), "tiaas", 'we"ird col'),
        (("sequence", "public", "role_id_seq"), ("role_id_seq", None), 'odd"role', ""),
        (("schema", "", "public"), ("public", None), "PUBLIC", ""),
        (("database", "", "galaxy"), ("galaxy", None), "tiaas", ""),
        (("function", "public", "f(integer, text)"), ("f", "integer, text"), "tiaas", ""),
    ],
)
@pytest.mark.parametrize("action", pg.ACTION_ORDER)
def test_compose_matches_statement_text(key, ident, role, column, action):
    priv = pg.PRIVILEGES[key[0]][0]
    stmt = plan.plan_statements([pg.change(role, action, key, priv, column)])[0]
    idents = {key: ident}
    composed = plan.compose(sql, stmt, idents)
    assert isinstance(composed, sql.Composed)
    assert render(composed) == plan.statement_text(stmt, idents)


def test_compose_uses_single_part_identifiers():
    """psycopg2 2.7 (Debian 10) knows only one string per sql.Identifier."""
    key = ("table", "public", "job")
    stmt = plan.plan_statements([pg.change("r", "grant", key, "SELECT")])[0]

    def identifiers(node):
        if isinstance(node, sql.Composed):
            for part in node.seq:
                yield from identifiers(part)
        elif isinstance(node, sql.Identifier):
            yield node

    assert all(len(i.strings) == 1 for i in identifiers(plan.compose(sql, stmt, {key: ("job", None)})))


# --- diff -----------------------------------------------------------------------------------------


def test_build_diff():
    acl = {table("galaxy_user"): {"tiaas": {"SELECT": False, "UPDATE": False}}}
    grants, catalog, changes, _s = tiaas_plan(acl)
    diff = plan.build_diff(grants, ["tiaas"], catalog, plan.apply_changes(catalog, changes))
    assert diff["before"]["tiaas"]["table public.galaxy_user"] == ["SELECT", "UPDATE"]
    assert diff["after"]["tiaas"]["table public.galaxy_user"] == ["SELECT"]
    assert diff["before"]["tiaas"]["sequence public.role_id_seq"] == []
    assert diff["after"]["tiaas"]["sequence public.role_id_seq"] == ["USAGE", "SELECT"]
    assert len(diff["after"]["tiaas"]) == 14


def test_build_diff_shows_grant_option_and_columns():
    grants = pg.validate_grants([{"objects": ["job"], "privileges": ["SELECT"], "grant_option": True}], "exact")
    catalog = catalog_for(grants, columns={table("job"): {"r": {"state": {"UPDATE": True}}}})
    changes = pg.compute_changes(grants, ["r"], catalog, "exact")
    diff = plan.build_diff(grants, ["r"], catalog, plan.apply_changes(catalog, changes))
    assert diff == {
        "before": {"r": {"table public.job": ["UPDATE (state) WITH GRANT OPTION"]}},
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
