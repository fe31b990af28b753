"""The lint step that keeps every role's defaults and argument_specs in step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "check_argument_specs.py"


def make_role(tmp_path: Path, defaults: dict | None, options: dict | None) -> Path:
    role = tmp_path / "roles" / "demo"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    if defaults is not None:
        (role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    if options is not None:
        specs = {"argument_specs": {"main": {"short_description": "demo", "options": options}}}
        (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(specs))
    return tmp_path / "roles"


def run(roles_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(roles_dir)], capture_output=True, text=True, check=False)


def test_agreeing_role_passes(tmp_path):
    roles = make_role(
        tmp_path, {"demo_port": 80}, {"demo_port": {"type": "int", "default": 80, "description": "Port."}}
    )
    res = run(roles)
    assert res.returncode == 0, res.stdout
    assert "agree" in res.stdout


@pytest.mark.parametrize(
    ("defaults", "options", "expected"),
    [
        ({"demo_port": 80}, {}, "default 'demo_port' is not declared"),
        ({}, {"demo_port": {"type": "int", "default": 80, "description": "Port."}}, "none in defaults/main.yml"),
        ({"demo_port": 80}, {"demo_port": {"type": "int", "default": 81, "description": "Port."}}, "defaults differ"),
        ({"demo_port": 80}, {"demo_port": {"type": "int", "description": "Port."}}, "states no default"),
        ({"demo_port": 80}, {"demo_port": {"type": "int", "default": 80}}, "has no description"),
        ({"demo_port": 80}, None, "meta/argument_specs.yml is missing"),
    ],
)
def test_disagreement_is_named(tmp_path, defaults, options, expected):
    res = run(make_role(tmp_path, defaults, options))
    assert res.returncode == 1
    assert expected in res.stdout
    assert "roles/demo" in res.stdout
