"""Render a role's templates with Ansible itself, for tests that check what a program will read.

A tiny playbook on localhost loads the role's ``defaults/main.yml`` and ``vars/main.yml``, takes the test's
variables as extra vars (so they win, as an operator's inventory would over defaults) and runs the test's own
tasks, which write their results into an output directory. Nothing is mocked: Jinja, Ansible's filters and the
collection's own filter plugins do the rendering.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.checkout import REPO_ROOT

_HEADER = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {file: "%(role)s/defaults/main.yml"}
    - ansible.builtin.include_vars: {file: "%(role)s/vars/main.yml"}
"""


def run_role_tasks(tmp_path: Path, role: str, tasks: str, variables: dict) -> tuple[subprocess.CompletedProcess, Path]:
    """Run ``tasks`` (YAML list items indented four spaces; ``%(role)s``, ``%(root)s`` and ``%(out)s`` are
    the role's path, the checkout and the output directory) after the role's defaults and vars; return Ansible's
    completed process and the output directory, whatever the outcome."""
    role_dir = REPO_ROOT / "roles" / role
    out = tmp_path / "out"
    out.mkdir()
    places = {"role": role_dir, "root": REPO_ROOT, "out": out}
    (tmp_path / "play.yml").write_text((_HEADER + tasks) % places)
    extra = {"role_path": str(role_dir), "ansible_python_interpreter": sys.executable, **variables}
    (tmp_path / "vars.json").write_text(json.dumps(extra))
    res = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'vars.json'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return res, out


def render_role(tmp_path: Path, role: str, tasks: str, variables: dict) -> Path:
    """``run_role_tasks`` that must succeed: the output directory, or the test fails with the end of Ansible's
    output."""
    res, out = run_role_tasks(tmp_path, role, tasks, variables)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return out
