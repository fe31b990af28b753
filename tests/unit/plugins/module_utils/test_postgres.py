"""Unit tests for plugins/module_utils/_postgres.py (connection options)."""

from __future__ import annotations

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
        ({"login_host": "10.0.0.1", "port": 6432}, {"host": "10.0.0.1", "port": 6432}),
        ({"login_password": "s3cret"}, {"password": "s3cret"}),
        ({"ca_cert": "/ca.pem", "ssl_mode": "verify-full"}, {"sslrootcert": "/ca.pem", "sslmode": "verify-full"}),
        ({"ssl_cert": "/c.pem", "ssl_key": "/k.pem"}, {"sslcert": "/c.pem", "sslkey": "/k.pem"}),
        (
            {"login_db": "galaxy", "login_user": "admin", "connect_timeout": 5},
            {"dbname": "galaxy", "user": "admin", "connect_timeout": 5},
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
