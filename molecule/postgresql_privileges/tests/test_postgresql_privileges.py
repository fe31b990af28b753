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


# --- issue 8: pg_hba order, role attributes, column and foreign-grantor privileges ------------------------------


def hba_line(host, where: str) -> int:
    """Line number of the first pg_hba.conf rule matching a SQL condition on pg_hba_file_rules."""
    value = superuser_query(host, f"SELECT min(line_number) FROM pg_hba_file_rules WHERE error IS NULL AND {where}")
    assert value, f"no pg_hba.conf rule where {where}"
    return int(value)


def test_our_entry_comes_before_the_broad_trust_rule(host):
    ours = hba_line(host, "type = 'host' AND database = '{galaxy}' AND user_name = '{tiaas}'")
    broad = hba_line(host, "type = 'host' AND database = '{all}' AND user_name = '{all}' AND address = '127.0.0.1'")
    method = superuser_query(host, f"SELECT auth_method FROM pg_hba_file_rules WHERE line_number = {broad}")
    assert method == "trust"  # prepare.yml made it so before the role ran
    assert ours < broad


def test_the_broad_trust_rule_does_not_let_a_wrong_password_in(host):
    """If the broad trust line came first, any password (or none) would work for tiaas."""
    wrong = host.run("PGPASSWORD=wrong psql -X -h 127.0.0.1 -U tiaas -d galaxy -c 'SELECT 1'")
    assert wrong.rc != 0
    assert "password authentication failed" in wrong.stderr
    right = host.run(TCP + " -c 'SELECT current_user'")
    assert right.rc == 0, right.stderr


def test_pg_hba_backup_is_kept(host):
    backups = host.run("ls /etc/postgresql/15/main/ | grep -c '^pg_hba.conf\\..*~$'")
    assert int(backups.stdout.strip() or 0) >= 1


@pytest.mark.parametrize("attribute", ["rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls"])
def test_hand_added_role_attributes_are_removed(host, attribute):
    assert superuser_query(host, f"SELECT {attribute} FROM pg_roles WHERE rolname = 'tiaas'") == "f"


def test_hand_granted_column_privileges_are_revoked(host):
    rows = superuser_query(
        host,
        "SELECT count(*) FROM pg_attribute c CROSS JOIN LATERAL aclexplode(c.attacl) a "
        "WHERE c.attrelid = 'galaxy_user'::regclass AND a.grantee = 'tiaas'::regrole",
    )
    assert rows == "0"
    result = host.run(TCP + ' -c "UPDATE galaxy_user SET email = email"')
    assert result.rc != 0
    assert "permission denied" in result.stderr


def test_privilege_from_another_grantor_is_revoked(host):
    """side_effect.yml had side_grantor grant UPDATE on job to tiaas."""
    assert superuser_query(host, "SELECT has_table_privilege('tiaas', 'job', 'UPDATE')") == "f"
    assert superuser_query(host, "SELECT has_table_privilege('tiaas', 'job', 'SELECT')") == "t"
