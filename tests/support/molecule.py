"""Running Molecule from a benchmark or a tool outside the harness, with the harness's environment.

``scripts/harness molecule`` exports the cache, collection and colour settings; ``molecule_env(scenario)`` gives
the same to a subprocess and creates the scenario's apt archives (``scripts/molecule_apt_archives.py`` names them),
so a first run outside the harness finds them as the harness would leave them. ``molecule_step`` runs one step
(its output in ``.cache/logs``) and times it; ``recap_changed`` and ``playbook_seconds`` read what a converge
printed (the changed count per host, the playbook's own time).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.support.checkout import REPO_ROOT


def molecule_env(scenario: str) -> dict[str, str]:
    """The environment for ``molecule <step> -s <scenario>`` run from the checkout's root."""
    env = dict(os.environ)
    cache = Path(env.get("GALAXYOPS_CACHE_DIR", REPO_ROOT / ".cache"))
    env.update(
        PATH=f"{REPO_ROOT / '.venv' / 'bin'}:{env['PATH']}",
        GALAXYOPS_CACHE_DIR=str(cache),
        ANSIBLE_COLLECTIONS_PATH=str(cache / "collections"),
        MOLECULE_GLOB="molecule/*/molecule.yml",
        NO_COLOR="1",
        PY_COLORS="0",
        ANSIBLE_NOCOLOR="1",
    )
    listed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "molecule_apt_archives.py"), scenario],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    for directory in listed.stdout.split():
        (Path(directory) / "partial").mkdir(parents=True, exist_ok=True)
    return env


def molecule_step(scenario: str, step: str, log_name: str) -> tuple[float, str]:
    """Run ``molecule <step> -s <scenario>``; (wall seconds, its output), the output also in
    ``.cache/logs/<log_name>-<step>.log``. A failed step exits the process with one ``error:`` line naming the log
    (for benchmarks and tools, not tests)."""
    log = REPO_ROOT / ".cache" / "logs" / f"{log_name}-{step}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    res = subprocess.run(
        ["molecule", step, "-s", scenario], cwd=REPO_ROOT, env=molecule_env(scenario),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    log.write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        sys.exit(f"error: molecule {step} -s {scenario} failed after {seconds:.0f}s (see {log})")
    print(f"[timing] molecule {step}: {seconds:.0f}s", flush=True)
    return seconds, res.stdout + res.stderr


@functools.cache
def _check_recap():
    """scripts/molecule_check_recap.py, the home of the PLAY RECAP pattern (scripts/ is not a package)."""
    path = REPO_ROOT / "scripts" / "molecule_check_recap.py"
    spec = importlib.util.spec_from_file_location("molecule_check_recap", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recap_changed(output: str) -> dict[str, int]:
    """changed= per host of the last PLAY RECAP in ``output``."""
    return {host: changed for host, (changed, _) in _check_recap().last_recap(output.splitlines()).items()}


def playbook_seconds(output: str) -> float:
    """The playbook's own elapsed time (the profile_tasks callback's last timestamp line); 0 when absent."""
    stamps = re.findall(r"\(\d+:\d+:[\d.]+\)\s+(\d+):(\d+):([\d.]+)", output)
    if not stamps:
        return 0.0
    h, m, s = stamps[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)
