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
    and privileges held through C(PUBLIC) compare correctly; column privileges and grantors included), computes the
    difference, and applies all GRANT and REVOKE statements in one transaction, so either every change is made or none.
  - Before it writes, it takes a transaction-scoped advisory lock and reads the catalog again, so concurrent runs
    on one database wait for each other instead of failing with C(tuple concurrently updated).
  - Checks that the executing role can do what is planned (grant with grant option, revoke as the original
    grantor) before it changes anything. After the statements it re-reads the catalog inside the transaction;
    a privilege PostgreSQL did not grant or revoke (it only warns) fails the task, naming it, and nothing is committed.
  - Validates the input before it changes anything; error messages name the offending item.
  - In check mode only catalog queries run; the statements that would be executed are returned.
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
          - A name of the wrong kind (a sequence listed as a table) is an error that says what the object is.
        type: str
        default: table
        choices: [table, sequence, schema, database, function]
      objects:
        description:
          - Names of the objects, exactly as in the catalog and unqualified (the schema goes in O(grants[].schema));
            V(public.job) is reported with that hint.
          - Functions are written with their argument types, for example V(my_func(integer, text)) or V(my_func()).
            A function whose argument type does not exist yet counts as missing (see O(missing)).
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
          - These are privileges on whole objects. Column privileges cannot be declared; see O(state).
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
      - V(absent) revokes the listed privileges, on the objects and on every column of the tables
        (as PostgreSQL's own table-level REVOKE does).
      - V(exact) makes the privileges of each role on each object in scope exactly the listed ones,
        revoking anything else, such as an UPDATE granted by hand, and every column privilege of the role on
        the tables in scope (C(GRANT UPDATE (email) ON galaxy_user)).
      - Whatever grantor granted a privilege, it is revoked as that grantor (C(SET ROLE) for the one statement)
        when the session user may act as it; when it may not, the module fails before changing anything and names
        the grantor.
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
      - A name of the wrong kind, or with its schema written into it while the unqualified name exists, is an error
        in every mode, since waiting would not make it appear.
    type: str
    default: fail
    choices: [fail, skip, wait]
  missing_timeout:
    description:
      - Seconds O(missing=wait) waits for missing objects; 0 or more.
    type: int
    default: 300
notes:
  - A superuser's GRANT is recorded as granted by the object's owner, and its REVOKE acts as the owner.
    Privileges other grantors gave are revoked as those grantors.
  - Privileges a role has through C(PUBLIC) or its member roles are not counted as its own.
  - Default privileges (C(ALTER DEFAULT PRIVILEGES)) are out of scope; objects created later need another run.
  - A run with nothing to change sends three statements (C(BEGIN), the catalog query, C(ROLLBACK)); the lock, the
    detailed read and the verification are only paid when something changes.
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

- name: Grant as the owner of Galaxy's tables, with the options of the community.postgresql modules
  galaxyops.infrastructure.postgresql_grants:
    login_host: db.example.org
    login_port: 6432
    login_user: admin
    login_password: "{{ vault_pg_admin_password }}"
    login_db: galaxy
    session_role: galaxy
    connect_params:
      options: -c statement_timeout=60000
    roles: [tiaas]
    state: exact
    grants:
      - objects: [galaxy_user]
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
    - The statements executed and committed, in order, including any C(SET ROLE) that revokes a privilege as its
      original grantor; in check mode, those that would be executed.
    - Objects that get the same privileges share one statement.
    - Empty when the task fails, since nothing is committed then (see RV(rolled_back)).
  returned: always
  type: list
  elements: str
  sample:
    - GRANT SELECT ON TABLE "public"."galaxy_user", "public"."job" TO "tiaas"
    - GRANT USAGE, SELECT ON SEQUENCE "public"."role_id_seq" TO "tiaas"
rolled_back:
  description: When the task fails after statements ran, those statements; the transaction was rolled back.
  returned: on failure after statements ran
  type: list
  elements: str
  sample:
    - GRANT SELECT ON TABLE "public"."job" TO "tiaas"
missing:
  description: Objects that did not exist (with O(missing=skip) they were left out), with the reason when known.
  returned: always
  type: list
  elements: str
  sample: ["table public.workflow_invocation"]
driver:
  description: The PostgreSQL driver used, with its version.
  returned: when connected
  type: str
  sample: psycopg2 2.9.10
diff:
  description:
    - Privileges of each role on each object in scope, before and after. Shown by C(--diff).
    - Column privileges appear as V(UPDATE (email)).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Role name, then object (for example V(table public.job)), then the privileges held before.
      type: dict
      returned: always
      sample: {"tiaas": {"table public.job": []}}
    after:
      description: The same, after the changes (re-read from the catalog after a real run).
      type: dict
      returned: always
      sample: {"tiaas": {"table public.job": ["SELECT"]}}
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pggrants as pg
from ansible_collections.galaxyops.infrastructure.plugins.module_utils._postgres import (
    DriverError,
    connect,
    error_text,
    load_driver,
    postgres_common_argument_spec,
)

POLL_INTERVAL = 2


def plan():
    """What a run needs only when something changes or is missing. Imported on first use: AnsiballZ ships sources,
    so every module run compiles what it imports, and a run with nothing to do skips this part."""
    from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pgplan

    return _pgplan


class GrantsManager:
    """Reads, compares and applies the privileges declared in the module's parameters."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.state = module.params["state"]
        self.db = None
        self.catalog_idents: dict = {}
        self.result: dict = {"changed": False, "queries": [], "missing": []}

    def fail(self, msg: str, **kwargs) -> None:
        """Fail with nothing committed: roll back, report changed=false and no applied queries."""
        if self.db is not None:
            self.db.close()
        self.result.update(changed=False, queries=[])
        self.module.fail_json(msg=msg, **self.result, **kwargs)

    def validate(self, server_version: int | None = None):
        errors = []
        try:
            roles = pg.validate_roles(self.module.params["roles"])
        except pg.GrantsError as exc:
            errors.extend(exc.errors)
        try:
            grants = pg.validate_grants(self.module.params["grants"], self.state, server_version)
        except pg.GrantsError as exc:
            errors.extend(exc.errors)
        if self.module.params["missing_timeout"] < 0:
            errors.append(f"missing_timeout must be 0 or more seconds, got {self.module.params['missing_timeout']}")
        if errors:
            self.fail("Invalid arguments, nothing was changed: " + "; ".join(errors), errors=errors)
        return roles, grants

    def query(self, what: str, func, *args):
        try:
            return func(self.db, *args)
        except self.db.Error as exc:
            self.fail(f"{what} failed, nothing was changed: {error_text(exc)}")

    def read(self, grants, roles, detail=None, wait: bool = False):
        """The catalog state; with missing=wait (and ``wait``), read again until every object exists or time is up."""
        targets = pg.targets_of(grants)
        mode = self.module.params["missing"]
        deadline = time.monotonic() + self.module.params["missing_timeout"]
        while True:
            catalog = self.query("Reading the catalog", pg.read_catalog, targets, roles, detail)
            unknown = [r for r, exists in catalog.roles.items() if not exists]
            if unknown and self.state != "absent":
                self.fail(f"Role(s) not found, nothing was changed: {', '.join(unknown)}")
            if catalog.missing:
                mistakes = self.query("Looking up missing objects", plan().diagnose_missing, catalog)
                if mistakes:
                    self.fail(f"Wrong object name(s), nothing was changed: {'; '.join(mistakes)}")
            if not catalog.missing or mode != "wait" or not wait or time.monotonic() >= deadline:
                break
            self.db.rollback()  # end the read transaction while waiting
            time.sleep(POLL_INTERVAL)
        missing = [plan().describe_missing(catalog, t) for t in catalog.missing]
        self.result["missing"] = missing
        if missing and mode == "fail":
            self.fail(f"{len(missing)} object(s) do not exist, nothing was changed: {', '.join(missing)}")
        if missing and mode == "wait":
            self.fail(
                f"{len(missing)} object(s) still missing after {self.module.params['missing_timeout']} s, "
                f"nothing was changed: {', '.join(missing)}"
            )
        return catalog

    def in_scope(self, catalog, roles):
        unknown = [r for r, exists in catalog.roles.items() if not exists]
        return [r for r in roles if r not in unknown]

    def run(self) -> dict:
        roles, grants = self.validate()
        try:
            driver = load_driver(self.module.params["driver"])
        except DriverError as exc:
            self.fail(str(exc))
        self.result["driver"] = f"{driver.name} {driver.version}"
        self.db = connect(self.module, driver)
        roles, grants = self.validate(self.db.server_version)

        # 1. The one read a no-op needs: BEGIN, this query, ROLLBACK.
        catalog = self.read(grants, roles, wait=True)
        unknown = [r for r, exists in catalog.roles.items() if not exists]
        if unknown:
            # A role that does not exist holds no privilege: nothing to revoke (state absent only).
            self.module.warn(f"Role(s) not found, nothing to revoke from them: {', '.join(unknown)}")
        roles = self.in_scope(catalog, roles)
        if self.result["missing"]:
            self.module.warn(
                f"Skipped {len(self.result['missing'])} missing object(s): {', '.join(self.result['missing'])}"
            )
        changes = pg.compute_changes(grants, roles, catalog, self.state)
        if changes:
            # 2. Something changes: serialise with concurrent runs, then read again, in detail.
            if not self.module.check_mode:
                self.query("Taking the advisory lock", lambda db: db.execute(pg.LOCK_QUERY))
            catalog = self.read(grants, roles, detail=plan().detail_needed(changes))
            roles = self.in_scope(catalog, roles)
            changes = pg.compute_changes(grants, roles, catalog, self.state)
            problems = plan().infeasible(changes, catalog)
            if problems:
                self.fail(f"Nothing was changed: {'; '.join(problems)}", problems=problems)
        self.catalog_idents = catalog.idents
        steps = plan().program(plan().plan_statements(changes), catalog.current_user) if changes else []
        if self.module.check_mode or not steps:
            self.result["queries"] = [self.render(step) for step in steps]
            self.result["changed"] = bool(steps)
            if self.module._diff:
                self.result["diff"] = plan().build_diff(grants, roles, catalog, plan().apply_changes(catalog, changes))
            self.db.close()
            return self.result
        after = self.apply(steps, grants, roles)
        if self.module._diff:
            self.result["diff"] = plan().build_diff(grants, roles, catalog, after)
        return self.result

    def compose(self, step):
        what, value = step
        if what == "set_role":
            return self.db.set_role(value)
        return plan().compose(self.db.sql, value, self.catalog_idents)

    def render(self, step) -> str:
        return self.db.as_string(self.compose(step))

    def apply(self, steps, grants, roles):
        """Execute, verify by re-reading inside the transaction, then commit; on any failure roll everything back."""
        executed: list[str] = []
        notices: list[str] = []
        self.db.notices()  # drop what the reads said
        for step in steps:
            query = self.compose(step)
            text = self.db.as_string(query)
            try:
                self.db.execute(query)
            except self.db.Error as exc:
                self.fail(
                    f"{text} failed, every change was rolled back: {error_text(exc)}", rolled_back=executed + [text]
                )
            executed.append(text)
            notices.extend(f"{text}: {n}" for n in self.db.notices())
        try:
            after = pg.read_catalog(self.db, pg.targets_of(grants), roles)
        except self.db.Error as exc:
            self.fail(
                f"Verifying the changes failed, every change was rolled back: {error_text(exc)}", rolled_back=executed
            )
        left = pg.compute_changes(grants, roles, after, self.state)
        if left:
            said = f" PostgreSQL said: {' | '.join(notices)}" if notices else ""
            self.fail(
                "PostgreSQL did not apply every change, so every change was rolled back: "
                f"{'; '.join(plan().describe_change(c) for c in left)} had no effect.{said}",
                rolled_back=executed,
                notices=notices,
            )
        try:
            self.db.commit()
        except self.db.Error as exc:
            self.fail(f"COMMIT failed, nothing was changed: {error_text(exc)}", rolled_back=executed)
        self.db.close()
        self.result["queries"] = executed
        self.result["changed"] = True
        return after


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
    module.exit_json(**GrantsManager(module).run())


if __name__ == "__main__":
    main()
