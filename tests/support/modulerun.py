"""Run galaxyops.infrastructure.postgresql_grants for real, through ``ansible`` ad-hoc against localhost, and read
what it sent to the server from the statement log.

The collection is found through ``<repo>/.cache/collections`` (tests.support.checkout; ``make setup`` links it too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.checkout import COLLECTIONS, REPO_ROOT

VENV_BIN = Path(sys.executable).parent
MODULE = "galaxyops.infrastructure.postgresql_grants"
APPLICATION_NAME = "ansible-galaxyops"  # plugins/module_utils/_postgres.py


@dataclass
class ModuleRun:
    result: dict
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))


DRIVERS = ("psycopg2", "psycopg")


def run_module(
    args: dict,
    check: bool = False,
    diff: bool = False,
    callback: str = "json",
    interpreter: str | None = None,
    environment: dict | None = None,
) -> ModuleRun:
    """Run the module once through ``ansible`` ad-hoc against localhost; return its result."""
    env = dict(os.environ)
    env.update(environment or {})
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK=callback,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=interpreter or sys.executable,
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    cmd = [
        str(VENV_BIN / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        MODULE,
        "-a",
        json.dumps(args),
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=300)
    if callback != "json":
        return ModuleRun(result={"rc": proc.returncode}, stdout=proc.stdout, stderr=proc.stderr)
    try:
        data = json.loads(proc.stdout)
        result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError(f"unreadable ansible output ({exc}):\n{proc.stdout}\n{proc.stderr}") from exc
    return ModuleRun(result=result, stdout=proc.stdout, stderr=proc.stderr)


def log_offset(log: Path) -> int:
    return log.stat().st_size


def module_statements(log: Path, start: int) -> list[str]:
    """Statements the module sent to the server since byte offset ``start`` of the server log."""
    with open(log, encoding="utf-8", errors="replace") as fh:
        fh.seek(start)
        lines = fh.read().splitlines()
    # psycopg2 sends every statement as a simple query ("statement:"); psycopg 3 binds parameters on the
    # server ("execute <unnamed>:"), which it also does for statements without parameters.
    prefixes = (f"{APPLICATION_NAME}:LOG:  statement: ", f"{APPLICATION_NAME}:LOG:  execute <unnamed>: ")
    return [line[len(p) :] for line in lines for p in prefixes if line.startswith(p)]
