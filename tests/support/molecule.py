"""Running Molecule from a benchmark or a tool outside the harness, with the harness's environment.

``scripts/harness molecule`` exports the cache, collection and colour settings; ``molecule_env(scenario)`` gives
the same to a subprocess and creates the scenario's apt archives (``scripts/molecule_apt_archives.py`` names them),
so a first run outside the harness finds them as the harness would leave them.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
