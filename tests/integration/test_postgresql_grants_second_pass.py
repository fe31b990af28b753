"""Integration tests for the second pass of postgresql_grants (issue 8): one test per row of the issue's table,
and the smaller promises (wrong kinds, schema in names, the advisory lock, the connection options).

Each runs once per driver (psycopg2 and psycopg 3, the ``module`` fixture) against a real PostgreSQL holding
Galaxy's schema, and checks the catalog, including ``pg_attribute.attacl`` for column privileges.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import errors

from tests.support.modulerun import REPO_ROOT, log_offset, module_statements, run_module

LOCK_KEY = int.from_bytes(b"gxopsGRA", "big")  # plugins/module_utils/_pggrants.py, restated on purpose


def column_acl(db, table: str, role: str) -> set[tuple[str, str, str, str]]:
    """(column, privilege, grantor, grantable) the role holds on columns of ``table``, from pg_attribute.attacl."""
    rows = db.execute(
        """
        SELECT c.attname, a.privilege_type, pg_get_userbyid(a.grantor), a.is_grantable::text
          FROM pg_attribute c CROSS JOIN LATERAL aclexplode(c.attacl) a
         WHERE c.attrelid = %s::regclass AND c.attnum > 0 AND a.grantee = %s::regrole
        """,
        (table, role),
    )
    return {tuple(r) for r in rows}


def table_acl(db, table: str, role: str) -> set[tuple[str, str, str]]:
    """(privilege, grantor, grantable) the role holds on ``table`` itself, per grantor."""
    rows = db.execute(
        "SELECT a.privilege_type, pg_get_userbyid(a.grantor), a.is_grantable::text FROM pg_class c"
        " CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = %s::regclass AND a.grantee = %s::regrole",
        (table, role),
    )
    return {tuple(r) for r in rows}


def create_role(db, name: str, *grants: str) -> str:
    db.pg.execute("postgres", f'CREATE ROLE "{name}" LOGIN')
    for statement in grants:
        db.execute(statement)
    return name


@pytest.fixture
def extra_roles(galaxy_db):
    """Roles a test creates beside the fixture's; dropped (with what they own or hold) afterwards."""
    made: list[str] = []
    yield made
    if made:
        # Privileges granted onwards by a non-owner survive DROP OWNED BY their grantee; cascade from the grantors.
        everyone = ", ".join(f'"{r}"' for r in [*made, galaxy_db.role])
        galaxy_db.execute(f"DROP OWNED BY {everyone} CASCADE")
    for role in made:
        galaxy_db.pg.execute("postgres", f'DROP ROLE IF EXISTS "{role}"')


# --- row 1: exact revokes column privileges ------------------------------------------------------------


def test_exact_revokes_hand_granted_column_privileges(galaxy_db, module):
    role = galaxy_db.role
    galaxy_db.execute(f'GRANT UPDATE (email) ON galaxy_user TO "{role}"')
    galaxy_db.execute(f'GRANT SELECT (id, email) ON galaxy_user TO "{role}"')
    grants = [{"objects": ["galaxy_user"], "privileges": ["SELECT"]}]

    run = module(galaxy_db.module_args(grants=grants, state="exact"), diff=True)
    assert not run.failed, run.result
    assert run.changed
    assert run.result["queries"] == [
        f'REVOKE SELECT ("email", "id"), UPDATE ("email") ON TABLE "public"."galaxy_user" FROM "{role}"',
        f'GRANT SELECT ON TABLE "public"."galaxy_user" TO "{role}"',
    ]
    assert run.result["diff"]["before"][role]["table public.galaxy_user"] == [
        "SELECT (email)",
        "SELECT (id)",
        "UPDATE (email)",
    ]
    assert run.result["diff"]["after"][role]["table public.galaxy_user"] == ["SELECT"]
    assert column_acl(galaxy_db, "galaxy_user", role) == set()
    assert table_acl(galaxy_db, "galaxy_user", role) == {("SELECT", "galaxy", "false")}
    conn = galaxy_db.connect_as()
    with conn.cursor() as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("UPDATE galaxy_user SET email = 'x@example.org'")
    conn.close()
    assert module(galaxy_db.module_args(grants=grants, state="exact")).changed is False


def test_absent_revokes_the_privilege_on_columns_too_and_present_leaves_them(galaxy_db, module):
    role = galaxy_db.role
    galaxy_db.execute(f'GRANT UPDATE (email, username) ON galaxy_user TO "{role}"')
    galaxy_db.execute(f'GRANT SELECT (email) ON galaxy_user TO "{role}"')
    update = [{"objects": ["galaxy_user"], "privileges": ["UPDATE"]}]
    assert module(galaxy_db.module_args(grants=[{"objects": ["galaxy_user"], "privileges": ["SELECT"]}])).changed
    assert len(column_acl(galaxy_db, "galaxy_user", role)) == 3  # present does not touch column privileges

    run = module(galaxy_db.module_args(grants=update, state="absent"))
    assert not run.failed, run.result
    assert run.result["queries"] == [
        f'REVOKE UPDATE ("email", "username") ON TABLE "public"."galaxy_user" FROM "{role}"'
    ]
    assert column_acl(galaxy_db, "galaxy_user", role) == {("email", "SELECT", "galaxy", "false")}
    assert module(galaxy_db.module_args(grants=update, state="absent")).changed is False


# --- row 2: a grant PostgreSQL would only warn about is an error -----------------------------------------


def test_grant_without_grant_option_is_an_error_not_a_change(galaxy_db, module, extra_roles):
    login = create_role(galaxy_db, f"{galaxy_db.role}_login")
    extra_roles.append(login)
    galaxy_db.execute(f'GRANT SELECT ON job TO "{login}"')  # without grant option
    before = galaxy_db.acl_snapshot()
    args = galaxy_db.module_args(grants=[{"objects": ["job"], "privileges": ["SELECT"]}], login_user=login)
    for _ in range(2):
        offset = log_offset(galaxy_db.pg.log)
        run = module(args)
        assert run.failed
        assert run.changed is False
        assert run.result["queries"] == []
        assert (
            f"cannot grant SELECT on table public.job to {galaxy_db.role}: the executing role '{login}' is not a "
            "superuser, does not own it ('galaxy' does) and does not hold SELECT on it WITH GRANT OPTION"
        ) in run.result["msg"]
        assert galaxy_db.acl_snapshot() == before
        assert table_acl(galaxy_db, "job", galaxy_db.role) == set()
        sent = module_statements(galaxy_db.pg.log, offset)
        assert not [s for s in sent if s.startswith("GRANT")], sent


# --- row 3: a function whose signature cannot be resolved yet is missing ----------------------------------


def function_acl(db, name: str, role: str) -> list[str]:
    rows = db.execute(
        "SELECT a.privilege_type FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a"
        " WHERE p.proname = %s AND a.grantee = %s::regrole",
        (name, role),
    )
    return [r[0] for r in rows]


def test_function_with_an_argument_type_not_created_yet_is_missing(galaxy_db, module):
    grants = [
        {"type": "function", "objects": ["tiaas_stats(later_type)"], "privileges": ["EXECUTE"]},
        {"objects": ["job"], "privileges": ["SELECT"]},
    ]
    skip = module(galaxy_db.module_args(grants=grants, missing="skip"))
    assert not skip.failed, skip.result
    assert skip.result["missing"] == [
        "function public.tiaas_stats(later_type) (argument type later_type does not exist)"
    ]
    assert any("tiaas_stats(later_type)" in w for w in skip.result.get("warnings", []))
    assert table_acl(galaxy_db, "job", galaxy_db.role) == {("SELECT", "galaxy", "false")}

    fail = module(galaxy_db.module_args(grants=grants, missing="fail"))
    assert fail.failed
    assert "1 object(s) do not exist, nothing was changed" in fail.result["msg"]
    assert "argument type later_type does not exist" in fail.result["msg"]

    def galaxy_creates_type_and_function():
        time.sleep(3)
        galaxy_db.execute(
            "CREATE TYPE later_type AS (n int);"
            "CREATE FUNCTION tiaas_stats(later_type) RETURNS int LANGUAGE sql AS 'SELECT 1';"
            "ALTER FUNCTION tiaas_stats(later_type) OWNER TO galaxy; ALTER TYPE later_type OWNER TO galaxy"
        )

    creator = threading.Thread(target=galaxy_creates_type_and_function)
    creator.start()
    wait = module(galaxy_db.module_args(grants=grants, missing="wait", missing_timeout=60))
    creator.join()
    assert not wait.failed, wait.result
    assert wait.result["queries"] == [
        f'GRANT EXECUTE ON FUNCTION "public"."tiaas_stats"(later_type) TO "{galaxy_db.role}"'
    ]
    assert function_acl(galaxy_db, "tiaas_stats", galaxy_db.role) == ["EXECUTE"]


# --- row 4: a failed run reports no change and no applied queries -----------------------------------------


def test_failure_after_statements_ran_reports_nothing_applied(galaxy_db, module, extra_roles):
    """REVOKE GRANT OPTION fails on dependent privileges after another statement already ran."""
    role = galaxy_db.role
    first = create_role(galaxy_db, f"a{role}", f'GRANT SELECT ON galaxy_user TO "a{role}" WITH GRANT OPTION')
    downstream = create_role(galaxy_db, f"{role}_down")
    extra_roles.extend([first, downstream])
    galaxy_db.execute(f'GRANT SELECT ON job TO "{role}" WITH GRANT OPTION')
    galaxy_db.execute(f'SET ROLE "{role}"; GRANT SELECT ON job TO "{downstream}"')
    before = galaxy_db.acl_snapshot()

    run = module(
        galaxy_db.module_args(
            roles=[first, role], grants=[{"objects": ["galaxy_user", "job"], "privileges": ["SELECT"]}], state="exact"
        )
    )
    assert run.failed
    assert run.changed is False
    assert run.result["queries"] == []
    assert run.result["rolled_back"] == [
        f'REVOKE GRANT OPTION FOR SELECT ON TABLE "public"."galaxy_user" FROM "{first}"',
        f'REVOKE GRANT OPTION FOR SELECT ON TABLE "public"."job" FROM "{role}"',
    ]
    assert "every change was rolled back" in run.result["msg"]
    assert "dependent privileges exist" in run.result["msg"]
    assert galaxy_db.acl_snapshot() == before
    assert table_acl(galaxy_db, "galaxy_user", first) == {("SELECT", "galaxy", "true")}


# --- row 5: privileges from another grantor -----------------------------------------------------------


def grant_as(db, grantor: str, statement: str) -> None:
    db.execute(f'SET ROLE "{grantor}"; {statement}')


def test_exact_revokes_a_privilege_from_another_grantor_as_that_grantor(galaxy_db, module, extra_roles):
    role = galaxy_db.role
    grantor = create_role(
        galaxy_db, f"{role}_grantor", f'GRANT UPDATE ON galaxy_user TO "{role}_grantor" WITH GRANT OPTION'
    )
    extra_roles.append(grantor)
    grant_as(galaxy_db, grantor, f'GRANT UPDATE ON galaxy_user TO "{role}"')
    assert table_acl(galaxy_db, "galaxy_user", role) == {("UPDATE", grantor, "false")}
    grants = [{"objects": ["galaxy_user"], "privileges": ["SELECT"]}]

    run = module(galaxy_db.module_args(grants=grants, state="exact"), diff=True)
    assert not run.failed, run.result
    assert run.result["queries"] == [
        f'SET ROLE "{grantor}"',
        f'REVOKE UPDATE ON TABLE "public"."galaxy_user" FROM "{role}"',
        'SET ROLE "postgres"',
        f'GRANT SELECT ON TABLE "public"."galaxy_user" TO "{role}"',
    ]
    assert table_acl(galaxy_db, "galaxy_user", role) == {("SELECT", "galaxy", "false")}
    assert table_acl(galaxy_db, "galaxy_user", grantor) == {("UPDATE", "galaxy", "true")}  # the grantor keeps its own
    again = module(galaxy_db.module_args(grants=grants, state="exact"))
    assert again.changed is False
    assert again.result["queries"] == []


def test_a_grantor_the_login_role_cannot_act_as_is_named_and_nothing_changes(galaxy_db, module, extra_roles):
    role = galaxy_db.role
    grantor = create_role(
        galaxy_db, f"{role}_grantor", f'GRANT UPDATE ON galaxy_user TO "{role}_grantor" WITH GRANT OPTION'
    )
    extra_roles.append(grantor)
    grant_as(galaxy_db, grantor, f'GRANT UPDATE ON galaxy_user TO "{role}"')
    before = galaxy_db.acl_snapshot()
    args = galaxy_db.module_args(
        grants=[{"objects": ["galaxy_user"], "privileges": ["SELECT"]}], state="exact", login_user="galaxy"
    )
    for check in (True, False):
        run = module(args, check=check)
        assert run.failed
        assert run.changed is False
        assert (
            f"cannot revoke UPDATE on table public.galaxy_user from {role}: it was granted by '{grantor}'"
            in run.result["msg"]
        )
        assert f"the session user 'galaxy' may not SET ROLE '{grantor}'" in run.result["msg"]
        assert galaxy_db.acl_snapshot() == before


def test_column_privilege_from_another_grantor_is_revoked_too(galaxy_db, module, extra_roles):
    role = galaxy_db.role
    grantor = create_role(
        galaxy_db, f"{role}_grantor", f'GRANT UPDATE (email) ON galaxy_user TO "{role}_grantor" WITH GRANT OPTION'
    )
    extra_roles.append(grantor)
    grant_as(galaxy_db, grantor, f'GRANT UPDATE (email) ON galaxy_user TO "{role}"')
    run = module(galaxy_db.module_args(grants=[{"objects": ["galaxy_user"], "privileges": []}], state="exact"))
    assert not run.failed, run.result
    assert column_acl(galaxy_db, "galaxy_user", role) == set()
    assert (
        module(galaxy_db.module_args(grants=[{"objects": ["galaxy_user"], "privileges": []}], state="exact")).changed
        is False
    )


# --- row 6: the Python versions ansible-core 2.17 supports on targets ------------------------------------------


def old_interpreters() -> list[str]:
    """Python 3.8 to 3.10 interpreters on this machine (ansible-core 2.19, the controller here, supports 3.8+)."""
    found = []
    for version in ("3.8", "3.9", "3.10"):
        candidates = [shutil.which(f"python{version}") or ""]
        candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
        for path in candidates:
            if path and subprocess.run([path, "-c", "pass"], capture_output=True, check=False).returncode == 0:
                found.append(path)
                break
    return found


def target_venv(python: str) -> str:
    """A venv for ``python`` with psycopg2 (from PyPI, cached in .cache/targets); skip when none can be had."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    venv = REPO_ROOT / ".cache" / "targets" / f"py{version}"
    interpreter = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        made = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True, check=False)
        pip = subprocess.run(
            [str(interpreter), "-m", "pip", "install", "-q", "psycopg2-binary"],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode or pip.returncode:
            pytest.skip(f"no psycopg2 for Python {version}: {made.stderr[-300:]} {pip.stderr[-300:]}")
        (venv / ".ready").write_text("ok\n")
    return str(interpreter)


@pytest.mark.parametrize("python", old_interpreters() or [None], ids=lambda p: Path(p).name if p else "none")
def test_module_runs_on_older_target_pythons(galaxy_db, python):
    if python is None:
        pytest.skip("no Python 3.8-3.10 on this machine (the sanity compile test and tests/unit cover the syntax)")
    interpreter = target_venv(python)
    role = galaxy_db.role
    galaxy_db.execute(f'GRANT UPDATE (email) ON galaxy_user TO "{role}"')
    args = galaxy_db.module_args(
        driver="psycopg2", grants=[{"objects": ["galaxy_user", "job"], "privileges": ["SELECT"]}], state="exact"
    )
    run = run_module(args, interpreter=interpreter, diff=True)
    assert not run.failed, run.result
    assert run.changed
    assert column_acl(galaxy_db, "galaxy_user", role) == set()
    assert galaxy_db.privileges() == {("galaxy_user", "SELECT", "NO"), ("job", "SELECT", "NO")}
    assert run_module(args, interpreter=interpreter).changed is False


# --- wrong names: kinds, schema in the name, missing_timeout ----------------------------------------------------


@pytest.mark.parametrize(
    ("grants", "extra", "message"),
    [
        (
            [{"objects": ["role_id_seq"], "privileges": ["SELECT"]}],
            {"missing": "skip"},
            "table public.role_id_seq is a sequence, not a table: list it under type: sequence",
        ),
        (
            [{"type": "sequence", "objects": ["job"], "privileges": ["SELECT"]}],
            {"missing": "wait"},
            "sequence public.job is a table, not a sequence: list it under type: table",
        ),
        (
            [{"objects": ["public.job"], "privileges": ["SELECT"]}],
            {"missing": "wait"},
            "table public.public.job does not exist; object names do not include their schema: "
            "write objects: [job] with schema: public",
        ),
        (
            [{"objects": ["job_state_history_pkey"], "privileges": ["SELECT"]}],
            {"missing": "skip"},
            "table public.job_state_history_pkey is a index: privileges cannot be granted on it",
        ),
        (
            [{"objects": ["job"], "privileges": ["SELECT"]}],
            {"missing_timeout": -1},
            "missing_timeout must be 0 or more",
        ),
    ],
    ids=["sequence-as-table", "table-as-sequence", "schema-in-name", "index", "negative-timeout"],
)
def test_wrong_names_fail_in_every_missing_mode(galaxy_db, module, grants, extra, message):
    before = galaxy_db.acl_snapshot()
    started = time.monotonic()
    run = module(galaxy_db.module_args(grants=grants, **extra))
    assert run.failed
    assert message in run.result["msg"]
    assert time.monotonic() - started < 30  # "wait" does not wait for a mistake
    assert galaxy_db.acl_snapshot() == before


def test_missing_dotted_name_gets_the_schema_hint(galaxy_db, module):
    run = module(galaxy_db.module_args(grants=[{"objects": ["public.no_such"], "privileges": ["SELECT"]}]))
    assert run.failed
    assert (
        "table public.public.no_such (object names do not include their schema: write objects: [no_such] "
        "with schema: public)" in run.result["msg"]
    )


# --- the advisory lock ------------------------------------------------------------------------------------------


def test_concurrent_runs_serialise_on_the_advisory_lock(galaxy_db, module, extra_roles):
    """Another run holds the lock mid-write (its GRANT on job not committed): ours waits, then converges."""
    other = create_role(galaxy_db, f"{galaxy_db.role}_other")
    extra_roles.append(other)
    holder = galaxy_db.connect_as("postgres", autocommit=False)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur.execute(f'GRANT SELECT ON job TO "{other}"')
    results: dict = {}
    worker = threading.Thread(
        target=lambda: results.update(
            run=module(galaxy_db.module_args(grants=[{"objects": ["job", "galaxy_user"], "privileges": ["SELECT"]}]))
        )
    )
    worker.start()
    time.sleep(4)
    assert worker.is_alive(), results  # waiting for the lock, not failing on "tuple concurrently updated"
    holder.commit()
    holder.close()
    worker.join(timeout=120)
    run = results["run"]
    assert not run.failed, run.result
    assert galaxy_db.privileges() == {("job", "SELECT", "NO"), ("galaxy_user", "SELECT", "NO")}
    assert galaxy_db.privileges(other) == {("job", "SELECT", "NO")}


# --- one connection spec --------------------------------------------------------------------------------------


def test_pg_environment_login_port_session_role_and_connect_params(galaxy_db, module):
    args = {
        "login_db": galaxy_db.name,
        "roles": [galaxy_db.role],
        "session_role": "galaxy",
        "connect_params": {"options": "-c statement_timeout=10000"},
        "grants": [{"objects": ["job"], "privileges": ["SELECT"]}],
    }
    env = {"PGHOST": str(galaxy_db.pg.cluster.socketdir), "PGPORT": str(galaxy_db.pg.cluster.port)}
    run = module(args, environment=env)
    assert not run.failed, run.result
    # Granted as the session role (the owner), not as the superuser that logged in.
    assert table_acl(galaxy_db, "job", galaxy_db.role) == {("SELECT", "galaxy", "false")}
    wrong_port = module({**args, "login_port": 1}, environment=env)
    assert wrong_port.failed
    assert "Unable to connect" in wrong_port.result["msg"]
    bad_role = module({**args, "session_role": "no_such_role"}, environment=env)
    assert bad_role.failed
    assert "Could not switch to session_role 'no_such_role'" in bad_role.result["msg"]


def test_password_in_connect_params_is_not_echoed(galaxy_db, module):
    run = module(
        galaxy_db.module_args(
            connect_params={"password": "s3cret-in-params"}, grants=[{"objects": ["job"], "privileges": ["SELECT"]}]
        ),
        callback="default",
    )
    assert "s3cret-in-params" not in run.stdout + run.stderr


def test_driver_is_reported_and_unknown_driver_refused(galaxy_db, driver):
    run = run_module(galaxy_db.module_args(driver=driver, grants=[{"objects": ["job"], "privileges": ["SELECT"]}]))
    assert run.result["driver"].startswith(driver + " ")
    bad = run_module(galaxy_db.module_args(driver="pg8000", grants=[{"objects": ["job"], "privileges": ["SELECT"]}]))
    assert bad.failed
    assert "driver" in bad.result["msg"]


def test_tiaas_denied_without_grants_still(galaxy_db):
    conn = galaxy_db.connect_as()
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("SELECT 1 FROM galaxy_user")
    conn.close()
