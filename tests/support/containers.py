"""Commands inside the project's own Molecule containers, for tests and benchmarks.

One way to run them: ``docker exec -i`` with an argv (never a shell string built here), input on stdin (so secrets
never reach a command line) and output captured as text. The caller decides what a failure means: tests assert,
benchmarks exit with the message ``failure()`` builds.
"""

from __future__ import annotations

import subprocess


class CommandFailed(RuntimeError):
    """A command in a container exited non-zero; the message is ``failure()``'s."""


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


def psql(container: str, database: str, sql: str, **params: object) -> str:
    """Run SQL as postgres on a database container; its unaligned, tuples-only output, stripped.

    Values go in as psql variables (``-v name=value``, referenced as ``:'name'`` in the SQL, quoted by psql), the SQL
    on stdin: nothing is spliced into the statement. A failure raises CommandFailed with psql's message.
    """
    variables = [arg for name, value in params.items() for arg in ("-v", f"{name}={value}")]
    argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", *variables, "-d", database]
    done = docker_exec(container, argv, stdin=sql + "\n", user="postgres", timeout=120)
    if done.returncode != 0:
        raise CommandFailed(failure(container, argv, done))
    return done.stdout.strip()
