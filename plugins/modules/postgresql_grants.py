#!/usr/bin/python
# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

# Ansible module layout: documentation strings come before the imports.
# ruff: noqa: E402

DOCUMENTATION = r"""
module: postgresql_grants
short_description: Declare the privileges of PostgreSQL roles on tables, sequences, schemas, databases and functions
version_added: 0.1.0
description:
  - Makes the privileges of one or more roles match a declared list of grants.
  - Reads the current privileges of every object in scope with one catalog query (effective ACLs, so a NULL ACL
    and privileges held through C(PUBLIC) compare correctly), computes the difference, and applies all GRANT and
    REVOKE statements in one transaction, so either every change is made or none.
  - Validates the input before it changes anything; error messages name the offending item.
  - In check mode only the catalog query runs; the statements that would be executed are returned.
author:
  - galaxyops developers (@galaxyops)
extends_documentation_fragment:
  - galaxyops.infrastructure._postgres
attributes:
  check_mode:
    description: Can run in check mode and return the exact changes without executing any GRANT or REVOKE.
    support: full
  diff_mode:
    description: Returns the privileges of each role on each object in scope before and after.
    support: full
  idempotent:
    description: A second run with the same arguments reports no change and executes no statement.
    support: full
options:
  roles:
    description:
      - Roles whose privileges are managed. Every grant applies to every role.
      - V(PUBLIC) (any case) means the pseudo-role of all roles.
      - Every other role must exist, else the module fails before changing anything; with O(state=absent)
        a role that does not exist is skipped with a warning, since it holds nothing to revoke.
    type: list
    elements: str
    required: true
  grants:
    description:
      - The privileges, one entry per object type, privilege list and set of objects.
      - When several entries name the same object, their privileges add up.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - Kind of the objects. V(table) includes views, materialized views, partitioned and foreign tables.
        type: str
        default: table
        choices: [table, sequence, schema, database, function]
      objects:
        description:
          - Names of the objects, unqualified (the schema goes in O(grants[].schema)).
          - Functions are written with their argument types, for example V(my_func(integer, text)) or V(my_func()).
          - Required unless O(grants[].all_in_schema=true).
        type: list
        elements: str
      all_in_schema:
        description:
          - Apply to every existing object of O(grants[].type) in O(grants[].schema)
            instead of listed O(grants[].objects).
          - Only for tables, sequences and functions (functions proper, not procedures or aggregates).
        type: bool
        default: false
      privileges:
        description:
          - Privileges, case-insensitive, per type.
          - "V(table): SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN (PostgreSQL 17+)."
          - "V(sequence): USAGE, SELECT, UPDATE. V(schema): USAGE, CREATE."
          - "V(database): CONNECT, CREATE, TEMPORARY (or TEMP). V(function): EXECUTE."
          - V(ALL) stands for every privilege of the type except MAINTAIN.
          - A privilege that does not belong to the type is an error that names the entry.
          - An empty list is allowed only with O(state=exact), where it removes every privilege on the objects.
        type: list
        elements: str
        required: true
      schema:
        description:
          - Schema of the tables, sequences or functions. Defaults to V(public).
          - Not allowed for schemas and databases.
        type: str
      grant_option:
        description:
          - With O(state=present) or O(state=exact), grant the privileges WITH GRANT OPTION.
            With O(state=exact) and V(false), an existing grant option is revoked.
          - With O(state=absent), revoke only the grant option and keep the privileges.
        type: bool
        default: false
  state:
    description:
      - V(present) grants what is missing and leaves other privileges alone.
      - V(absent) revokes the listed privileges.
      - V(exact) makes the privileges of each role on each object in scope exactly the listed ones,
        revoking anything else, such as an UPDATE granted by hand.
    type: str
    default: present
    choices: [present, absent, exact]
  missing:
    description:
      - What to do when named objects (or the schema of O(grants[].all_in_schema)) do not exist yet, for example
        because Galaxy has not created its tables.
      - V(fail) fails before changing anything, listing every missing object in one message.
      - V(skip) warns, and manages the objects that exist.
      - V(wait) repeats the catalog query until every object exists, failing after O(missing_timeout) seconds.
    type: str
    default: fail
    choices: [fail, skip, wait]
  missing_timeout:
    description:
      - Seconds O(missing=wait) waits for missing objects.
    type: int
    default: 300
notes:
  - PostgreSQL revokes only privileges granted by the role that revokes (a superuser revokes as the owner).
    A privilege granted by another grantor survives a revoke, and the next run reports it again.
  - Privileges a role has through C(PUBLIC) or its member roles are not counted as its own.
  - Default privileges (C(ALTER DEFAULT PRIVILEGES)) are out of scope; objects created later need another run.
seealso:
  - module: community.postgresql.postgresql_privs
  - name: GRANT
    description: PostgreSQL reference for GRANT.
    link: https://www.postgresql.org/docs/current/sql-grant.html
"""

EXAMPLES = r"""
- name: Give TIaaS the access it needs to Galaxy's database
  galaxyops.infrastructure.postgresql_grants:
    login_db: galaxy
    roles: [tiaas]
    state: exact
    missing: wait
    grants:
      - objects: [galaxy_user, galaxy_session, job, history, workflow, workflow_invocation]
        privileges: [SELECT]
      - objects: [user_group_association, galaxy_group, role, group_role_association]
        privileges: [SELECT, INSERT]
      - objects: [group_role_association]
        privileges: [DELETE]
      - type: sequence
        objects: [role_id_seq, galaxy_group_id_seq, group_role_association_id_seq, user_group_association_id_seq]
        privileges: [USAGE, SELECT]
  become: true
  become_user: postgres

- name: Read-only reporting role on every table of a schema, over TCP
  galaxyops.infrastructure.postgresql_grants:
    login_host: db.example.org
    login_user: admin
    login_password: "{{ vault_pg_admin_password }}"
    login_db: galaxy
    ssl_mode: verify-full
    roles: [reporting]
    grants:
      - type: schema
        objects: [public]
        privileges: [USAGE]
      - all_in_schema: true
        schema: public
        privileges: [SELECT]

- name: Stop everyone from creating temporary tables in the galaxy database
  galaxyops.infrastructure.postgresql_grants:
    roles: [PUBLIC]
    state: absent
    grants:
      - type: database
        objects: [galaxy]
        privileges: [TEMPORARY]
"""

RETURN = r"""
queries:
  description:
    - The GRANT and REVOKE statements executed, in order; in check mode, those that would be executed.
    - Objects that get the same privileges share one statement.
  returned: always
  type: list
  elements: str
  sample:
    - GRANT SELECT ON TABLE "public"."galaxy_user", "public"."job" TO "tiaas"
    - GRANT USAGE, SELECT ON SEQUENCE "public"."role_id_seq" TO "tiaas"
missing:
  description: Objects that did not exist (with O(missing=skip) they were left out).
  returned: always
  type: list
  elements: str
  sample: ["table public.workflow_invocation"]
diff:
  description:
    - Privileges of each role on each object in scope, before and after. Shown by C(--diff).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Role name, then object (for example V(table public.job)), then the privileges held before.
      type: dict
      returned: always
      sample: {"tiaas": {"table public.job": []}}
    after:
      description: The same, after the changes.
      type: dict
      returned: always
      sample: {"tiaas": {"table public.job": ["SELECT"]}}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.galaxyops.infrastructure.plugins.module_utils._pggrants import (
    GrantsError,
    build_diff,
    compose,
    compute_changes,
    describe_target,
    plan_statements,
    read_catalog,
    targets_of,
    validate_grants,
    validate_roles,
)
from ansible_collections.galaxyops.infrastructure.plugins.module_utils._postgres import (
    connect,
    ensure_psycopg2,
    postgres_common_argument_spec,
)

POLL_INTERVAL = 2


class GrantsManager:
    """Reads, compares and applies the privileges declared in the module's parameters."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.state = module.params["state"]
        self.conn = None
        self.result: dict = {"changed": False, "queries": [], "missing": []}

    def fail(self, msg: str, **kwargs) -> None:
        if self.conn is not None:
            try:
                self.conn.rollback()
                self.conn.close()
            except Exception:  # noqa: S110  the connection may be broken already; failing is what matters
                pass
        self.module.fail_json(msg=msg, **self.result, **kwargs)

    def validate(self, server_version: int | None = None):
        try:
            roles = validate_roles(self.module.params["roles"])
            grants = validate_grants(self.module.params["grants"], self.state, server_version)
        except GrantsError as exc:
            self.fail("Invalid arguments, nothing was changed: " + "; ".join(exc.errors), errors=exc.errors)
        return roles, grants

    def read(self, grants, roles):
        """The catalog state and the roles to manage.

        With missing=wait, repeat the read until every object exists or time runs out.
        """
        targets = targets_of(grants)
        mode = self.module.params["missing"]
        deadline = time.monotonic() + self.module.params["missing_timeout"]
        while True:
            try:
                with self.conn.cursor() as cur:
                    catalog = read_catalog(cur, targets, roles)
            except Exception as exc:  # psycopg2.Error
                self.fail(f"Reading the catalog failed, nothing was changed: {str(exc).strip()}")
            unknown = [r for r, exists in catalog.roles.items() if not exists]
            if unknown and self.state != "absent":
                self.fail(f"Role(s) not found, nothing was changed: {', '.join(unknown)}")
            if not catalog.missing or mode != "wait" or time.monotonic() >= deadline:
                break
            self.conn.rollback()  # end the read transaction while waiting
            time.sleep(POLL_INTERVAL)
        missing = [describe_target(t) for t in catalog.missing]
        self.result["missing"] = missing
        if missing and mode == "fail":
            self.fail(f"{len(missing)} object(s) do not exist, nothing was changed: {', '.join(missing)}")
        if missing and mode == "wait":
            self.fail(
                f"{len(missing)} object(s) still missing after {self.module.params['missing_timeout']} s, "
                f"nothing was changed: {', '.join(missing)}"
            )
        if missing:
            self.module.warn(f"Skipped {len(missing)} missing object(s): {', '.join(missing)}")
        if unknown:
            # A role that does not exist holds no privilege: nothing to revoke.
            self.module.warn(f"Role(s) not found, nothing to revoke from them: {', '.join(unknown)}")
            roles = [r for r in roles if r not in unknown]
        return catalog, roles

    def run(self) -> dict:
        roles, grants = self.validate()
        self.conn = connect(self.module)
        roles, grants = self.validate(self.conn.server_version)
        catalog, roles = self.read(grants, roles)
        changes = compute_changes(grants, roles, catalog, self.state)
        statements = [compose(stmt, catalog.idents) for stmt in plan_statements(changes)]
        self.result["queries"] = [stmt.as_string(self.conn) for stmt in statements]
        self.result["changed"] = bool(statements)
        if self.module._diff:
            self.result["diff"] = build_diff(grants, roles, catalog, changes)
        if statements and not self.module.check_mode:
            with self.conn.cursor() as cur:
                for statement, text in zip(statements, self.result["queries"], strict=True):
                    try:
                        cur.execute(statement)
                    except Exception as exc:  # psycopg2.Error; rolled back below
                        self.fail(f"{text} failed, every change was rolled back: {str(exc).strip()}")
            self.conn.commit()
        else:
            self.conn.rollback()
        self.conn.close()
        return self.result


def main() -> None:
    argument_spec = postgres_common_argument_spec()
    argument_spec.update(
        roles={"type": "list", "elements": "str", "required": True},
        grants={
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "type": {
                    "type": "str",
                    "default": "table",
                    "choices": ["table", "sequence", "schema", "database", "function"],
                },
                "objects": {"type": "list", "elements": "str"},
                "all_in_schema": {"type": "bool", "default": False},
                "privileges": {"type": "list", "elements": "str", "required": True},
                "schema": {"type": "str"},
                "grant_option": {"type": "bool", "default": False},
            },
        },
        state={"type": "str", "default": "present", "choices": ["present", "absent", "exact"]},
        missing={"type": "str", "default": "fail", "choices": ["fail", "skip", "wait"]},
        missing_timeout={"type": "int", "default": 300},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    module.exit_json(**GrantsManager(module).run())


if __name__ == "__main__":
    main()
