"""What each harness stage needs and does: lint/unit/app need no Docker, Molecule's apt archives are seeded per
container from the shared pool even on a scenario's first run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "scripts" / "harness"
ARCHIVES = REPO / "scripts" / "molecule_apt_archives.py"
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def make_dry_run(*targets: str) -> list[str]:
    res = subprocess.run(
        ["make", "-n", "-C", str(REPO), *targets, "SCENARIO=platform"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in res.stdout.splitlines() if "scripts/harness" in line]


@pytest.mark.parametrize("target", ["lint", "sanity", "unit", "app", "build"])
def test_stage_without_docker(target):
    """These targets run the harness's tools stages (preflight host venv) and their own, never docker or image."""
    lines = make_dry_run(target)
    assert lines == [f"scripts/harness tools {target}"], lines


def test_molecule_needs_docker():
    (line,) = make_dry_run("molecule")
    assert line.endswith("scripts/harness setup molecule"), line


def apt_archives(scenario: str, cache: Path) -> list[str]:
    res = subprocess.run(
        [sys.executable, str(ARCHIVES), scenario],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GALAXYOPS_CACHE_DIR": str(cache)},
    )
    return res.stdout.split()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_container_has_its_own_apt_archive(scenario, tmp_path):
    """apt does not wait for another apt's lock: containers of one scenario never share an archive."""
    platforms = (yaml.safe_load((REPO / "molecule" / scenario / "molecule.yml").read_text()) or {}).get("platforms")
    dirs = apt_archives(scenario, tmp_path)
    assert len(dirs) == len(set(dirs)) == len(platforms or [None]), dirs
    top = tmp_path / "apt" / scenario
    for d in dirs:
        # apt/<scenario> for one container, apt/<scenario>/<platform> for each of several
        assert Path(d) == top or (len(dirs) > 1 and Path(d).parent == top), d


@pytest.mark.skipif(os.geteuid() != 0, reason="the harness runs as root")
def test_molecule_stage_seeds_every_archive_on_first_run(tmp_path):
    """A multi-container scenario never run before: each container's archive exists and holds the pool's packages
    before `molecule test` starts, and what a container downloaded goes back to the pool."""
    cache = tmp_path / "cache"
    pool = cache / "apt" / "pool"
    pool.mkdir(parents=True)
    (pool / "cached_1.0_all.deb").write_text("deb")
    # A stand-in venv: the real Python (the harness reads the scenario with it) and a molecule that records what
    # it found and "downloads" one package into the first container's archive.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    seen = tmp_path / "seen.txt"
    molecule = venv / "bin" / "molecule"
    molecule.write_text(
        "#!/bin/sh\n"
        f'find "{cache}/apt/pulsar" -name "*.deb" | sort >"{seen}"\n'
        f'echo new >"{cache}/apt/pulsar/galaxy/downloaded_2.0_all.deb"\n'
    )
    molecule.chmod(0o755)
    res = subprocess.run(
        [str(HARNESS), "molecule"],
        env={
            **os.environ,
            "GALAXYOPS_CACHE_DIR": str(cache),
            "GALAXYOPS_VENV": str(venv),
            "MOLECULE_SCENARIOS": "pulsar",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    found = seen.read_text().split()
    platforms = ("a", "b", "galaxy", "node")
    assert found == sorted(str(cache / "apt" / "pulsar" / p / "cached_1.0_all.deb") for p in platforms)
    assert (pool / "downloaded_2.0_all.deb").read_text() == "new\n"
    assert os.stat(found[0]).st_ino == os.stat(pool / "cached_1.0_all.deb").st_ino  # hard links, not copies
