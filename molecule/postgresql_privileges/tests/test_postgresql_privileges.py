"""Observable state after the postgresql_privileges role: roles, pg_hba.conf and effective privileges."""

from __future__ import annotations

import pytest

PASSWORD = "molecule-tiaas-secret"  # molecule.yml group_vars
TCP = f"PGPASSWORD={PASSWORD} psql -X -A -t -h 127.0.0.1 -U tiaas -d galaxy -v ON_ERROR_STOP=1"


def superuser_query(host, query: str) -> str:
    with host.sudo("postgres"):
        result = host.run("psql -X -A -t -d galaxy -c %s", query)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_is_running(host):
    assert host.service("postgresql").is_running
    assert host.socket("tcp://127.0.0.1:5432").is_listening


def test_tiaas_role_exists_with_scram_password(host):
    assert superuser_query(host, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tiaas'") == "t"
    verifier = superuser_query(host, "SELECT rolpassword FROM pg_authid WHERE rolname = 'tiaas'")
    assert verifier.startswith("SCRAM-SHA-256$")


def test_pg_hba_has_scram_entry(host):
    rules = superuser_query(
        host,
        "SELECT type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') "
        "|| ' ' || coalesce(address, '') || ' ' || auth_method FROM pg_hba_file_rules WHERE error IS NULL",
    )
    assert "host galaxy tiaas 127.0.0.1 scram-sha-256" in rules.splitlines()
    assert "local galaxy galaxy_reports  peer" in rules.splitlines()


def test_tiaas_logs_in_over_tcp_with_password(host):
    result = host.run(TCP + " -c 'SELECT current_user'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "tiaas"


def test_tiaas_wrong_password_is_refused(host):
    result = host.run("PGPASSWORD=wrong psql -X -h 127.0.0.1 -U tiaas -d galaxy -c 'SELECT 1'")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


@pytest.mark.parametrize(
    "table", ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"]
)
def test_tiaas_can_select(host, table):
    result = host.run(TCP + f" -c 'SELECT count(*) FROM {table}'")
    assert result.rc == 0, result.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE galaxy_user SET username = username",
        "DELETE FROM role",
        "SELECT count(*) FROM user_role_association",
    ],
)
def test_tiaas_is_denied_outside_its_grants(host, statement):
    result = host.run(TCP + f" -c '{statement}'")
    assert result.rc != 0
    assert "permission denied" in result.stderr


def test_peer_role_reads_job_only(host):
    with host.sudo("galaxy_reports"):
        allowed = host.run("psql -X -d galaxy -c 'SELECT count(*) FROM job'")
        denied = host.run("psql -X -d galaxy -c 'SELECT count(*) FROM galaxy_user'")
    assert allowed.rc == 0, allowed.stderr
    assert denied.rc != 0
    assert "permission denied" in denied.stderr
