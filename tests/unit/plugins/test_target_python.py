"""The modules run on the target, whose Python ansible-core decides: 3.7 and later for ansible-core 2.17,
the oldest release meta/runtime.yml allows. Annotations are not evaluated (every file has
``from __future__ import annotations``), so ``dict[str, int]`` in them is fine. vermin reads the code
(syntax, standard library, keyword arguments such as ``zip(strict=...)``) and reports the oldest Python
that can run it.

tests/integration/test_postgresql_grants_second_pass.py also runs the module on Python 3.8-3.10 when the
machine has them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
VERMIN = str(Path(sys.executable).parent / "vermin")
# Oldest target Python of each ansible-core release (its support matrix).
TARGET_PYTHON = {"2.17": "3.7", "2.18": "3.8", "2.19": "3.8", "2.20": "3.9"}


def oldest_target_python() -> str:
    requires = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    return TARGET_PYTHON[requires.lstrip(">=").rsplit(".", 1)[0]]


def test_plugins_run_on_the_oldest_target_python():
    target = oldest_target_python()
    assert target == "3.7"
    proc = subprocess.run(
        [
            VERMIN,
            "--no-tips",
            "--violations",
            f"--target={target}-",
            str(REPO_ROOT / "plugins"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vermin_catches_what_broke_python_3_9(tmp_path):
    """The issue's row 6: zip(strict=True) needs Python 3.10; the check above must see such a call."""
    sample = tmp_path / "sample.py"
    sample.write_text("pairs = list(zip([1], [2], strict=True))\n")
    proc = subprocess.run(
        [VERMIN, "--no-tips", "--violations", "--target=3.7-", str(sample)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "zip(strict)" in proc.stdout
