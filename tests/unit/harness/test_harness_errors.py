"""A broken environment gets one clear line from the harness, never a stack trace.

Each case breaks one thing for real (a non-root user, a disk-space floor above what the disk has,
a Docker engine that cannot start, a Debian mirror that does not answer) and runs the real script.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "scripts" / "harness"
BUILD = REPO / "images" / "debian12" / "build.sh"

_CACHE = tempfile.TemporaryDirectory(prefix="galaxyops-cache-")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the harness runs as root")


def run(argv, env=None, user=None, cwd=None, timeout=120):
    # A private cache dir: these runs must not touch the logs and timings of a harness run around them.
    full_env = {**os.environ, "GALAXYOPS_CACHE_DIR": _CACHE.name, **(env or {})}
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def assert_one_clear_line(res, *needles):
    assert res.returncode != 0, res.stdout + res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def harness_copy():
    """The harness in a world-readable tree (pytest's tmp_path is private to root), so another user can run it."""
    top = Path(tempfile.mkdtemp(prefix="galaxyops-harness-"))
    root = top / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(HARNESS, root / "scripts" / "harness")
    for p in [top, root, root / "scripts", root / "scripts" / "harness"]:
        p.chmod(0o755)
    yield root
    shutil.rmtree(top)


def test_not_root(harness_copy):
    res = run([str(harness_copy / "scripts" / "harness"), "preflight"], user="nobody")
    line = assert_one_clear_line(res, "must run as root")
    assert "sudo" in line


def test_no_disk_space():
    res = run([str(HARNESS), "preflight"], env={"GALAXYOPS_MIN_FREE_GB": "100000000"})
    assert_one_clear_line(res, "GB free", "at least 100000000 GB", "free some space")


def test_docker_engine_fails_to_start(tmp_path):
    fake = tmp_path / "dockerd"
    fake.write_text(
        "#!/bin/sh\n"
        'echo \'time="2026-01-01T00:00:00Z" level=fatal msg="failed to start daemon: '
        "Error initializing network controller: iptables failed\"'\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    # A docker CLI whose engine does not answer, so the test needs no Docker installed (and installs none).
    cli = tmp_path / "bin" / "docker"
    cli.parent.mkdir()
    cli.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    cli.chmod(0o755)
    res = run(
        [str(HARNESS), "docker"],
        env={
            "PATH": f"{cli.parent}{os.pathsep}{os.environ['PATH']}",
            "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
            "GALAXYOPS_DOCKERD": str(fake),
            "GALAXYOPS_CACHE_DIR": str(tmp_path / "cache"),
        },
    )
    line = assert_one_clear_line(res, "Docker engine failed to start", "iptables failed", "dockerd.log")
    assert "check that this host allows containers" in line


def test_debootstrap_fails(tmp_path):
    if not shutil.which("debootstrap"):
        pytest.skip("debootstrap is installed by the harness setup stage")
    res = run(
        [str(BUILD), "galaxyops/never-built:test", str(tmp_path)],
        env={"DEBIAN_MIRROR": "http://127.0.0.1:9/debian", "RECIPE_HASH": "test"},
        timeout=300,
    )
    assert_one_clear_line(res, "debootstrap failed", "http://127.0.0.1:9/debian", "reachable")
    if shutil.which("docker"):
        assert run(["docker", "image", "inspect", "galaxyops/never-built:test"]).returncode != 0


def test_unknown_stage():
    res = run([str(HARNESS), "no-such-stage"])
    assert_one_clear_line(res, "unknown stage 'no-such-stage'")


def test_failing_stage_command_names_the_stage(tmp_path):
    """A command failing inside a stage without its own message still gives one line naming the stage."""
    res = run(
        [str(HARNESS), "venv"],
        env={"GALAXYOPS_VENV": "/proc/no-venv-here", "GALAXYOPS_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert_one_clear_line(res, "virtualenv")
