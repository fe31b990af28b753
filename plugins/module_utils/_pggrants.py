# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private module_utils of the galaxyops.infrastructure collection.
# Its interface may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

"""Declarative PostgreSQL privileges: validation, catalog reading, difference and statements.

Everything but the functions that take a ``db`` is pure Python, so it can be unit tested without a
server, and nothing here imports a database driver: :func:`compose` receives the driver's ``sql``
module. Vocabulary:

* a *target* is what the user named: ``(kind, schema, name)``; ``name`` is ``None`` for "all
  objects of that kind in the schema";
* an *object key* is a resolved catalog object: ``(kind, schema, name)`` with ``schema`` ``""``
  for schemas and databases and ``name`` ``"proname(identity arguments)"`` for functions;
* an *ACL* maps grantee -> privilege -> grantor -> grantable (bool); ``PUBLIC`` is the grantee
  ``"PUBLIC"``. Column ACLs (``pg_attribute.attacl``) map grantee -> column -> privilege -> grantor -> grantable.
* a *change* is one privilege to grant or revoke for one role on one object (or column), and
  ``act_as`` names the grantor whose grant it revokes when that is not the executing role.

Runs on every Python that ansible-core 2.17 supports on targets (3.7 and later).
"""

from __future__ import annotations

import json
import re
from collections import namedtuple
from dataclasses import dataclass, field

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
FUNCTION_RE = re.compile(r"^\s*([^()]+?)\s*\(([^()]*)\)\s*$")
# Statement actions in execution order: take away first, then give.
REVOKE_GRANT_OPTION = "revoke_grant_option"
REVOKE = "revoke"
GRANT = "grant"
GRANT_WITH_OPTION = "grant_with_option"
ACTION_ORDER = (REVOKE_GRANT_OPTION, REVOKE, GRANT, GRANT_WITH_OPTION)

# Key of the transaction-scoped advisory lock that serialises concurrent runs in one database ("gxopsGRA").
LOCK_KEY = int.from_bytes(b"gxopsGRA", "big")
LOCK_QUERY = f"SELECT pg_advisory_xact_lock({LOCK_KEY})"


class GrantsError(Exception):
    """Invalid input, or a plan that cannot be carried out; ``errors`` lists every problem, each naming its item."""

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
    """What one catalog read returned."""

    roles: dict[str, bool] = field(default_factory=dict)  # role name -> exists
    # target -> resolved object keys ([] when the target is missing)
    resolved: dict[tuple, list[tuple[str, str, str]]] = field(default_factory=dict)
    missing: list[tuple] = field(default_factory=list)  # targets that do not exist
    notes: dict[tuple, str] = field(default_factory=dict)  # target -> why it is missing, when known
    # object key -> grantee -> privilege -> grantor -> grantable
    acl: dict[tuple, dict[str, dict[str, dict[str, bool]]]] = field(default_factory=dict)
    # table key -> grantee -> column -> privilege -> grantor -> grantable
    columns: dict[tuple, dict[str, dict[str, dict[str, dict[str, bool]]]]] = field(default_factory=dict)
    # object key -> (bare name, identity arguments or None) used to build statements
    idents: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)
    owners: dict[tuple, str] = field(default_factory=dict)
    current_user: str = ""
    session_user: str = ""
    superuser: bool = False  # current_user is a superuser
    # Only in a detailed read: privileges the executing role may grant, per object;
    # and for each grantor found, whether the session user may SET ROLE to it.
    detailed: bool = False
    grantable: dict[tuple, set] = field(default_factory=dict)
    can_act_as: dict[str, bool] = field(default_factory=dict)


# column is "" for a privilege on the object itself; act_as is "" for the executing role.
Change = namedtuple("Change", "role action key priv column act_as")


def change(role, action, key, priv, column="", act_as="") -> Change:
    return Change(role, action, key, priv, column, act_as)


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


def split_arguments(text: str) -> list[str]:
    """Argument types of a signature, split at top-level commas (commas inside double quotes stay)."""
    args, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            args.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip() or args:
        args.append(current.strip())
    return args


def split_signature(text: str) -> tuple[str, list[str]]:
    """``"f(integer, text)"`` -> ``("f", ["integer", "text"])``; ValueError when it is not a signature."""
    match = FUNCTION_RE.match(text)
    if not match:
        raise ValueError(text)
    args = split_arguments(match.group(2))
    if any(not arg for arg in args):
        raise ValueError(text)
    return match.group(1), args


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
            seen: dict[str, None] = {}  # ordered, and O(1) membership
            for obj in objects:
                if not isinstance(obj, str) or not obj.strip():
                    entry_errors.append(f"{where}: object names must be non-empty strings, got {obj!r}")
                    continue
                if kind == "function":
                    try:
                        split_signature(obj)
                    except ValueError:
                        entry_errors.append(
                            f"{where}: function {obj!r} must be written with its argument types, "
                            "e.g. name(integer, text) or name()"
                        )
                        continue
                seen[obj] = None
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
    seen = set()
    for grant in grants:
        seen.update(grant.targets())
    return sorted(seen, key=lambda t: (KINDS.index(t[0]), t[1], t[2] is not None, t[2] or ""))


# ---------------------------------------------------------------------------------------------
# The catalog read: one query for roles, objects, their effective ACLs (object and column level,
# with grantors) and who the executing role is. A *detailed* read (only when something is to
# change) adds what the executing role may grant and which grantors it may act as.
# ---------------------------------------------------------------------------------------------

_GRANTABLE = (
    "ARRAY(SELECT d.priv FROM detail d WHERE d.kind = t.kind AND {check}(o.oid, d.priv || ' WITH GRANT OPTION'))"
)

# The query is assembled from static parts (no user text): only the branches for the kinds in scope, and the
# grantability checks only in a detailed read, since planning the whole query costs more than running it.
_HEAD = """
WITH target AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(schemas)s::text[], %(names)s::text[], %(fnames)s::text[],
                         %(fargs)s::text[]) AS t(kind, nsp, wanted, fname, fargs)
), detail AS (
    SELECT * FROM unnest(%(detail_kinds)s::text[], %(detail_privs)s::text[]) AS d(kind, priv)
), who AS (
    SELECT q.name, CASE WHEN q.name = 'PUBLIC' THEN 0::oid ELSE r.oid END AS oid
      FROM unnest(%(roles)s::text[]) AS q(name)
      LEFT JOIN pg_roles r ON r.rolname = q.name
)"""

_FN = """, fn AS (
    SELECT t.*, n.oid AS nsp_oid, a.types, a.unresolved
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN LATERAL (
          SELECT array_agg(to_regtype(e.arg)::oid ORDER BY e.ord) AS types,
                 array_agg(e.arg ORDER BY e.ord) FILTER (WHERE to_regtype(e.arg) IS NULL) AS unresolved
            FROM json_array_elements_text(t.fargs::json) WITH ORDINALITY AS e(arg, ord)
      ) a ON true
     WHERE t.kind = 'function' AND t.wanted IS NOT NULL
)"""

# One branch per kind: kind, nsp, wanted, nsp_found, oid, name, args, note, owner, acl, mine.
_BRANCHES = {
    # Named relations are looked up by name (pg_class's index on relname, relnamespace); a whole schema by
    # namespace. One join with "name IS NULL OR relname = name" would scan pg_class once per name.
    "table": """
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, o.oid, o.relname::text AS name,
           NULL::text AS args, NULL::text AS note, o.relowner AS owner,
           coalesce(o.relacl, acldefault('r', o.relowner)) AS acl, {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class o ON o.relname = t.wanted AND o.relnamespace = n.oid AND o.relkind IN ('r', 'v', 'm', 'p', 'f')
     WHERE t.kind = 'table' AND t.wanted IS NOT NULL""",
    "all tables": """
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, o.oid, o.relname::text AS name,
           NULL::text AS args, NULL::text AS note, o.relowner AS owner,
           coalesce(o.relacl, acldefault('r', o.relowner)) AS acl, {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class o ON o.relnamespace = n.oid AND o.relkind IN ('r', 'v', 'm', 'p', 'f')
     WHERE t.kind = 'table' AND t.wanted IS NULL""",
    "sequence": """
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, o.oid, o.relname::text AS name,
           NULL::text AS args, NULL::text AS note, o.relowner AS owner,
           coalesce(o.relacl, acldefault('s', o.relowner)) AS acl, {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class o ON o.relname = t.wanted AND o.relnamespace = n.oid AND o.relkind = 'S'
     WHERE t.kind = 'sequence' AND t.wanted IS NOT NULL""",
    "all sequences": """
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, o.oid, o.relname::text AS name,
           NULL::text AS args, NULL::text AS note, o.relowner AS owner,
           coalesce(o.relacl, acldefault('s', o.relowner)) AS acl, {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_class o ON o.relnamespace = n.oid AND o.relkind = 'S'
     WHERE t.kind = 'sequence' AND t.wanted IS NULL""",
    "schema": """
    SELECT t.kind, t.nsp, t.wanted, true AS nsp_found, o.oid, o.nspname::text AS name, NULL::text AS args,
           NULL::text AS note, o.nspowner AS owner, coalesce(o.nspacl, acldefault('n', o.nspowner)) AS acl,
           {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace o ON o.nspname = t.wanted
     WHERE t.kind = 'schema'""",
    "database": """
    SELECT t.kind, t.nsp, t.wanted, true AS nsp_found, o.oid, o.datname::text AS name, NULL::text AS args,
           NULL::text AS note, o.datdba AS owner, coalesce(o.datacl, acldefault('d', o.datdba)) AS acl,
           {mine} AS mine
      FROM target t
      LEFT JOIN pg_database o ON o.datname = t.wanted
     WHERE t.kind = 'database'""",
    "function": """
    SELECT t.kind, t.nsp, t.wanted, n.oid IS NOT NULL AS nsp_found, o.oid, o.proname::text AS name,
           pg_get_function_identity_arguments(o.oid) AS args, NULL::text AS note, o.proowner AS owner,
           coalesce(o.proacl, acldefault('f', o.proowner)) AS acl, {mine} AS mine
      FROM target t
      LEFT JOIN pg_namespace n ON n.nspname = t.nsp
      LEFT JOIN pg_proc o ON n.oid IS NOT NULL AND o.pronamespace = n.oid AND o.prokind = 'f'
     WHERE t.kind = 'function' AND t.wanted IS NULL""",
    "named function": """
    SELECT t.kind, t.nsp, t.wanted, t.nsp_oid IS NOT NULL AS nsp_found, o.oid, o.proname::text AS name,
           pg_get_function_identity_arguments(o.oid) AS args,
           CASE WHEN t.unresolved IS NOT NULL
                THEN 'argument type ' || array_to_string(t.unresolved, ', ') || ' does not exist' END AS note,
           o.proowner AS owner, coalesce(o.proacl, acldefault('f', o.proowner)) AS acl, {mine} AS mine
      FROM fn t
      LEFT JOIN pg_proc o ON t.unresolved IS NULL AND o.pronamespace = t.nsp_oid AND o.proname = t.fname
                         AND o.prokind IN ('f', 'a', 'w')
                         AND o.proargtypes = coalesce(array_to_string(t.types, ' '), '')::oidvector""",
}
_CHECKS = {
    "table": "has_table_privilege",
    "all tables": "has_table_privilege",
    "sequence": "has_sequence_privilege",
    "all sequences": "has_sequence_privilege",
    "schema": "has_schema_privilege",
    "database": "has_database_privilege",
    "function": "has_function_privilege",
    "named function": "has_function_privilege",
}

_TAIL = """, entry AS (
    SELECT o.*, NULL::text AS col, a.grantee, a.grantor, a.privilege_type, a.is_grantable
      FROM obj o
      LEFT JOIN LATERAL (SELECT * FROM aclexplode(o.acl) x WHERE x.grantee IN (SELECT oid FROM who)) a ON true{columns}
)
SELECT 'object', e.kind, e.nsp, e.wanted, e.nsp_found, e.oid IS NOT NULL, e.name, e.args, e.note,
       pg_get_userbyid(e.owner)::text, e.col,
       CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee)::text END,
       e.privilege_type, e.is_grantable, pg_get_userbyid(e.grantor)::text, e.mine
  FROM entry e
UNION ALL
SELECT 'role', NULL, NULL, w.name, NULL, w.oid IS NOT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL
  FROM who w
UNION ALL
SELECT 'me', NULL, NULL, current_user::text, NULL, r.rolsuper, session_user::text, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL
  FROM pg_roles r WHERE r.rolname = current_user{grantors}"""

# Column privileges (pg_attribute.attacl) of the tables in scope.
_COLUMNS = """
    UNION ALL
    SELECT o.*, c.attname::text, a.grantee, a.grantor, a.privilege_type, a.is_grantable
      FROM obj o
      JOIN pg_attribute c ON o.kind = 'table' AND c.attrelid = o.oid AND c.attnum > 0 AND NOT c.attisdropped
                         AND c.attacl IS NOT NULL
     CROSS JOIN LATERAL aclexplode(c.attacl) a
     WHERE a.grantee IN (SELECT oid FROM who)"""

# Detailed read: may the session user act as each grantor found (SET ROLE)?
_GRANTORS = """
UNION ALL
SELECT 'grantor', NULL, NULL, pg_get_userbyid(g.grantor)::text, NULL,
       pg_has_role(session_user, g.grantor, %(set_privilege)s::text), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL
  FROM (SELECT DISTINCT e.grantor FROM entry e WHERE e.grantor IS NOT NULL) g"""

_QUERIES: dict = {}


def catalog_query(targets: list[tuple], detailed: bool) -> str:
    """The catalog query for these targets (cached per shape)."""
    kinds = []
    for kind, _schema, name in targets:
        if kind == "function":
            branch = "function" if name is None else "named function"
        elif kind in ("table", "sequence") and name is None:
            branch = f"all {kind}s"
        else:
            branch = kind
        if branch not in kinds:
            kinds.append(branch)
    kinds.sort(key=list(_BRANCHES).index)
    shape = (tuple(kinds), detailed)
    if shape not in _QUERIES:
        branches = [
            _BRANCHES[k].format(mine=_GRANTABLE.format(check=_CHECKS[k]) if detailed else "NULL::text[]") for k in kinds
        ]
        _QUERIES[shape] = (
            _HEAD
            + (_FN if "named function" in kinds else "")
            + ", obj AS ("
            + "\n    UNION ALL".join(branches)
            + "\n)"
            + _TAIL.format(
                columns=_COLUMNS if {"table", "all tables"} & set(kinds) else "", grantors=_GRANTORS if detailed else ""
            )
        ).strip()
    return _QUERIES[shape]


def catalog_params(
    targets: list[tuple],
    roles: list[str],
    detail: list[tuple[str, str]] | None = None,
    server_version: int | None = None,
) -> dict:
    """Query parameters. ``detail`` lists (kind, privilege) pairs whose grantability to check (a detailed read)."""
    fnames, fargs = [], []
    for kind, _schema, name in targets:
        if kind == "function" and name is not None:
            fname, args = split_signature(name)
            fnames.append(fname)
            fargs.append(json.dumps(args))
        else:
            fnames.append(None)
            fargs.append(None)
    detail = list(detail or [])
    return {
        "kinds": [t[0] for t in targets],
        "schemas": [t[1] for t in targets],
        "names": [t[2] for t in targets],
        "fnames": fnames,
        "fargs": fargs,
        "roles": list(roles),
        "detail_kinds": [d[0] for d in detail],
        "detail_privs": [d[1] for d in detail],
        "detailed": detail != [],
        # Since PostgreSQL 16, SET ROLE needs the membership's SET option.
        "set_privilege": "SET" if (server_version or 0) >= 160000 else "MEMBER",
    }


def parse_catalog_rows(rows, targets: list[tuple], detailed: bool = False) -> CatalogState:
    """Turn the catalog query's rows into a CatalogState (pure; unit tested with literal rows)."""
    state = CatalogState(detailed=detailed)
    for target in targets:
        state.resolved[target] = []
    present_targets = set()
    seen: dict[tuple, set] = {}
    for row in rows:
        tag, kind, nsp, wanted, nsp_found, found, name, args, note, owner, column, grantee, priv, grantable = row[:14]
        grantor, mine = row[14], row[15]
        if tag == "role":
            state.roles[wanted] = bool(found)
            continue
        if tag == "me":
            state.current_user, state.superuser, state.session_user = wanted, bool(found), name
            continue
        if tag == "grantor":
            state.can_act_as[wanted] = bool(found)
            continue
        target = (kind, nsp or "", wanted)
        if wanted is None and nsp_found:
            present_targets.add(target)  # the schema exists; it may hold no object of that kind
        if not found:
            if note:
                state.notes[target] = note
            continue
        present_targets.add(target)
        display = f"{name}({args})" if kind == "function" else name
        key = (kind, nsp or "", display)
        if key not in seen.setdefault(target, set()):
            seen[target].add(key)
            state.resolved.setdefault(target, []).append(key)
        state.idents[key] = (name, args)
        state.owners[key] = owner
        if detailed:
            state.grantable[key] = set(mine or ())
        if grantee is None or priv is None:
            state.acl.setdefault(key, {})
            continue
        if column:
            privs = state.columns.setdefault(key, {}).setdefault(grantee, {}).setdefault(column, {})
        else:
            privs = state.acl.setdefault(key, {}).setdefault(grantee, {})
        grantors = privs.setdefault(priv, {})
        grantors[grantor] = grantors.get(grantor, False) or bool(grantable)
    state.missing = [t for t in targets if t not in present_targets]
    for target in state.resolved:
        state.resolved[target].sort()
    return state


def read_catalog(
    db, targets: list[tuple], roles: list[str], detail: list[tuple[str, str]] | None = None
) -> CatalogState:
    params = catalog_params(targets, roles, detail, db.server_version)
    query = catalog_query(targets, params["detailed"])
    return parse_catalog_rows(db.execute(query, params), targets, detailed=params["detailed"])


# ---------------------------------------------------------------------------------------------
# Difference and statements
# ---------------------------------------------------------------------------------------------


def held(catalog: CatalogState, key: tuple, role: str) -> dict[str, bool]:
    """Privilege -> grantable (by any grantor) that ``role`` holds on the object itself."""
    return {p: any(g.values()) for p, g in catalog.acl.get(key, {}).get(role, {}).items()}


def held_columns(catalog: CatalogState, key: tuple, role: str) -> dict[tuple[str, str], bool]:
    """(column, privilege) -> grantable that ``role`` holds on columns of the table ``key``."""
    result = {}
    for column, privs in catalog.columns.get(key, {}).get(role, {}).items():
        for priv, grantors in privs.items():
            result[(column, priv)] = any(grantors.values())
    return result


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


def acting_role(catalog: CatalogState, key: tuple, grantor: str) -> str:
    """Who must revoke a privilege that ``grantor`` granted: "" for the executing role itself.

    A superuser's REVOKE acts as the object's owner; any other grantor's grant can only be revoked as that grantor.
    """
    if grantor == catalog.current_user or (catalog.superuser and grantor == catalog.owners.get(key)):
        return ""
    return grantor


_ACTION_RANK = {action: rank for rank, action in enumerate(ACTION_ORDER)}
_PRIVILEGE_RANK = {(kind, priv): rank for kind, privs in PRIVILEGES.items() for rank, priv in enumerate(privs)}


def _change_order(c: Change) -> tuple:
    return (c.role, _ACTION_RANK[c.action], c.act_as, c.key, c.column, _PRIVILEGE_RANK[(c.key[0], c.priv)])


def compute_changes(grants: list[Grant], roles: list[str], catalog: CatalogState, state: str) -> list[Change]:
    """The changes, sorted. Column privileges are revoked by ``exact`` (they cannot be declared) and by ``absent``."""
    changes = set()

    def revoke(role, action, key, priv, grantors, column=""):
        for grantor, grantable in grantors.items():
            if action == REVOKE or grantable:
                changes.add(change(role, action, key, priv, column, acting_role(catalog, key, grantor)))

    empty: dict = {}
    acl, column_acl = catalog.acl, catalog.columns
    grant_wanted = state in ("present", "exact")
    for (role, key), wanted in desired_privileges(grants, roles, catalog).items():
        current = acl.get(key, empty).get(role, empty)
        columns = column_acl.get(key, empty).get(role, empty) if column_acl else empty
        if grant_wanted:
            for priv, option in wanted.items():
                grantors = current.get(priv)
                if not grantors:
                    changes.add(change(role, GRANT_WITH_OPTION if option else GRANT, key, priv))
                elif option and not any(grantors.values()):
                    changes.add(change(role, GRANT_WITH_OPTION, key, priv))
        if state == "exact":
            for priv, grantors in current.items():
                if priv not in wanted:
                    revoke(role, REVOKE, key, priv, grantors)
                elif not wanted[priv]:
                    revoke(role, REVOKE_GRANT_OPTION, key, priv, grantors)
            for column, privs in columns.items():
                for priv, grantors in privs.items():
                    revoke(role, REVOKE, key, priv, grantors, column)
        if state == "absent":
            for priv, option in wanted.items():
                action = REVOKE_GRANT_OPTION if option else REVOKE
                revoke(role, action, key, priv, current.get(priv, {}))
                for column, privs in columns.items():
                    revoke(role, action, key, priv, privs.get(priv, {}), column)
    return sorted(changes, key=_change_order)
