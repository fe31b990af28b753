"""`make demo`, `make demo-down` and the molecule stage around a demo, run for real on a copy of the harness whose
Docker engine and Molecule are stand-ins that record what they are asked (containers appear and disappear as
Molecule's create and destroy would make them)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.checkout import REPO_ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the harness runs as root")

SCRIPTS = ["harness", "molecule_apt_archives.py", "molecule_check_recap.py", "demo_info.py"]
FULL = ("gxops-full-db", "gxops-full-galaxy")

MOLECULE = r"""#!/bin/bash
echo "$*" >>"$FAKE_CALLS"
case $1 in
  create)
    printf '%s\n' gxops-full-db gxops-full-galaxy >"$FAKE_CONTAINERS"
    echo $((1 + $(cat "$FAKE_GENERATION"))) >"$FAKE_GENERATION" ;;
  prepare)
    mkdir -p "$GALAXYOPS_CACHE_DIR/full"
    printf 'galaxy_admin_email: admin@example.org\ngalaxy_admin_password: g-pass\nvault_tiaas_admin_pass: t-pass\n' \
      >"$GALAXYOPS_CACHE_DIR/full/secrets.yml" ;;
  converge)
    echo "PLAY RECAP *****"
    for h in gxops-full-db gxops-full-galaxy; do
      echo "$h : ok=10   changed=$(cat "$FAKE_CHANGED") unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    done
    echo 0 >"$FAKE_CHANGED" ;;
  destroy) : >"$FAKE_CONTAINERS" ;;
  test) echo "$3" >>"$FAKE_ORDER" ;;
esac
"""

DOCKER = r"""#!/bin/bash
case $1 in
  info) echo 27.0 ;;
  ps) [[ "$*" == *status=exited* ]] && exit 0
      # IDs: a new generation of containers (a create) has new ones.
      if [[ "$*" == *.ID* ]]; then sed "s/^/id-$(cat "$FAKE_GENERATION")-/" "$FAKE_CONTAINERS"
      else cat "$FAKE_CONTAINERS"; fi ;;
  *) echo "docker $*" >>"$FAKE_CALLS" ;;
esac
"""


def scenario_yml(name: str) -> str:
    return (
        "platforms:\n"
        + "".join(
            f"  - name: gxops-{name}-{p}\n    volumes:\n"
            f'      - "${{GALAXYOPS_CACHE_DIR}}/apt/{name}/{p}:/var/cache/apt/archives:rw"\n'
            for p in ("a", "b")
        )
        + "  - name: gxops-full-galaxy\n    published_ports: ['8443:443']\n" * (name == "full")
    )


class Checkout:
    """A copy of the harness with scenarios, a stand-in venv (real Python, fake molecule) and a fake docker."""

    def __init__(self, root: Path, scenarios: list[str]):
        self.root = root
        (root / "scripts").mkdir(parents=True)
        for name in SCRIPTS:
            shutil.copy2(REPO_ROOT / "scripts" / name, root / "scripts" / name)
        for name in scenarios:
            (root / "molecule" / name).mkdir(parents=True)
            (root / "molecule" / name / "molecule.yml").write_text(scenario_yml(name))
        self.cache = root / ".cache"
        venv = root / "venv"
        (venv / "bin").mkdir(parents=True)
        # The real venv's Python (demo_info.py needs Django from it).
        python = f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'
        for name, text in (("molecule", MOLECULE), ("docker", DOCKER), ("python", python)):
            (venv / "bin" / name).write_text(text)
            (venv / "bin" / name).chmod(0o755)
        names = ("calls", "ps", "order", "changed", "generation")
        self.calls, self.containers, self.order, self.changed, self.generation = (root / n for n in names)
        for f in (self.calls, self.containers, self.order):
            f.write_text("")
        self.generation.write_text("0\n")
        self.changed.write_text("7\n")
        self.env = {
            **os.environ,
            "GALAXYOPS_CACHE_DIR": str(self.cache),
            "GALAXYOPS_VENV": str(venv),
            "GALAXYOPS_JOBS": "1",
            "FAKE_CALLS": str(self.calls),
            "FAKE_CONTAINERS": str(self.containers),
            "FAKE_ORDER": str(self.order),
            "FAKE_CHANGED": str(self.changed),
            "FAKE_GENERATION": str(self.generation),
        }
        self.env.pop("MOLECULE_SCENARIOS", None)

    def harness(self, *stages: str, **env: str) -> subprocess.CompletedProcess:
        self.calls.write_text("")
        return subprocess.run(
            [str(self.root / "scripts" / "harness"), *stages],
            cwd=self.root, env={**self.env, **env}, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def molecule_calls(self) -> list[str]:
        return [c for c in self.calls.read_text().splitlines() if not c.startswith("docker ")]


@pytest.fixture
def checkout(tmp_path):
    return Checkout(tmp_path / "repo", ["aaa", "full", "pulsar", "tiaas", "zzz"])


def one_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


def test_demo_deploys_then_converges_again_with_no_changes(checkout):
    first = checkout.harness("demo_up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert checkout.molecule_calls() == ["destroy -s full", "create -s full", "prepare -s full", "converge -s full"]
    assert "converge: changed: gxops-full-db changed=7, gxops-full-galaxy changed=7" in first.stdout
    # The URLs and credentials the demo prints.
    assert "https://localhost:8443/tiaas/new/" in first.stdout
    assert "admin@example.org / g-pass" in first.stdout
    assert re.search(r"\[timing\] demo converge: [\d.]+s", first.stdout)

    again = checkout.harness("demo_up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert checkout.molecule_calls() == ["converge -s full"]
    assert "the demo is up (gxops-full-db gxops-full-galaxy): converging again" in again.stdout
    assert "converge: no changes (2 hosts, changed=0)" in again.stdout


def test_demo_leaves_containers_it_did_not_create_alone(checkout):
    checkout.containers.write_text("\n".join(FULL) + "\n")
    line = one_error(checkout.harness("demo_up"))
    assert "this checkout's 'make demo' did not create them" in line and "gxops-full-galaxy" in line
    assert checkout.molecule_calls() == []


def test_demo_leaves_containers_recreated_by_someone_else_alone(checkout):
    """Same names, other containers: a `molecule test -s full` destroyed the demo's and made its own."""
    assert checkout.harness("demo_up").returncode == 0
    checkout.generation.write_text("7\n")
    line = one_error(checkout.harness("demo_up"))
    assert "this checkout's 'make demo' did not create them" in line
    assert checkout.molecule_calls() == []
    assert "would destroy" not in one_error(checkout.harness("molecule"))


def test_demo_down_is_idempotent(checkout):
    assert checkout.harness("demo_up").returncode == 0
    assert (checkout.cache / "full" / "secrets.yml").is_file()
    down = checkout.harness("demo_down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert checkout.molecule_calls() == ["destroy -s full"]
    assert not (checkout.cache / "full").exists()
    assert checkout.containers.read_text() == ""
    again = checkout.harness("demo_down")
    assert again.returncode == 0, again.stdout + again.stderr
    assert checkout.molecule_calls() == []
    assert "no containers of scenario full" in again.stdout
    # And a demo after it starts from scratch.
    assert checkout.harness("demo_up").returncode == 0
    assert checkout.molecule_calls()[0] == "destroy -s full"


def test_make_targets():
    lines = subprocess.run(
        ["make", "-n", "-C", str(REPO_ROOT), "demo", "demo-down"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line for line in lines if "scripts/harness" in line] == [
        "scripts/harness demo",
        "scripts/harness demo-down",
    ]
    # A bare `make` starts no containers: it is `make up`.
    bare = subprocess.run(["make", "-n", "-C", str(REPO_ROOT)], capture_output=True, text=True, check=True).stdout
    assert [line for line in bare.splitlines() if "scripts/harness" in line] == ["scripts/harness up"]


def test_molecule_stage_runs_longest_first(checkout):
    done = checkout.harness("molecule")
    assert done.returncode == 0, done.stdout + done.stderr
    harness = (REPO_ROOT / "scripts" / "harness").read_text()
    longest = re.search(r"^LONGEST_FIRST=\(([^)]*)\)", harness, re.M).group(1).split()
    present = ["aaa", "full", "pulsar", "tiaas", "zzz"]
    expected = [s for s in longest if s in present] + sorted(s for s in present if s not in longest)
    assert checkout.order.read_text().split() == expected == ["full", "pulsar", "tiaas", "aaa", "zzz"]
    # The timing table: one line per scenario.
    for s in present:
        assert re.search(rf"^\[timing\] molecule {s}: [\d.]+s \(passed\)$", done.stdout, re.M), done.stdout


def test_molecule_stage_refuses_while_the_demo_is_up(checkout):
    assert checkout.harness("demo_up").returncode == 0
    line = one_error(checkout.harness("molecule"))
    assert "the demo is up" in line and "make demo-down" in line
    assert checkout.molecule_calls() == [] and checkout.order.read_text() == ""
    # Scenarios other than the demo's still run.
    other = checkout.harness("molecule", MOLECULE_SCENARIOS="pulsar")
    assert other.returncode == 0, other.stdout + other.stderr
    assert checkout.order.read_text().split() == ["pulsar"]
