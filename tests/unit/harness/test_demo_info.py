"""scripts/demo_info.py: the demo's URLs from the scenario's published ports and the app's URL conf, its credentials
from the generated secrets, and the verdict on a converge's PLAY RECAP."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml

from tests.support.checkout import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "demo_info.py"
_spec = importlib.util.spec_from_file_location("demo_info", SCRIPT)
demo_info = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_info)


def scenario(tmp_path, ports, galaxyservers=None):
    path = tmp_path / "molecule.yml"
    data = {
        "platforms": [{"name": "gxops-full-db"}, {"name": "gxops-full-galaxy", "published_ports": ports}],
        "provisioner": {"inventory": {"group_vars": {"galaxyservers": galaxyservers or {}}}},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def secrets(tmp_path):
    path = tmp_path / "secrets.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "galaxy_admin_email": "admin@example.org",
                "galaxy_admin_password": "g-pass",
                "vault_tiaas_admin_pass": "t-pass",
            }
        )
    )
    return path


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False, env=env
    )


@pytest.mark.parametrize(
    ("ports", "url"),
    [
        (["8443:443", "8080:80"], "https://localhost:8443"),
        (["0.0.0.0:9443:443/tcp"], "https://localhost:9443"),
        (["127.0.0.1:8443:443"], "https://localhost:8443"),
        (["[::1]:8443:443"], "https://localhost:8443"),
        (["10.0.0.5:8443:443"], "https://10.0.0.5:8443"),
        (["[2001:db8::5]:8443:443"], "https://[2001:db8::5]:8443"),
        (["8080:80"], "http://localhost:8080"),
        (["443:443"], "https://localhost"),
        (["8443:443/udp", "8080:80"], "http://localhost:8080"),
    ],
)
def test_base_url_from_published_ports(ports, url):
    data = {"platforms": [{"name": "gxops-full-galaxy", "published_ports": ports}]}
    assert demo_info.galaxy_base_url(data) == url


def test_no_published_port_is_one_clear_error(tmp_path):
    done = run("--scenario", scenario(tmp_path, ["443"]), "--secrets", secrets(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("error: gxops-full-galaxy") and "published_ports" in done.stderr
    assert "Traceback" not in done.stderr


def test_ports_interpolated_as_molecule_does(tmp_path, monkeypatch):
    path = scenario(tmp_path, ["${DEMO_TEST_PORT:-8443}:443"])
    assert demo_info.galaxy_base_url(demo_info.load_scenario(path, {})) == "https://localhost:8443"
    assert (
        demo_info.galaxy_base_url(demo_info.load_scenario(path, {"DEMO_TEST_PORT": "7443"})) == "https://localhost:7443"
    )


def test_urls_and_credentials_json(tmp_path):
    done = run("--json", "--scenario", scenario(tmp_path, ["8443:443"], {"tiaas_admin_user": "boss"}),
               "--secrets", secrets(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    # The paths the app's URL conf gives with its default prefixes.
    assert info["urls"] == {
        "Galaxy": "https://localhost:8443/",
        "TIaaS: request a training": "https://localhost:8443/tiaas/new/",
        "TIaaS: admin": "https://localhost:8443/tiaas/admin/training/training/",
        "TIaaS: stats": "https://localhost:8443/tiaas/stats/",
        "TIaaS: calendar": "https://localhost:8443/tiaas/calendar/",
    }
    assert info["join_url"] == "https://localhost:8443/join-training/IDENTIFIER/"
    assert info["credentials"] == {
        "Galaxy admin": {"user": "admin@example.org", "password": "g-pass"},
        "TIaaS admin": {"user": "boss", "password": "t-pass"},
    }


def test_prefixes_the_scenario_sets_move_the_tiaas_urls(tmp_path):
    path = scenario(tmp_path, ["8443:443"], {"tiaas_config": {"url_prefix": "/training/", "join_prefix": "join/"}})
    info = json.loads(run("--json", "--scenario", path, "--secrets", secrets(tmp_path)).stdout)
    assert info["urls"]["TIaaS: stats"] == "https://localhost:8443/training/stats/"
    assert info["join_url"] == "https://localhost:8443/join/IDENTIFIER/"


def test_printed_for_people(tmp_path):
    done = run("--scenario", scenario(tmp_path, ["8443:443"]), "--secrets", secrets(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "https://localhost:8443/tiaas/calendar/" in done.stdout
    assert "admin@example.org / g-pass" in done.stdout
    # The reference group_vars name the TIaaS admin when the scenario does not.
    assert "admin / t-pass" in done.stdout


def test_missing_secrets_say_what_to_do(tmp_path):
    done = run("--scenario", scenario(tmp_path, ["8443:443"]), "--secrets", tmp_path / "none.yml")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'none.yml'} is missing: the demo's prepare generates it; run 'make demo'"
    ]


RECAP = """\
PLAY RECAP *********************************************************************
gxops-full-db              : ok=40   changed={db}    unreachable=0    failed=0    skipped=9    rescued=0    ignored=0
gxops-full-galaxy          : ok=120  changed={galaxy} unreachable=0    failed=0    skipped=30   rescued=0    ignored=0

Tuesday 01 December 2026  03:00:00 +0000 (0:00:01.000)       0:01:10.000 ******
"""


@pytest.mark.parametrize(
    ("db", "galaxy", "verdict"),
    [
        (0, 0, "converge: no changes (2 hosts, changed=0)"),
        (0, 3, "converge: changed: gxops-full-galaxy changed=3"),
        (2, 5, "converge: changed: gxops-full-db changed=2, gxops-full-galaxy changed=5"),
    ],
)
def test_recap_verdict(tmp_path, db, galaxy, verdict):
    log = tmp_path / "converge.log"
    # An earlier playbook's recap (e.g. a prepare in the same log) does not count: the last one does.
    log.write_text(RECAP.format(db=9, galaxy=9) + "TASK [x]\n" + RECAP.format(db=db, galaxy=galaxy))
    done = run("--recap", log)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == verdict


def test_recap_missing_is_an_error(tmp_path):
    log = tmp_path / "converge.log"
    log.write_text("ERROR! the playbook could not be found\n")
    done = run("--recap", log)
    assert done.returncode == 1 and done.stderr.startswith("error:") and "no PLAY RECAP" in done.stderr


def test_variables_from_the_scenarios_linked_inventory(tmp_path):
    """A scenario that links its group_vars directory (as `full` does): files in Ansible's order, molecule.yml last."""
    top = tmp_path / "inventory" / "group_vars"
    (top / "galaxyservers").mkdir(parents=True)
    (top / "all.yml").write_text("tiaas_admin_user: from-all\n")
    (top / "galaxyservers" / "10-reference.yml").write_text("tiaas_admin_user: reference\ntiaas_config: {}\n")
    (top / "galaxyservers" / "20-scenario.yml").write_text("tiaas_config: {url_prefix: courses/}\n")
    path = tmp_path / "molecule.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "platforms": [{"name": "gxops-full-galaxy", "published_ports": ["127.0.0.1:8443:443"]}],
                "provisioner": {"inventory": {"links": {"group_vars": "inventory/group_vars/"}}},
            }
        )
    )
    info = json.loads(run("--json", "--scenario", path, "--secrets", secrets(tmp_path)).stdout)
    assert info["urls"]["TIaaS: calendar"] == "https://localhost:8443/courses/calendar/"
    assert info["credentials"]["TIaaS admin"]["user"] == "reference"
