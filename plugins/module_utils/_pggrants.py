# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private module_utils of the galaxyops.infrastructure collection.
# Its interface may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

"""Declarative PostgreSQL privileges: validation, catalog reading, difference and statements.

Everything but :func:`read_catalog` and :func:`compose` is pure Python so it can be unit tested
without a server.  Vocabulary:

* a *target* is what the user named: ``(kind, schema, name)``; ``name`` is ``None`` for "all
  objects of that kind in the schema";
* an *object key* is a resolved catalog object: ``(kind, schema, name)`` with ``schema`` ``""``
  for schemas and databases and ``name`` ``"proname(identity arguments)"`` for functions;
* an *ACL* maps grantee -> privilege -> grantable (bool); ``PUBLIC`` is the grantee ``"PUBLIC"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

try:
    from psycopg2 import sql
except ImportError:  # the module reports the missing library before calling compose()
    sql = None

KINDS = ("table", "sequence", "schema", "database", "function")

# Privileges each object kind accepts, in the order statements list them.
PRIVILEGES: dict[str, tuple[str, ...]] = {
    "table": ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"),
    "sequence": ("USAGE", "SELECT", "UPDATE"),
    "schema": ("USAGE", "CREATE"),
    "database": ("CONNECT", "CREATE", "TEMPORARY"),
    "function": ("EXECUTE",),
}
# MAINTAIN exists from PostgreSQL 17 on; ALL never expands to it.
NEEDS_VERSION = {"MAINTAIN": 170000}
ALIASES = {"TEMP": "TEMPORARY"}
SCHEMA_QUALIFIED = ("table", "sequence", "function")
DEFAULT_SCHEMA = "public"
SQL_KEYWORD = {kind: kind.upper() for kind in KINDS}
FUNCTION_RE = re.compile(r"^[^()]+\([^()]*\)$")

# Statement actions in execution order: take away first, then give.
REVOKE_GRANT_OPTION = "revoke_grant_option"
REVOKE = "revoke"
GRANT = "grant"
GRANT_WITH_OPTION = "grant_with_option"
ACTION_ORDER = (REVOKE_GRANT_OPTION, REVOKE, GRANT, GRANT_WITH_OPTION)


class GrantsError(Exception):
    """Invalid input; ``errors`` lists every problem, each naming the offending item."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Grant:
    """One validated entry of the ``grants`` option."""

    index: int
    kind: str
    schema: str  # "" for schemas and databases
    objects: tuple[str, ...] | None  # None = all objects of the kind in the schema
    privileges: tuple[str, ...]
    grant_option: bool

    def targets(self) -> list[tuple[str, str, str | None]]:
        if self.objects is None:
            return [(self.kind, self.schema, None)]
        return [(self.kind, self.schema, name) for name in self.objects]


@dataclass
class CatalogState:
    """What the single catalog read returned."""

    roles: dict[str, bool] = field(default_factory=dict)  # role name -> exists
    # target -> resolved object keys ([] when the target is missing)
    resolved: dict[tuple, list[tuple[str, str, str]]] = field(default_factory=dict)
    missing: list[tuple] = field(default_factory=list)  # targets that do not exist
    acl: dict[tuple[str, str, str], dict[str, dict[str, bool]]] = field(default_factory=dict)
    # object key -> (bare name, identity arguments or None) used to build statements
    idents: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True, order=True)
class Statement:
    """One GRANT or REVOKE for one role, one kind and one privilege list, over several objects."""

    role: str
    action_rank: int
    kind_rank: int
    privileges: tuple[str, ...]
    objects: tuple[tuple[str, str, str], ...]

    @property
    def action(self) -> str:
        return ACTION_ORDER[self.action_rank]

    @property
    def kind(self) -> str:
        return KINDS[self.kind_rank]


# ---------------------------------------------------------------------------------------------
# Validation (no database needed)
# ---------------------------------------------------------------------------------------------


def describe_target(target: tuple) -> str:
    """Human-readable name of a target or object key, e.g. ``table public.job``."""
    kind, schema, name = target
    if name is None:
        return f"all {kind}s in schema {schema}"
    if kind in SCHEMA_QUALIFIED:
        return f"{kind} {schema}.{name}"
    return f"{kind} {name}"


def normalize_privilege(priv: str) -> str:
    value = str(priv).strip().upper().replace(" ", "_")
    return ALIASES.get(value, value)


def validate_roles(roles) -> list[str]:
    """Return the role names, de-duplicated in given order; ``public`` in any case becomes ``PUBLIC``."""
    if not roles:
        raise GrantsError(["roles: give at least one role"])
    errors = []
    result: list[str] = []
    for i, role in enumerate(roles):
        if not isinstance(role, str) or not role.strip():
            errors.append(f"roles[{i}]: role name must be a non-empty string, got {role!r}")
            continue
        name = "PUBLIC" if role.upper() == "PUBLIC" else role
        if name not in result:
            result.append(name)
    if errors:
        raise GrantsError(errors)
    return result


def validate_grants(grants, state: str, server_version: int | None = None) -> list[Grant]:
    """Check every entry of ``grants`` and return them normalized; raise GrantsError listing all problems."""
    if not grants:
        raise GrantsError(["grants: give at least one grant"])
    errors: list[str] = []
    result: list[Grant] = []
    for i, entry in enumerate(grants):
        where = f"grants[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: each grant must be a dictionary, got {entry!r}")
            continue
        kind = entry.get("type") or "table"
        if kind not in KINDS:
            errors.append(f"{where}: type {kind!r} is not one of {', '.join(KINDS)}")
            continue
        objects = entry.get("objects")
        all_in_schema = bool(entry.get("all_in_schema"))
        schema = entry.get("schema")
        where = f"{where} (type {kind}"
        if objects:
            where += f", objects {', '.join(str(o) for o in objects)}"
        elif all_in_schema:
            where += f", all in schema {schema or DEFAULT_SCHEMA}"
        where += ")"
        entry_errors = []
        if kind in SCHEMA_QUALIFIED:
            schema = schema if schema is not None else DEFAULT_SCHEMA
            if not isinstance(schema, str) or not schema:
                entry_errors.append(f"{where}: schema must be a non-empty string")
        else:
            if schema is not None:
                entry_errors.append(f"{where}: schema applies only to tables, sequences and functions, not to a {kind}")
            if all_in_schema:
                entry_errors.append(f"{where}: all_in_schema applies only to tables, sequences and functions")
            schema = ""
        names: tuple[str, ...] | None
        if all_in_schema and objects:
            entry_errors.append(f"{where}: give either objects or all_in_schema: true, not both")
            names = None
        elif all_in_schema:
            names = None
        elif not objects:
            entry_errors.append(f"{where}: objects is empty; list the objects or set all_in_schema: true")
            names = ()
        else:
            seen: list[str] = []
            for obj in objects:
                if not isinstance(obj, str) or not obj.strip():
                    entry_errors.append(f"{where}: object names must be non-empty strings, got {obj!r}")
                elif kind == "function" and not FUNCTION_RE.match(obj):
                    entry_errors.append(
                        f"{where}: function {obj!r} must be written with its argument types, "
                        "e.g. name(integer, text) or name()"
                    )
                elif obj not in seen:
                    seen.append(obj)
            names = tuple(seen)
        privileges: list[str] = []
        for priv in entry.get("privileges") or []:
            value = normalize_privilege(priv)
            if value == "ALL":
                expanded = [p for p in PRIVILEGES[kind] if p not in NEEDS_VERSION]
            elif value in PRIVILEGES[kind]:
                needed = NEEDS_VERSION.get(value)
                if needed and server_version is not None and server_version < needed:
                    entry_errors.append(f"{where}: privilege {value} needs PostgreSQL {needed // 10000} or later")
                expanded = [value]
            else:
                entry_errors.append(
                    f"{where}: privilege {str(priv).upper()} is not valid for a {kind}; "
                    f"valid: {', '.join(PRIVILEGES[kind])}, ALL"
                )
                expanded = []
            privileges.extend(p for p in expanded if p not in privileges)
        if not privileges and state != "exact" and not any("privilege" in e for e in entry_errors):
            entry_errors.append(f"{where}: privileges is empty (an empty list is only meaningful with state exact)")
        if entry_errors:
            errors.extend(entry_errors)
            continue
        order = PRIVILEGES[kind]
        result.append(
            Grant(
                index=i,
                kind=kind,
                schema=schema,
                objects=names,
                privileges=tuple(sorted(privileges, key=order.index)),
                grant_option=bool(entry.get("grant_option")),
            )
        )
    if errors:
        raise GrantsError(errors)
    return result


def targets_of(grants: list[Grant]) -> list[tuple]:
    """Every distinct target, in a deterministic order."""
    seen = []
    for grant in grants:
        for target in grant.targets():
            if target not in seen:
                seen.append(target)
    return sorted(seen, key=lambda t: (KINDS.index(t[0]), t[1], t[2] is not None, t[2] or ""))


# ---------------------------------------------------------------------------------------------
# The catalog read: one query for roles, objects and their effective ACLs
# ---------------------------------------------------------------------------------------------

CATALOG_QUERY = """
WITH target AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(schemas)s::text[], %(names)s::text[]) AS t(kind, nsp, wanted)
), obj AS (
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, c.oid IS NOT NULL AS found,
           c.relname::text AS name, NULL::text AS args, coalesce(c.relacl, acldefault('r', c.relowner)) AS acl
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                          AND (t.wanted IS NULL OR c.relname = t.wanted)
     WHERE t.kind = 'table'
    UNION ALL
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL, c.oid IS NOT NULL,
           c.relname::text, NULL, coalesce(c.relacl, acldefault('s', c.relowner))
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'S'
                          AND (t.wanted IS NULL OR c.relname = t.wanted)
     WHERE t.kind = 'sequence'
    UNION ALL
    SELECT t.kind, t.nsp, t.wanted, true, n.oid IS NOT NULL,
           n.nspname::text, NULL, coalesce(n.nspacl, acldefault('n', n.nspowner))
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.wanted
     WHERE t.kind = 'schema'
    UNION ALL
    SELECT t.kind, t.nsp, t.wanted, true, d.oid IS NOT NULL,
           d.datname::text, NULL, coalesce(d.datacl, acldefault('d', d.datdba))
      FROM target t
      LEFT JOIN pg_database d ON d.datname = t.wanted
     WHERE t.kind = 'database'
    UNION ALL
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL, p.oid IS NOT NULL,
           p.proname::text, pg_get_function_identity_arguments(p.oid), coalesce(p.proacl, acldefault('f', p.proowner))
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_proc p ON n.oid IS NOT NULL AND p.pronamespace = n.oid AND (
               (t.wanted IS NULL AND p.prokind = 'f')
            OR (t.wanted IS NOT NULL AND p.oid = to_regprocedure(format('%%I.%%s', t.nsp, t.wanted))))
     WHERE t.kind = 'function'
)
SELECT o.kind, o.nsp, o.wanted, o.nsp_found, o.found, o.name, o.args,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname::text END, a.privilege_type, a.is_grantable
  FROM obj o
  LEFT JOIN LATERAL aclexplode(o.acl) a ON true
  LEFT JOIN pg_roles r ON r.oid = a.grantee
UNION ALL
SELECT 'role', NULL, q.name, true, q.name = 'PUBLIC' OR r.oid IS NOT NULL, q.name, NULL, NULL, NULL, NULL
  FROM unnest(%(roles)s::text[]) AS q(name)
  LEFT JOIN pg_roles r ON r.rolname = q.name
""".strip()


def catalog_params(targets: list[tuple], roles: list[str]) -> dict:
    return {
        "kinds": [t[0] for t in targets],
        "schemas": [t[1] for t in targets],
        "names": [t[2] for t in targets],
        "roles": list(roles),
    }


def parse_catalog_rows(rows, targets: list[tuple]) -> CatalogState:
    """Turn the catalog query's rows into a CatalogState (pure; unit tested with literal rows)."""
    state = CatalogState()
    for target in targets:
        state.resolved[target] = []
    present_targets = set()
    for kind, nsp, wanted, nsp_found, found, name, args, grantee, privilege, grantable in rows:
        if kind == "role":
            state.roles[wanted] = bool(found)
            continue
        target = (kind, nsp or "", wanted)
        if wanted is None and nsp_found:
            present_targets.add(target)  # the schema exists; it may hold no object of that kind
        if not found:
            continue
        present_targets.add(target)
        display = f"{name}({args})" if kind == "function" else name
        key = (kind, nsp or "", display)
        if key not in state.resolved.setdefault(target, []):
            state.resolved[target].append(key)
        state.idents[key] = (name, args)
        acl = state.acl.setdefault(key, {})
        if grantee is not None and privilege is not None:
            privs = acl.setdefault(grantee, {})
            privs[privilege] = privs.get(privilege, False) or bool(grantable)
    state.missing = [t for t in targets if t not in present_targets]
    for target in state.resolved:
        state.resolved[target].sort()
    return state


def read_catalog(cursor, targets: list[tuple], roles: list[str]) -> CatalogState:
    cursor.execute(CATALOG_QUERY, catalog_params(targets, roles))
    return parse_catalog_rows(cursor.fetchall(), targets)


# ---------------------------------------------------------------------------------------------
# Difference and statements
# ---------------------------------------------------------------------------------------------


def desired_privileges(grants: list[Grant], roles: list[str], catalog: CatalogState) -> dict:
    """(role, object key) -> {privilege: grant option} for every object in scope."""
    desired: dict[tuple[str, tuple], dict[str, bool]] = {}
    for grant in grants:
        for target in grant.targets():
            for key in catalog.resolved.get(target, []):
                for role in roles:
                    privs = desired.setdefault((role, key), {})
                    for priv in grant.privileges:
                        privs[priv] = privs.get(priv, False) or grant.grant_option
    return desired


def compute_changes(grants: list[Grant], roles: list[str], catalog: CatalogState, state: str) -> list[tuple]:
    """The changes as sorted ``(role, action, object key, privilege)`` tuples."""
    changes = set()
    for (role, key), wanted in desired_privileges(grants, roles, catalog).items():
        current = catalog.acl.get(key, {}).get(role, {})
        if state in ("present", "exact"):
            for priv, option in wanted.items():
                if priv not in current:
                    changes.add((role, GRANT_WITH_OPTION if option else GRANT, key, priv))
                elif option and not current[priv]:
                    changes.add((role, GRANT_WITH_OPTION, key, priv))
        if state == "exact":
            for priv, grantable in current.items():
                if priv not in wanted:
                    changes.add((role, REVOKE, key, priv))
                elif grantable and not wanted[priv]:
                    changes.add((role, REVOKE_GRANT_OPTION, key, priv))
        if state == "absent":
            for priv, option in wanted.items():
                if option:
                    if current.get(priv):
                        changes.add((role, REVOKE_GRANT_OPTION, key, priv))
                elif priv in current:
                    changes.add((role, REVOKE, key, priv))
    return sorted(changes, key=lambda c: (c[0], ACTION_ORDER.index(c[1]), c[2], PRIVILEGES[c[2][0]].index(c[3])))


def plan_statements(changes: list[tuple]) -> list[Statement]:
    """Group changes into as few statements as possible, in a deterministic order.

    Objects that get the same privilege list for the same role and action share one statement.
    """
    per_object: dict[tuple, list[str]] = {}
    for role, action, key, priv in changes:
        per_object.setdefault((role, action, key), []).append(priv)
    grouped: dict[tuple, list] = {}
    for (role, action, key), privs in per_object.items():
        order = PRIVILEGES[key[0]]
        privs_t = tuple(sorted(set(privs), key=order.index))
        group = (role, ACTION_ORDER.index(action), KINDS.index(key[0]), privs_t)
        grouped.setdefault(group, []).append(key)
    statements = [
        Statement(role=role, action_rank=a, kind_rank=k, privileges=p, objects=tuple(sorted(keys)))
        for (role, a, k, p), keys in grouped.items()
    ]
    return sorted(statements)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def statement_text(stmt: Statement, idents: dict) -> str:
    """The statement as text, quoted exactly as PostgreSQL (and psycopg2.sql.Identifier) quotes it."""
    objects = []
    for key in stmt.objects:
        kind, schema, _display = key
        name, args = idents[key]
        text = f"{_quote_ident(schema)}.{_quote_ident(name)}" if kind in SCHEMA_QUALIFIED else _quote_ident(name)
        if kind == "function":
            text += f"({args or ''})"
        objects.append(text)
    role = "PUBLIC" if stmt.role == "PUBLIC" else _quote_ident(stmt.role)
    head, tail = _verbs(stmt.action)
    return (
        f"{head}{', '.join(stmt.privileges)} ON {SQL_KEYWORD[stmt.kind]} {', '.join(objects)} "
        f"{'FROM' if stmt.action.startswith('revoke') else 'TO'} {role}{tail}"
    )


def _verbs(action: str) -> tuple[str, str]:
    return {
        REVOKE_GRANT_OPTION: ("REVOKE GRANT OPTION FOR ", ""),
        REVOKE: ("REVOKE ", ""),
        GRANT: ("GRANT ", ""),
        GRANT_WITH_OPTION: ("GRANT ", " WITH GRANT OPTION"),
    }[action]


def compose(stmt: Statement, idents: dict):
    """The statement as a psycopg2.sql.Composed: every name passes through sql.Identifier.

    Function argument lists come from the server (pg_get_function_identity_arguments), not from the user.
    """
    objects = []
    for key in stmt.objects:
        kind, schema, _display = key
        name, args = idents[key]
        ident = sql.Identifier(schema, name) if kind in SCHEMA_QUALIFIED else sql.Identifier(name)
        if kind == "function":
            ident = sql.Composed([ident, sql.SQL("(" + (args or "") + ")")])
        objects.append(ident)
    role = sql.SQL("PUBLIC") if stmt.role == "PUBLIC" else sql.Identifier(stmt.role)
    head, tail = _verbs(stmt.action)
    direction = "FROM" if stmt.action.startswith("revoke") else "TO"
    return sql.SQL("{head}{privs} ON {kind} {objects} {direction} {role}{tail}").format(
        head=sql.SQL(head),
        privs=sql.SQL(", ".join(stmt.privileges)),
        kind=sql.SQL(SQL_KEYWORD[stmt.kind]),
        objects=sql.SQL(", ").join(objects),
        direction=sql.SQL(direction),
        role=role,
        tail=sql.SQL(tail),
    )


# ---------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------


def _render(privs: dict[str, bool], kind: str) -> list[str]:
    order = PRIVILEGES[kind]
    return [p + (" WITH GRANT OPTION" if privs[p] else "") for p in sorted(privs, key=order.index)]


def apply_changes(acl: dict, changes: list[tuple]) -> dict:
    """The ACL the changes lead to (for the diff's ``after``)."""
    after = {key: {g: dict(p) for g, p in grantees.items()} for key, grantees in acl.items()}
    for role, action, key, priv in changes:
        privs = after.setdefault(key, {}).setdefault(role, {})
        if action == GRANT:
            privs.setdefault(priv, False)
        elif action == GRANT_WITH_OPTION:
            privs[priv] = True
        elif action == REVOKE:
            privs.pop(priv, None)
        elif action == REVOKE_GRANT_OPTION and priv in privs:
            privs[priv] = False
    return after


def build_diff(grants: list[Grant], roles: list[str], catalog: CatalogState, changes: list[tuple]) -> dict:
    """``before``/``after``: role -> object -> privileges, for every object in scope."""
    after_acl = apply_changes(catalog.acl, changes)
    before: dict[str, dict[str, list[str]]] = {}
    after: dict[str, dict[str, list[str]]] = {}
    for role, key in sorted(desired_privileges(grants, roles, catalog)):
        label = describe_target(key)
        before.setdefault(role, {})[label] = _render(catalog.acl.get(key, {}).get(role, {}), key[0])
        after.setdefault(role, {})[label] = _render(after_acl.get(key, {}).get(role, {}), key[0])
    return {"before": before, "after": after}
