# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private module_utils of the galaxyops.infrastructure collection.
# Its interface may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

"""Declarative PostgreSQL privileges, the part a run needs only when something changes or is missing:
why objects are missing, what the executing role can do, statements, their order, and the diff.

Kept apart from ``_pggrants`` (what every run needs) because a module's code is compiled afresh on every run
(AnsiballZ ships sources): a run with nothing to do imports only ``_pggrants``.

Runs on every Python that ansible-core 2.17 supports on targets (3.7 and later).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.galaxyops.infrastructure.plugins.module_utils._pggrants import (
    ACTION_ORDER,
    GRANT,
    GRANT_WITH_OPTION,
    KINDS,
    PRIVILEGES,
    REVOKE,
    REVOKE_GRANT_OPTION,
    SCHEMA_QUALIFIED,
    SQL_KEYWORD,
    CatalogState,
    Change,
    Grant,
    acting_role,
    describe_target,
    desired_privileges,
    held,
    held_columns,
    split_signature,
)

# pg_class.relkind -> what it is, for "X is a sequence, not a table".
RELKINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
    "i": "index",
    "I": "partitioned index",
    "c": "composite type",
    "t": "TOAST table",
}
TABLE_RELKINDS = ("r", "p", "v", "m", "f")


@dataclass(frozen=True, order=True)
class Statement:
    """One GRANT or REVOKE for one kind, over several objects and several roles.

    ``privileges`` lists object privileges; for column privileges it is empty and ``columns`` holds
    ``(privilege, (column, ...))`` pairs. ``act_as`` is the role the statement must run as ("" = the executing role).
    """

    action_rank: int
    act_as: str
    kind_rank: int
    roles: tuple[str, ...]
    columns: tuple = ()
    privileges: tuple[str, ...] = ()
    objects: tuple[tuple[str, str, str], ...] = ()

    @property
    def action(self) -> str:
        return ACTION_ORDER[self.action_rank]

    @property
    def kind(self) -> str:
        return KINDS[self.kind_rank]


# ---------------------------------------------------------------------------------------------
# Why is it missing? Run only when something is missing: a name of the wrong type, or with its
# schema written into it, is a mistake to report, not an object to wait for.
# ---------------------------------------------------------------------------------------------

DIAGNOSIS_QUERY = """
SELECT t.kind, t.nsp, t.wanted,
       (SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = t.nsp AND c.relname = t.wanted LIMIT 1),
       (SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = t.split_nsp AND c.relname = t.split_name LIMIT 1),
       EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = t.split_nsp AND p.proname = t.split_name),
       EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = t.nsp)
  FROM unnest(%(kinds)s::text[], %(schemas)s::text[], %(names)s::text[], %(split_schemas)s::text[],
              %(split_names)s::text[]) AS t(kind, nsp, wanted, split_nsp, split_name)
""".strip()


def _split_dotted(kind: str, name: str | None) -> tuple[str | None, str | None]:
    """``"public.job"`` -> ``("public", "job")``; for functions the name part before the arguments."""
    if name is None:
        return None, None
    base = split_signature(name)[0] if kind == "function" else name
    if "." not in base:
        return None, None
    schema, _dot, rest = base.partition(".")
    return schema, rest


def diagnose_missing(db, catalog: CatalogState) -> list[str]:
    """Add notes to missing targets; return errors for mistakes that no waiting will fix."""
    targets = [t for t in catalog.missing if t[2] is not None and t[0] in SCHEMA_QUALIFIED]
    if not targets:
        return []
    splits = [_split_dotted(t[0], t[2]) for t in targets]
    params = {
        "kinds": [t[0] for t in targets],
        "schemas": [t[1] for t in targets],
        "names": [t[2] for t in targets],
        "split_schemas": [s[0] for s in splits],
        "split_names": [s[1] for s in splits],
    }
    return apply_diagnosis(catalog, db.execute(DIAGNOSIS_QUERY, params))


def apply_diagnosis(catalog: CatalogState, rows) -> list[str]:
    """Pure part of :func:`diagnose_missing`."""
    errors = []
    for kind, nsp, wanted, relkind, split_relkind, split_function, nsp_exists in rows:
        target = (kind, nsp, wanted)
        label = describe_target(target)
        schema, rest = _split_dotted(kind, wanted)
        hint = ""
        if schema is not None:
            args = wanted[wanted.index("(") :] if kind == "function" else ""
            hint = f"object names do not include their schema: write objects: [{rest}{args}] with schema: {schema}"
        if relkind is not None and kind != "function":
            actual = RELKINDS.get(relkind, "relation")
            if relkind in TABLE_RELKINDS and kind == "table":
                continue  # appeared since the read
            if relkind == "S":
                errors.append(f"{label} is a sequence, not a table: list it under type: sequence")
            elif relkind in TABLE_RELKINDS:
                errors.append(f"{label} is a {actual}, not a sequence: list it under type: table")
            else:
                errors.append(f"{label} is a {actual}: privileges cannot be granted on it")
            continue
        split_exists = split_function if kind == "function" else split_relkind is not None
        if hint and split_exists:
            errors.append(f"{label} does not exist; {hint}")
            continue
        notes = []
        if not nsp_exists:
            notes.append(f"schema {nsp} does not exist")
        if catalog.notes.get(target):
            notes.append(catalog.notes[target])
        if hint:
            notes.append(hint)
        if notes:
            catalog.notes[target] = "; ".join(notes)
    return errors


def describe_missing(catalog: CatalogState, target: tuple) -> str:
    note = catalog.notes.get(target)
    return describe_target(target) + (f" ({note})" if note else "")


# ---------------------------------------------------------------------------------------------
# Feasibility, statements
# ---------------------------------------------------------------------------------------------


def detail_needed(changes: list[Change]) -> list[tuple[str, str]]:
    """(kind, privilege) pairs whose grantability a detailed read must check for these changes."""
    pairs = {(c.key[0], c.priv) for c in changes if c.action in (GRANT, GRANT_WITH_OPTION)}
    # The read is detailed even with nothing to grant, so grantors are checked too.
    return sorted(pairs) or [("table", "SELECT")]


def infeasible(changes: list[Change], catalog: CatalogState) -> list[str]:
    """What the executing role cannot do, from a detailed read: each message names the privilege and why."""
    problems = []
    me = catalog.current_user
    for c in changes:
        where = f"{c.priv}{f' ({c.column})' if c.column else ''} on {describe_target(c.key)}"
        if c.action in (GRANT, GRANT_WITH_OPTION):
            if c.priv not in catalog.grantable.get(c.key, set()):
                problems.append(
                    f"cannot grant {where} to {c.role}: the executing role {me!r} is not a superuser, does not own "
                    f"it ({catalog.owners.get(c.key)!r} does) and does not hold {c.priv} on it WITH GRANT OPTION, "
                    "so PostgreSQL would grant nothing"
                )
        elif c.act_as and not catalog.can_act_as.get(c.act_as, False):
            what = "the grant option for " if c.action == REVOKE_GRANT_OPTION else ""
            problems.append(
                f"cannot revoke {what}{where} from {c.role}: it was granted by {c.act_as!r}, and only {c.act_as!r} "
                f"can revoke it, but the session user {catalog.session_user!r} may not SET ROLE {c.act_as!r} "
                f"(make it a member of {c.act_as!r}, log in as a superuser, or revoke it as {c.act_as!r})"
            )
    return sorted(set(problems), key=problems.index)


def plan_statements(changes: list[Change]) -> list[Statement]:
    """Group changes into as few statements as possible, in a deterministic order (revokes first).

    Objects that get the same privileges for the same role, action and acting role share one statement;
    column privileges of one table go into one statement; roles that get the same statement share it.
    """
    per_object: dict[tuple, list] = {}
    for c in changes:
        per_object.setdefault((c.role, c.action, c.act_as, c.key, bool(c.column)), []).append((c.priv, c.column))
    grouped: dict[tuple, list] = {}
    for (role, action, act_as, key, is_column), items in per_object.items():
        order = PRIVILEGES[key[0]]
        if is_column:
            by_priv: dict[str, set] = {}
            for priv, column in items:
                by_priv.setdefault(priv, set()).add(column)
            columns = tuple((p, tuple(sorted(by_priv[p]))) for p in sorted(by_priv, key=order.index))
            privs_t: tuple = ()
        else:
            columns = ()
            privs_t = tuple(sorted({p for p, _c in items}, key=order.index))
        group = (role, ACTION_ORDER.index(action), act_as, KINDS.index(key[0]), columns, privs_t)
        grouped.setdefault(group, []).append(key)
    merged: dict[tuple, list] = {}
    for (role, a, act_as, k, cols, p), keys in grouped.items():
        merged.setdefault((a, act_as, k, cols, p, tuple(sorted(keys))), []).append(role)
    statements = [
        Statement(
            action_rank=a,
            act_as=act_as,
            kind_rank=k,
            roles=tuple(sorted(roles)),
            columns=cols,
            privileges=p,
            objects=keys,
        )
        for (a, act_as, k, cols, p, keys), roles in merged.items()
    ]
    return sorted(statements)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _verbs(action: str) -> tuple[str, str]:
    return {
        REVOKE_GRANT_OPTION: ("REVOKE GRANT OPTION FOR ", ""),
        REVOKE: ("REVOKE ", ""),
        GRANT: ("GRANT ", ""),
        GRANT_WITH_OPTION: ("GRANT ", " WITH GRANT OPTION"),
    }[action]


def statement_text(stmt: Statement, idents: dict) -> str:
    """The statement as text, quoted exactly as PostgreSQL (and the drivers' sql.Identifier) quote it."""
    objects = []
    for key in stmt.objects:
        kind, schema, _display = key
        name, args = idents[key]
        text = f"{_quote_ident(schema)}.{_quote_ident(name)}" if kind in SCHEMA_QUALIFIED else _quote_ident(name)
        if kind == "function":
            text += f"({args or ''})"
        objects.append(text)
    if stmt.columns:
        privs = ", ".join(f"{p} ({', '.join(_quote_ident(c) for c in cols)})" for p, cols in stmt.columns)
    else:
        privs = ", ".join(stmt.privileges)
    roles = ", ".join("PUBLIC" if r == "PUBLIC" else _quote_ident(r) for r in stmt.roles)
    head, tail = _verbs(stmt.action)
    return (
        f"{head}{privs} ON {SQL_KEYWORD[stmt.kind]} {', '.join(objects)} "
        f"{'FROM' if stmt.action.startswith('revoke') else 'TO'} {roles}{tail}"
    )


def compose(sql, stmt: Statement, idents: dict):
    """The statement as a ``sql.Composed`` of the driver's ``sql`` module: every name passes through sql.Identifier.

    Function argument lists come from the server (pg_get_function_identity_arguments), not from the user.
    Identifiers are single-part (psycopg2 2.7 knows no other).
    """
    objects = []
    for key in stmt.objects:
        kind, schema, _display = key
        name, args = idents[key]
        if kind in SCHEMA_QUALIFIED:
            ident = sql.Composed([sql.Identifier(schema), sql.SQL("."), sql.Identifier(name)])
        else:
            ident = sql.Identifier(name)
        if kind == "function":
            ident = sql.Composed([ident, sql.SQL("(" + (args or "") + ")")])
        objects.append(ident)
    if stmt.columns:
        privs = sql.SQL(", ").join(
            sql.Composed([sql.SQL(priv + " ("), sql.SQL(", ").join([sql.Identifier(c) for c in cols]), sql.SQL(")")])
            for priv, cols in stmt.columns
        )
    else:
        privs = sql.SQL(", ".join(stmt.privileges))
    roles = sql.SQL(", ").join([sql.SQL("PUBLIC") if r == "PUBLIC" else sql.Identifier(r) for r in stmt.roles])
    head, tail = _verbs(stmt.action)
    direction = "FROM" if stmt.action.startswith("revoke") else "TO"
    return sql.SQL("{head}{privs} ON {kind} {objects} {direction} {role}{tail}").format(
        head=sql.SQL(head),
        privs=privs,
        kind=sql.SQL(SQL_KEYWORD[stmt.kind]),
        objects=sql.SQL(", ").join(objects),
        direction=sql.SQL(direction),
        role=roles,
        tail=sql.SQL(tail),
    )


def program(statements: list[Statement], current_user: str) -> list[tuple[str, object]]:
    """The statements in execution order, with ``SET ROLE`` around those that must run as another grantor.

    Items are ``("set_role", role)`` or ``("statement", Statement)``.
    """
    steps: list[tuple[str, object]] = []
    acting = ""
    for stmt in statements:
        if stmt.act_as != acting:
            steps.append(("set_role", stmt.act_as or current_user))
            acting = stmt.act_as
        steps.append(("statement", stmt))
    if acting:
        steps.append(("set_role", current_user))
    return steps


# ---------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------


def render_privileges(catalog: CatalogState, key: tuple, role: str) -> list[str]:
    order = PRIVILEGES[key[0]]
    privs = held(catalog, key, role)
    result = [p + (" WITH GRANT OPTION" if privs[p] else "") for p in sorted(privs, key=order.index)]
    columns = held_columns(catalog, key, role)
    for column, priv in sorted(columns, key=lambda cp: (order.index(cp[1]), cp[0])):
        result.append(f"{priv} ({column})" + (" WITH GRANT OPTION" if columns[(column, priv)] else ""))
    return result


def apply_changes(catalog: CatalogState, changes: list[Change]) -> CatalogState:
    """The catalog the changes lead to (check mode's diff ``after``); new grants are the executing role's."""
    acl = {k: {g: {p: dict(gs) for p, gs in privs.items()} for g, privs in v.items()} for k, v in catalog.acl.items()}
    cols = {
        k: {g: {c: {p: dict(gs) for p, gs in privs.items()} for c, privs in cs.items()} for g, cs in v.items()}
        for k, v in catalog.columns.items()
    }
    me = catalog.current_user
    for c in changes:
        if c.column:
            privs = cols.setdefault(c.key, {}).setdefault(c.role, {}).setdefault(c.column, {})
        else:
            privs = acl.setdefault(c.key, {}).setdefault(c.role, {})
        grantors = privs.setdefault(c.priv, {})
        if c.action == GRANT:
            grantors.setdefault(me, False)
        elif c.action == GRANT_WITH_OPTION:
            grantors[me] = True
        else:
            for grantor in list(grantors):
                if acting_role(catalog, c.key, grantor) == c.act_as:
                    if c.action == REVOKE:
                        del grantors[grantor]
                    else:
                        grantors[grantor] = False
        if not grantors:
            del privs[c.priv]
    after = CatalogState(
        roles=catalog.roles,
        resolved=catalog.resolved,
        missing=catalog.missing,
        acl=acl,
        columns=cols,
        idents=catalog.idents,
        owners=catalog.owners,
        current_user=catalog.current_user,
        session_user=catalog.session_user,
        superuser=catalog.superuser,
    )
    return after


def build_diff(grants: list[Grant], roles: list[str], before: CatalogState, after: CatalogState) -> dict:
    """``before``/``after``: role -> object -> privileges (columns as ``UPDATE (email)``), for every object in scope."""
    result: dict[str, dict] = {"before": {}, "after": {}}
    for role, key in sorted(desired_privileges(grants, roles, before)):
        label = describe_target(key)
        result["before"].setdefault(role, {})[label] = render_privileges(before, key, role)
        result["after"].setdefault(role, {})[label] = render_privileges(after, key, role)
    return result


def describe_change(c: Change) -> str:
    verb = {
        GRANT: "grant",
        GRANT_WITH_OPTION: "grant (with grant option)",
        REVOKE: "revoke",
        REVOKE_GRANT_OPTION: "revoke the grant option for",
    }[c.action]
    where = f"{c.priv}{f' ({c.column})' if c.column else ''} on {describe_target(c.key)}"
    by = f" (granted by {c.act_as})" if c.act_as else ""
    return f"{verb} {where} {'from' if c.action.startswith('revoke') else 'to'} {c.role}{by}"
