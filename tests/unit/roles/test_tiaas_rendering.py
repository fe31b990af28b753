"""The tiaas role's settings file, units and exported nginx routes, rendered by Ansible itself.

A tiny playbook loads the role's defaults and vars, applies a test's variables as extra vars, renders the role's
templates into a temporary directory and writes the export. The settings are read back with tomllib and the
database URLs with the service's own parser (tiaas.config.database_from_url), so percent-encoding, socket
directories and Galaxy's prefix are checked as the service will see them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.support.rendering import render_role

TASKS = """
    - ansible.builtin.template: {src: "%(role)s/templates/tiaas.toml.j2", dest: "%(out)s/tiaas.toml", mode: "0600"}
    - ansible.builtin.template:
        {src: "%(role)s/templates/tiaas.service.j2", dest: "%(out)s/tiaas.service", mode: "0600"}
    - ansible.builtin.template: {src: "%(role)s/templates/tiaas.socket.j2", dest: "%(out)s/tiaas.socket", mode: "0600"}
    - ansible.builtin.copy:
        dest: "%(out)s/routes.txt"
        mode: "0600"
        content: "{{ tiaas_nginx_routes }}"
"""
BASE = {
    "tiaas_server_name": "galaxy.example.org",
    "tiaas_secret_key": "k" * 60,
    "tiaas_galaxy_id_secret": "id-secret",
    "tiaas_db_password": "p@ss/w:rd?#%",
}


def render(tmp_path: Path, **variables) -> dict:
    out = render_role(tmp_path, "tiaas", TASKS, {**BASE, **variables})
    return {
        "settings": tomllib.loads((out / "tiaas.toml").read_text()),
        "service": (out / "tiaas.service").read_text(),
        "socket": (out / "tiaas.socket").read_text(),
        "routes": (out / "routes.txt").read_text(),
    }


def database(url: str) -> dict:
    from tiaas.config import database_from_url  # the service's own parser (the app is installed in the venv)

    return database_from_url(url)


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return render(tmp_path_factory.mktemp("default"), tiaas_config={"owner": "Example", "late_request_days": 5})


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory):
    return render(
        tmp_path_factory.mktemp("prefixed"),
        tiaas_galaxy_prefix="/galaxy",
        tiaas_db_host="/var/run/postgresql",
        tiaas_galaxy_db_host="db.example.org",
        tiaas_galaxy_db_user="tiaas_galaxy",
        tiaas_galaxy_db_password="other secret",
        tiaas_socket="127.0.0.1:8010",
        tiaas_config={"allowed_hosts": ["a.example.org", "b.example.org"], "secret_key": "s" * 55},
    )


def test_derived_settings_and_passthrough(default):
    settings = default["settings"]
    assert settings["allowed_hosts"] == ["galaxy.example.org"]
    assert settings["client_address_header"] == "X-Real-IP"
    assert settings["static_root"] == "/opt/tiaas/static"
    assert settings["owner"] == "Example" and settings["late_request_days"] == 5
    assert "join_prefix" not in settings  # the service's own default
    assert "debug" not in settings and "galaxy_max_connections" not in settings  # the role copies no defaults


def test_database_urls_reach_the_service_intact(default, prefixed):
    own = database(default["settings"]["database_url"])
    assert (own["USER"], own["PASSWORD"], own["HOST"], own["PORT"], own["NAME"]) == (
        "tiaas", "p@ss/w:rd?#%", "localhost", "5432", "tiaas",
    )  # fmt: skip
    socket = database(prefixed["settings"]["database_url"])
    assert (socket["HOST"], socket["NAME"], socket["PASSWORD"]) == ("/var/run/postgresql", "tiaas", "p@ss/w:rd?#%")
    galaxy = database(prefixed["settings"]["galaxy_database_url"])
    assert (galaxy["USER"], galaxy["PASSWORD"], galaxy["HOST"], galaxy["NAME"]) == (
        "tiaas_galaxy", "other secret", "db.example.org", "galaxy",
    )  # fmt: skip


def test_tiaas_config_wins(prefixed):
    assert prefixed["settings"]["allowed_hosts"] == ["a.example.org", "b.example.org"]
    assert prefixed["settings"]["secret_key"] == "s" * 55


def test_routes_follow_the_socket_and_galaxy_prefix(default, prefixed):
    assert "location /tiaas/ {" in default["routes"]
    assert "location /tiaas/static/ {" in default["routes"] and "alias /opt/tiaas/static/;" in default["routes"]
    assert "location /join-training/ {" in default["routes"]
    assert "proxy_pass http://unix:/run/tiaas/tiaas.sock:;" in default["routes"]
    assert default["routes"].count("proxy_set_header X-Real-IP $remote_addr;") == 2
    assert prefixed["settings"]["join_prefix"] == "galaxy/join-training/"
    assert "location /galaxy/join-training/ {" in prefixed["routes"]
    assert "proxy_pass http://127.0.0.1:8010;" in prefixed["routes"]


def test_units(default, prefixed):
    assert "SocketGroup=www-data" in default["socket"] and "SocketMode=0660" in default["socket"]
    assert "ListenStream=127.0.0.1:8010" in prefixed["socket"] and "SocketGroup" not in prefixed["socket"]
    service = default["service"]
    assert "Type=notify" in service and "User=tiaas" in service and "ExecReload=/bin/kill -s HUP $MAINPID" in service
    assert "ProtectSystem=strict" in service and "CapabilityBoundingSet=\n" in service
    assert "Environment=DJANGO_SETTINGS_MODULE=tiaas.settings.prod" in service


def test_sqlite_for_small_sites(tmp_path):
    settings = render(tmp_path, tiaas_db_engine="sqlite", tiaas_db_password="")["settings"]
    own = database(settings["database_url"])
    assert own == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/var/lib/tiaas/tiaas.sqlite3"}
