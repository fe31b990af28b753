"""Unit tests for plugins/module_utils/_postgres.py (connection options, driver choice)."""

from __future__ import annotations

import sys
from unittest import mock

import pytest
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _postgres


def params(**overrides):
    base = {name: spec.get("default") for name, spec in _postgres.postgres_common_argument_spec().items()}
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {}),
        ({"login_unix_socket": "/run/pg"}, {"host": "/run/pg"}),
        ({"login_unix_socket": "/run/pg", "login_host": "localhost"}, {"host": "/run/pg"}),
        ({"login_unix_socket": "/run/pg", "login_host": "db.example.org"}, {"host": "db.example.org"}),
        ({"login_host": "10.0.0.1", "login_port": 6432}, {"host": "10.0.0.1", "port": 6432}),
        ({"login_password": "s3cret"}, {"password": "s3cret"}),
        ({"ca_cert": "/ca.pem", "ssl_mode": "verify-full"}, {"sslrootcert": "/ca.pem", "sslmode": "verify-full"}),
        ({"ssl_cert": "/c.pem", "ssl_key": "/k.pem"}, {"sslcert": "/c.pem", "sslkey": "/k.pem"}),
        (
            {"login_db": "galaxy", "login_user": "admin", "connect_timeout": 5},
            {"dbname": "galaxy", "user": "admin", "connect_timeout": 5},
        ),
        # connect_params come last and win
        (
            {"connect_params": {"options": "-c statement_timeout=1000", "sslmode": "require"}},
            {"options": "-c statement_timeout=1000", "sslmode": "require"},
        ),
    ],
)
def test_connection_kwargs(overrides, expected):
    kwargs = _postgres.connection_kwargs(params(**overrides))
    defaults = {
        "dbname": "postgres",
        "user": "postgres",
        "port": 5432,
        "sslmode": "prefer",
        "connect_timeout": 30,
        "application_name": _postgres.APPLICATION_NAME,
    }
    assert kwargs == {**defaults, **expected}


def test_password_option_is_no_log():
    assert _postgres.postgres_common_argument_spec()["login_password"]["no_log"] is True


def test_port_is_login_port_with_an_alias():
    spec = _postgres.postgres_common_argument_spec()
    assert "port" not in spec
    assert spec["login_port"]["aliases"] == ["port"]
    assert spec["ca_cert"]["aliases"] == ["ssl_rootcert"]


def test_pg_environment_gives_the_defaults(monkeypatch):
    for name, value in {"PGUSER": "galaxy", "PGPORT": "6432", "PGDATABASE": "gx", "PGSSLMODE": "require"}.items():
        monkeypatch.setenv(name, value)
    spec = _postgres.postgres_common_argument_spec()
    assert spec["login_user"]["default"] == "galaxy"
    assert spec["login_port"]["default"] == "6432"  # converted (and checked) by Ansible's type check
    assert spec["login_db"]["default"] == "gx"
    assert spec["ssl_mode"]["default"] == "require"
    # Host and password stay empty, so libpq reads PGHOST, PGPASSWORD and PGPASSFILE itself.
    assert spec["login_host"]["default"] == ""
    assert spec["login_password"]["default"] == ""


def test_without_pg_environment_the_defaults_are_community_postgresql_s(monkeypatch):
    for name in ("PGUSER", "PGPORT", "PGDATABASE", "PGSSLMODE"):
        monkeypatch.delenv(name, raising=False)
    spec = _postgres.postgres_common_argument_spec()
    assert [spec[k]["default"] for k in ("login_user", "login_port", "login_db", "ssl_mode")] == [
        "postgres",
        5432,
        "postgres",
        "prefer",
    ]


@pytest.mark.parametrize(
    ("text", "version"),
    [("2.9.10 (dt dec pq3 ext lo64)", (2, 9, 10)), ("3.1.7", (3, 1, 7)), ("3.2.0.dev1", (3, 2, 0)), ("x", ())],
)
def test_version(text, version):
    assert _postgres._version(text) == version


def test_auto_prefers_psycopg2_and_falls_back_to_psycopg(monkeypatch):
    assert _postgres.load_driver("auto").name == "psycopg2"
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import fails
    driver = _postgres.load_driver("auto")
    assert driver.name == "psycopg"
    assert driver.sql.__name__ == "psycopg.sql"


def test_no_driver_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(_postgres.DriverError) as err:
        _postgres.load_driver("auto")
    assert "psycopg2 2.7+ (python3-psycopg2) or psycopg 3.1+ (python3-psycopg)" in str(err.value)


def test_too_old_driver_is_refused():
    import psycopg2

    too_old = mock.patch.object(psycopg2, "__version__", "2.6.2 (dt dec pq3 ext)")
    with too_old, pytest.raises(_postgres.DriverError, match=r"psycopg2 2.6.2 is too old: psycopg2 2.7 or later"):
        _postgres.load_driver("psycopg2")
