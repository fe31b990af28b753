"""Production settings refuse unsafe configurations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.tests import APP

GOOD = {
    "DJANGO_SETTINGS_MODULE": "tiaas.settings.prod",
    "TIAAS_SECRET_KEY": "k" * 60,
    "TIAAS_GALAXY_ID_SECRET": "a-real-galaxy-id-secret",
    "TIAAS_ALLOWED_HOSTS": "galaxy.example.org",
}


def setup(env: dict[str, str], config: str | None = None, tmp_path: Path | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TIAAS_")}
    full.pop("DJANGO_SETTINGS_MODULE", None)
    full.update(env)
    if config is not None and tmp_path is not None:
        path = tmp_path / "tiaas.toml"
        path.write_text(config)
        full["TIAAS_CONFIG"] = str(path)
    code = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=APP, env=full, capture_output=True, text=True, check=False)


def test_good_production_settings():
    res = setup(GOOD)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False True"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"TIAAS_SECRET_KEY": ""}, "secret_key is empty"),
        ({"TIAAS_SECRET_KEY": "Using the default is bad news bears"}, "published default"),
        ({"TIAAS_SECRET_KEY": "short"}, "too short"),
        ({"TIAAS_DEBUG": "true"}, "DEBUG must be off"),
        ({"TIAAS_GALAXY_ID_SECRET": ""}, "galaxy_id_secret is empty"),
        ({"TIAAS_GALAXY_ID_SECRET": "USING THE DEFAULT IS NOT SECURE!"}, "published default"),
        ({"TIAAS_GALAXY_ID_SECRET": "x" * 57}, "longer than 56"),
        ({"TIAAS_ALLOWED_HOSTS": ""}, "allowed_hosts is empty"),
        ({"TIAAS_JOIN_FLEX_HOURS": "many"}, "expected an integer"),
        ({"TIAAS_GALAXY_MAX_CONNECTIONS": "4", "TIAAS_PROCESSES": "8"}, "below the number of worker processes"),
        ({"TIAAS_GALAXY_MAX_CONNECTIONS": "0"}, "outside 1.."),
        ({"TIAAS_REQUEST_MAX_PER_ADDRESS": "0"}, "outside 1.."),
    ],
)
def test_refuses_unsafe(override, message):
    res = setup({**GOOD, **override})
    assert res.returncode != 0
    assert "ImproperlyConfigured" in res.stderr and message in res.stderr


def test_config_file_and_env_override(tmp_path):
    config = 'secret_key = "' + "f" * 60 + '"\ngalaxy_id_secret = "file-secret"\nallowed_hosts = ["a.example"]\n'
    res = setup({"DJANGO_SETTINGS_MODULE": "tiaas.settings.prod"}, config, tmp_path)
    assert res.returncode == 0, res.stderr
    res = setup({"DJANGO_SETTINGS_MODULE": "tiaas.settings.prod", "TIAAS_DEBUG": "1"}, config, tmp_path)
    assert "DEBUG must be off" in res.stderr


def test_dev_settings_refuse_production_mode():
    res = setup({"DJANGO_SETTINGS_MODULE": "tiaas.settings.dev", "TIAAS_MODE": "production"})
    assert res.returncode != 0 and "tiaas.settings.prod" in res.stderr


def test_database_urls():
    from tiaas.config import database_from_url

    db = database_from_url("postgresql://u%40x:p%2Fw@db.example:6543/galaxy?sslmode=require", statement_timeout_ms=5000)
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u@x",
        "p/w",
        "db.example",
        "6543",
        "galaxy",
    )
    assert db["OPTIONS"] == {"sslmode": "require", "options": "-c statement_timeout=5000"}
    sock = database_from_url("postgresql://tiaas@/galaxy?host=%2Fvar%2Frun%2Fpostgresql")
    assert sock["HOST"] == "/var/run/postgresql"
    assert database_from_url("sqlite:////var/lib/tiaas/db.sqlite3")["NAME"] == "/var/lib/tiaas/db.sqlite3"


def test_the_galaxy_pool_is_the_ceiling_shared_by_the_workers():
    code = (
        "import django; django.setup(); from django.conf import settings;"
        " g = settings.DATABASES['galaxy']; print(g['OPTIONS']['pool']['max_size'], g['CONN_MAX_AGE'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIAAS_")}
    for processes, expected in [("1", "8 0"), ("2", "4 0"), ("3", "2 0"), ("8", "1 0")]:
        full = {**env, **GOOD, "TIAAS_PROCESSES": processes}
        res = subprocess.run(
            [sys.executable, "-c", code], cwd=APP, env=full, capture_output=True, text=True, check=False
        )
        assert res.stdout.strip() == expected, (processes, res.stderr)
