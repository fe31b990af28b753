"""Integration tests: galaxyops.infrastructure.postgresql_grants against Galaxy's real schema.

Every assertion about the outcome reads the catalog (or acts as the role), not only the task result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import yaml
from psycopg2 import errors

from tests.support import modulerun

# The grant set the role ships (postgresql_privileges_tiaas_grants): the tests prove that very variable,
# against the catalog rows EXPECTED below, which restate the list independently.
ROLE_DEFAULTS = Path(__file__).resolve().parents[2] / "roles" / "postgresql_privileges" / "defaults" / "main.yml"
TIAAS_GRANTS = yaml.safe_load(ROLE_DEFAULTS.read_text())["postgresql_privileges_tiaas_grants"]

EXPECTED = (
    {
        (t, "SELECT", "NO")
        for t in ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"]
    }
    | {
        (t, p, "NO")
        for t in ["user_group_association", "galaxy_group", "role", "group_role_association"]
        for p in ("SELECT", "INSERT")
    }
    | {("group_role_association", "DELETE", "NO")}
    | {
        (s, p, "NO")
        for s in [
            "role_id_seq",
            "galaxy_group_id_seq",
            "group_role_association_id_seq",
            "user_group_association_id_seq",
        ]
        for p in ("USAGE", "SELECT")
    }
)


def module_statements(pg, start: int) -> list[str]:
    """Statements the module sent to the server since byte offset ``start`` of the server log."""
    return modulerun.module_statements(pg.log, start)


def log_offset(pg) -> int:
    return modulerun.log_offset(pg.log)


# --- the main path --------------------------------------------------------------------------------


def test_check_mode_reports_changes_without_granting(galaxy_db, module):
    before = galaxy_db.acl_snapshot()
    offset = log_offset(galaxy_db.pg)
    run = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact"), check=True, diff=True)
    assert not run.failed, run.result
    assert run.changed
    assert len(run.result["queries"]) == 4
    assert run.result["queries"][0].startswith('GRANT SELECT ON TABLE "public"."galaxy_session"')
    diff = run.result["diff"]
    assert diff["before"][galaxy_db.role]["table public.group_role_association"] == []
    assert diff["after"][galaxy_db.role]["table public.group_role_association"] == ["SELECT", "INSERT", "DELETE"]
    assert galaxy_db.acl_snapshot() == before
    assert galaxy_db.privileges() == set()
    sent = module_statements(galaxy_db.pg, offset)
    assert not [s for s in sent if s.startswith(("GRANT", "REVOKE"))], sent
    assert sent[-1] == "ROLLBACK"


def test_apply_then_rerun_is_a_noop_with_one_catalog_read(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact"))
    assert not run.failed, run.result
    assert run.changed
    assert galaxy_db.privileges() == EXPECTED

    offset = log_offset(galaxy_db.pg)
    again = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact"))
    assert not again.failed, again.result
    assert again.changed is False
    assert again.result["queries"] == []
    assert galaxy_db.privileges() == EXPECTED
    sent = module_statements(galaxy_db.pg, offset)
    assert len(sent) == 3, sent  # BEGIN, the catalog query, ROLLBACK
    assert sent[0] == "BEGIN"
    assert sent[2] == "ROLLBACK"


def test_real_run_executes_what_check_mode_announced(galaxy_db, module):
    args = galaxy_db.module_args(grants=TIAAS_GRANTS)
    planned = module(args, check=True).result["queries"]
    offset = log_offset(galaxy_db.pg)
    run = module(args)
    assert run.result["queries"] == planned
    sent = module_statements(galaxy_db.pg, offset)
    # BEGIN, the catalog read, the advisory lock, the detailed read, the statements, the verifying read, COMMIT.
    assert sent == ["BEGIN", sent[1], sent[2], sent[3], *planned, sent[-2], "COMMIT"], sent
    assert sent[2].startswith("SELECT pg_advisory_xact_lock(")
    assert all(sent[i].startswith("WITH target AS") for i in (1, 3, -2))


def test_exact_revokes_hand_granted_extras_present_keeps_them(galaxy_db, module):
    module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact"))
    role = galaxy_db.role
    galaxy_db.execute(f'GRANT UPDATE ON galaxy_user TO "{role}"')
    galaxy_db.execute(f'GRANT SELECT ON role_id_seq TO "{role}" WITH GRANT OPTION')
    galaxy_db.execute(f'GRANT SELECT ON user_role_association TO "{role}"')  # outside the scope: untouched

    present = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="present"))
    assert present.changed is False
    assert ("galaxy_user", "UPDATE", "NO") in galaxy_db.privileges()

    exact = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact"), diff=True)
    assert exact.changed
    assert exact.result["queries"] == [
        f'REVOKE GRANT OPTION FOR SELECT ON SEQUENCE "public"."role_id_seq" FROM "{role}"',
        f'REVOKE UPDATE ON TABLE "public"."galaxy_user" FROM "{role}"',
    ]
    assert exact.result["diff"]["before"][role]["table public.galaxy_user"] == ["SELECT", "UPDATE"]
    assert galaxy_db.privileges() == EXPECTED | {("user_role_association", "SELECT", "NO")}
    assert module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact")).changed is False


def test_absent_revokes_only_the_listed_privileges(galaxy_db, module):
    module(galaxy_db.module_args(grants=TIAAS_GRANTS))
    run = module(
        galaxy_db.module_args(
            grants=[{"objects": ["group_role_association"], "privileges": ["DELETE"]}], state="absent"
        )
    )
    assert run.changed
    assert galaxy_db.privileges() == EXPECTED - {("group_role_association", "DELETE", "NO")}
    again = module(
        galaxy_db.module_args(
            grants=[{"objects": ["group_role_association"], "privileges": ["DELETE"]}], state="absent"
        )
    )
    assert again.changed is False


def test_grant_option_round_trip(galaxy_db, module):
    grants = [{"objects": ["job"], "privileges": ["SELECT"], "grant_option": True}]
    assert module(galaxy_db.module_args(grants=grants)).changed
    assert galaxy_db.privileges() == {("job", "SELECT", "YES")}
    assert module(galaxy_db.module_args(grants=grants)).changed is False
    grants[0]["grant_option"] = False
    run = module(galaxy_db.module_args(grants=grants, state="exact"))
    assert run.result["queries"] == [f'REVOKE GRANT OPTION FOR SELECT ON TABLE "public"."job" FROM "{galaxy_db.role}"']
    assert galaxy_db.privileges() == {("job", "SELECT", "NO")}


def test_diff_is_readable_with_the_default_callback(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=TIAAS_GRANTS[:1]), check=True, diff=True, callback="default")
    assert run.result["rc"] == 0, run.stdout + run.stderr
    assert "table public.galaxy_user" in run.stdout
    assert "--- before" in run.stdout
    assert "+++ after" in run.stdout
    added = [line for line in run.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added
    assert all("SELECT" in line or "table public." in line for line in added), added


def test_all_in_schema_schema_database_and_function(galaxy_db, module):
    galaxy_db.execute("CREATE SCHEMA reports AUTHORIZATION galaxy")
    galaxy_db.execute("CREATE TABLE reports.a (id int); CREATE TABLE reports.b (id int)")
    galaxy_db.execute("CREATE FUNCTION reports.answer(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'")
    grants = [
        {"all_in_schema": True, "schema": "reports", "privileges": ["SELECT"]},
        {"type": "schema", "objects": ["reports"], "privileges": ["USAGE"]},
        {"type": "database", "objects": [galaxy_db.name], "privileges": ["CONNECT"]},
        {"type": "function", "schema": "reports", "objects": ["answer(int)"], "privileges": ["EXECUTE"]},
    ]
    run = module(galaxy_db.module_args(grants=grants))
    assert not run.failed, run.result
    assert {("a", "SELECT", "NO"), ("b", "SELECT", "NO")} == galaxy_db.privileges()
    role = galaxy_db.role
    checks = galaxy_db.execute(
        "SELECT has_schema_privilege(%(r)s, 'reports', 'USAGE'), has_database_privilege(%(r)s, %(d)s, 'CONNECT'),"
        " (SELECT count(*) FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a"
        "   WHERE p.proname = 'answer' AND a.grantee = %(r)s::regrole AND a.privilege_type = 'EXECUTE')",
        {"r": role, "d": galaxy_db.name},
    )
    assert checks == [(True, True, 1)]
    assert f'GRANT EXECUTE ON FUNCTION "reports"."answer"(integer) TO "{role}"' in run.result["queries"]
    assert module(galaxy_db.module_args(grants=grants)).changed is False


def test_public_pseudo_role_is_idempotent(galaxy_db, module):
    """community.postgresql#343: revoking PUBLIC defaults reported changed on every run."""
    grants = [
        {"type": "database", "objects": [galaxy_db.name], "privileges": ["TEMPORARY"]},
        {"type": "schema", "objects": ["public"], "privileges": ["CREATE"]},  # PUBLIC lacks it since PG 15
    ]
    args = galaxy_db.module_args(roles=["PUBLIC"], grants=grants, state="absent")
    first = module(args)
    assert first.result["queries"] == [f'REVOKE TEMPORARY ON DATABASE "{galaxy_db.name}" FROM PUBLIC']
    assert galaxy_db.execute("SELECT has_database_privilege('public', %s, 'TEMP')", (galaxy_db.name,)) == [(False,)]
    assert module(args).changed is False
    galaxy_db.pg.execute("postgres", f'GRANT TEMPORARY ON DATABASE "{galaxy_db.name}" TO PUBLIC')


# --- objects that do not exist yet ---------------------------------------------------------------------

WITH_MISSING = [
    {"objects": ["galaxy_user", "tiaas_not_yet", "job"], "privileges": ["SELECT"]},
    {"type": "sequence", "objects": ["tiaas_not_yet_id_seq"], "privileges": ["USAGE"]},
]


def test_missing_fail_lists_every_missing_object_and_changes_nothing(galaxy_db, module):
    before = galaxy_db.acl_snapshot()
    run = module(galaxy_db.module_args(grants=WITH_MISSING, missing="fail"))
    assert run.failed
    assert "2 object(s) do not exist, nothing was changed" in run.result["msg"]
    assert "table public.tiaas_not_yet" in run.result["msg"]
    assert "sequence public.tiaas_not_yet_id_seq" in run.result["msg"]
    assert galaxy_db.acl_snapshot() == before


def test_missing_skip_warns_and_grants_the_rest(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=WITH_MISSING, missing="skip"))
    assert not run.failed, run.result
    assert run.changed
    assert run.result["missing"] == ["table public.tiaas_not_yet", "sequence public.tiaas_not_yet_id_seq"]
    assert any("Skipped 2 missing object(s)" in w for w in run.result.get("warnings", []))
    assert galaxy_db.privileges() == {("galaxy_user", "SELECT", "NO"), ("job", "SELECT", "NO")}


def test_missing_wait_grants_once_the_objects_appear(galaxy_db, module):
    def galaxy_creates_its_tables():
        time.sleep(3)
        galaxy_db.execute(
            "CREATE TABLE tiaas_not_yet (id serial); ALTER SEQUENCE tiaas_not_yet_id_seq RENAME TO x;"
            "CREATE SEQUENCE tiaas_not_yet_id_seq"
        )

    creator = threading.Thread(target=galaxy_creates_its_tables)
    creator.start()
    started = time.monotonic()
    run = module(galaxy_db.module_args(grants=WITH_MISSING, missing="wait", missing_timeout=60))
    creator.join()
    assert not run.failed, run.result
    assert time.monotonic() - started >= 3
    assert ("tiaas_not_yet", "SELECT", "NO") in galaxy_db.privileges()
    assert ("tiaas_not_yet_id_seq", "USAGE", "NO") in galaxy_db.privileges()


def test_missing_wait_times_out_without_changes(galaxy_db, module):
    before = galaxy_db.acl_snapshot()
    run = module(galaxy_db.module_args(grants=WITH_MISSING, missing="wait", missing_timeout=2))
    assert run.failed
    assert "still missing after 2 s, nothing was changed" in run.result["msg"]
    assert galaxy_db.acl_snapshot() == before


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {
                "grants": [
                    {"objects": ["galaxy_user"], "privileges": ["SELECT"]},
                    {"objects": ["job"], "privileges": ["USAGE"]},
                ]
            },
            "grants[1] (type table, objects job): privilege USAGE is not valid for a table",
        ),
        (
            {"grants": [{"type": "sequence", "objects": ["role_id_seq"], "privileges": ["DELETE"]}]},
            "grants[0] (type sequence, objects role_id_seq): privilege DELETE is not valid for a sequence",
        ),
        (
            {"roles": ["no_such_role"], "grants": [{"objects": ["job"], "privileges": ["SELECT"]}]},
            "Role(s) not found, nothing was changed: no_such_role",
        ),
        ({"grants": [{"privileges": ["SELECT"]}]}, "grants[0] (type table): objects is empty"),
        ({"grants": [{"objects": ["job"], "privileges": ["SELECT"], "colour": "red"}]}, "colour"),
        (
            {"grants": [{"type": "function", "objects": ["nextval"], "privileges": ["EXECUTE"]}]},
            "function 'nextval' must be written with its argument types",
        ),
        (
            {"grants": [{"type": "schema", "objects": ["public"], "schema": "public", "privileges": ["USAGE"]}]},
            "schema applies only to tables, sequences and functions",
        ),
        ({"grants": [{"objects": ["job"], "privileges": ["SELECT"]}], "state": "sometimes"}, "state"),
        ({"grants": [{"objects": ["job"], "privileges": ["MAINTAIN"]}]}, "privilege MAINTAIN needs PostgreSQL 17"),
    ],
    ids=[
        "usage-on-table",
        "delete-on-sequence",
        "unknown-role",
        "no-objects",
        "unknown-key",
        "function-signature",
        "schema-on-schema",
        "bad-state",
        "maintain-on-pg15",
    ],
)
def test_bad_input_names_the_item_and_changes_nothing(galaxy_db, module, override, message):
    before = galaxy_db.acl_snapshot()
    offset = log_offset(galaxy_db.pg)
    args = galaxy_db.module_args(grants=TIAAS_GRANTS)
    args.update(override)
    run = module(args)
    assert run.failed
    assert message in run.result["msg"]
    assert galaxy_db.acl_snapshot() == before
    sent = module_statements(galaxy_db.pg, offset)
    assert not [s for s in sent if s.startswith(("GRANT", "REVOKE"))], sent


def test_a_grant_the_login_role_cannot_make_fails_before_any_change(galaxy_db, module):
    """Connected as the owner of Galaxy's tables, a table owned by someone else cannot be granted on."""
    galaxy_db.execute("CREATE TABLE postgres_owned (id int)")
    before = galaxy_db.acl_snapshot()
    offset = log_offset(galaxy_db.pg)
    grants = [
        {"objects": ["galaxy_user"], "privileges": ["SELECT"]},
        {"objects": ["postgres_owned"], "privileges": ["SELECT", "INSERT"]},
    ]
    run = module(galaxy_db.module_args(grants=grants, login_user="galaxy"))
    assert run.failed
    assert run.changed is False
    assert "cannot grant SELECT on table public.postgres_owned" in run.result["msg"]
    assert "cannot grant INSERT on table public.postgres_owned" in run.result["msg"]
    assert "executing role 'galaxy' is not a superuser, does not own it ('postgres' does)" in run.result["msg"]
    assert run.result["queries"] == []
    assert galaxy_db.acl_snapshot() == before
    sent = module_statements(galaxy_db.pg, offset)
    assert not [s for s in sent if s.startswith(("GRANT", "REVOKE"))], sent


# --- acting as the TIaaS role -------------------------------------------------------------------------


def test_tiaas_can_do_its_job_and_nothing_else(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=TIAAS_GRANTS, state="exact", missing="fail"))
    assert not run.failed, run.result
    galaxy_db.execute(
        "INSERT INTO galaxy_user (create_time, update_time, email, password, active, deleted, purged, external)"
        " VALUES (now(), now(), 'trainer@example.org', 'x', true, false, false, false)"
    )
    conn = galaxy_db.connect_as()
    with conn.cursor() as cur:
        for table in ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"]:
            cur.execute(f"SELECT count(*) FROM {table}")
        cur.execute("SELECT id FROM galaxy_user WHERE email = 'trainer@example.org'")
        (user_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO galaxy_group (create_time, update_time, name, deleted)"
            " VALUES (now(), now(), 'training-gcc', false) RETURNING id"
        )
        (group_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO role (create_time, update_time, name, description, type, deleted)"
            " VALUES (now(), now(), 'training-gcc', 'TIaaS', 'admin', false) RETURNING id"
        )
        (role_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO group_role_association (group_id, role_id, create_time, update_time)"
            " VALUES (%s, %s, now(), now())",
            (group_id, role_id),
        )
        cur.execute(
            "INSERT INTO user_group_association (user_id, group_id, create_time, update_time)"
            " VALUES (%s, %s, now(), now())",
            (user_id, group_id),
        )
        cur.execute("SELECT currval('role_id_seq'), currval('galaxy_group_id_seq')")
        cur.execute("DELETE FROM group_role_association WHERE group_id = %s", (group_id,))
        assert cur.rowcount == 1
    for denied in [
        "UPDATE galaxy_user SET username = 'x'",
        "DELETE FROM role",
        "SELECT * FROM user_role_association",
        "UPDATE role SET deleted = true",
        "DELETE FROM user_group_association",
        "SELECT setval('role_id_seq', 1000)",
    ]:
        with conn.cursor() as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute(denied)
    conn.close()


def test_tiaas_without_grants_is_denied(galaxy_db):
    conn = galaxy_db.connect_as()
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("SELECT count(*) FROM galaxy_user")
    conn.close()


# --- the role's preflight -------------------------------------------------------------------------------


def run_role_preflight(tmp_path, roles: list[dict]):
    repo = Path(__file__).resolve().parents[2]
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "ansible.builtin.include_role": {
                        "name": "galaxyops.infrastructure.postgresql_privileges",
                        "tasks_from": "preflight.yml",
                    },
                    "vars": {"postgresql_privileges_roles": roles},
                }
            ],
        }
    ]
    path = tmp_path / "preflight.yml"
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(repo / ".cache" / "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(path)],
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "roles",
    [
        [{"name": "tiaas", "password": ""}],
        [{"name": "tiaas"}],
        [{"name": "reports", "auth": "peer"}, {"name": "tiaas", "auth": "password", "password": None}],
    ],
    ids=["empty", "missing", "null"],
)
def test_role_refuses_an_empty_password(tmp_path, roles):
    proc = run_role_preflight(tmp_path, roles)
    assert proc.returncode != 0
    assert "Role(s) tiaas use password authentication but the password is empty or missing" in proc.stdout


def test_role_accepts_peer_and_password_roles(tmp_path):
    proc = run_role_preflight(tmp_path, [{"name": "reports", "auth": "peer"}, {"name": "tiaas", "password": "s3cret"}])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "s3cret" not in proc.stdout


def test_absent_skips_a_role_that_no_longer_exists(galaxy_db, module):
    """community.postgresql#150: state absent failed when the role had been dropped."""
    module(galaxy_db.module_args(grants=TIAAS_GRANTS))
    args = galaxy_db.module_args(roles=[galaxy_db.role, "dropped_long_ago"], grants=TIAAS_GRANTS[2:3], state="absent")
    run = module(args)
    assert not run.failed, run.result
    assert run.result["queries"] == [
        f'REVOKE DELETE ON TABLE "public"."group_role_association" FROM "{galaxy_db.role}"'
    ]
    assert any("dropped_long_ago" in w for w in run.result.get("warnings", []))
    assert ("group_role_association", "DELETE", "NO") not in galaxy_db.privileges()


def test_connection_failure_is_reported(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=TIAAS_GRANTS, login_unix_socket="/nonexistent", connect_timeout=3))
    assert run.failed
    assert f"Unable to connect to database '{galaxy_db.name}' on /nonexistent as 'postgres'" in run.result["msg"]


def test_catalog_read_error_changes_nothing(galaxy_db, module):
    before = galaxy_db.acl_snapshot()
    run = module(
        galaxy_db.module_args(grants=[{"type": "function", "objects": ["f(int int)"], "privileges": ["EXECUTE"]}])
    )
    assert run.failed
    assert "Reading the catalog failed, nothing was changed" in run.result["msg"]
    assert 'invalid type name "int int"' in run.result["msg"]
    assert galaxy_db.acl_snapshot() == before
