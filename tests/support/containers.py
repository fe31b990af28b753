"""Commands inside the project's own Molecule containers, for tests and benchmarks.

One way to run them: ``docker exec -i`` with an argv (never a shell string built here), input on stdin (so secrets
never reach a command line) and output captured as text. The caller decides what a failure means: tests assert,
benchmarks exit with the message ``failure()`` builds.
"""

from __future__ import annotations

import subprocess


def docker_exec(
    container: str, argv: list[str], stdin: str = "", user: str = "root", timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``argv`` in ``container`` as ``user``; the completed process, whatever its exit status."""
    return subprocess.run(
        ["docker", "exec", "-i", "-u", user, container, *argv],
        input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def bash(container: str, script: str, stdin: str = "", user: str = "root", timeout: float = 600):
    """``docker_exec`` of a bash script (the script is the project's own text, never user input)."""
    return docker_exec(container, ["bash", "-c", script], stdin=stdin, user=user, timeout=timeout)


def failure(container: str, argv: list[str], done: subprocess.CompletedProcess) -> str:
    """One message for a failed command: where, what (its first words) and the end of its error output."""
    return f"error: {' '.join(argv)[:80]} on {container} failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}"
