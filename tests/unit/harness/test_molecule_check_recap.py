"""Check mode on converged hosts must predict no change: scripts/molecule_check_recap.py judges a Molecule log."""

from __future__ import annotations

import subprocess
import sys

from tests.support.checkout import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "molecule_check_recap.py"


def recap(changed: dict[str, int]) -> str:
    hosts = "\n".join(
        f"{host:27}: ok=30   changed={count:<4} unreachable=0    failed=0    skipped=5    rescued=0    ignored=0"
        for host, count in changed.items()
    )
    return f"PLAY RECAP *********************************************************************\n{hosts}\n\n"


def log(*steps: tuple[str, dict[str, int]]) -> str:
    return "".join(f"INFO     [demo > {action}] Executing\n...\n{recap(changed)}" for action, changed in steps)


def judge(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "molecule-demo.log"
    path.write_text(text)
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True)


def test_changes_predicted_on_fresh_hosts_are_fine(tmp_path):
    text = log(("check", {"a": 12}), ("converge", {"a": 30}), ("idempotence", {"a": 0}), ("check", {"a": 0}))
    done = judge(tmp_path, text)
    assert done.returncode == 0, done.stdout


def test_a_change_predicted_on_converged_hosts_fails_with_one_line(tmp_path):
    text = log(("check", {"a": 12}), ("converge", {"a": 30}), ("idempotence", {"a": 0, "b": 0}),
               ("check", {"a": 0, "b": 3}), ("side_effect", {"a": 4}))  # fmt: skip
    done = judge(tmp_path, text)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "error: check mode on the converged hosts of scenario demo predicts changes: b changed=3"
    ]


def test_side_effects_after_the_check_are_not_judged(tmp_path):
    text = log(("converge", {"a": 30}), ("idempotence", {"a": 0}), ("side_effect", {"a": 4}), ("verify", {}))
    assert judge(tmp_path, text).returncode == 0


def test_an_unreadable_log_is_one_error_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "missing.log")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot read the Molecule log")
    assert "Traceback" not in done.stderr
