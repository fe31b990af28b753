#!/usr/bin/env python3
"""Fail when check mode on a scenario's converged hosts reports changes.

    python scripts/molecule_check_recap.py LOG

LOG is the output of `molecule test` for one scenario. Molecule runs the `check` action in its test sequence but
does not judge its result: a check run that predicts changes passes. Every `check` action that comes after the
`idempotence` action (check mode on hosts that are already converged) must end with changed=0 on every host of
every PLAY RECAP; a `check` on fresh hosts (before converge) may predict changes. Prints one `error:` line naming
the scenario, the hosts and their changed counts, and exits 1; exits 0 otherwise (also when the log has no such
action).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# "INFO     [gie_proxy > check] Executing" (Molecule 25+); the action name is the part after ">".
_ACTION = re.compile(r"^\S+\s+\[(?P<scenario>[^\]>]+?)\s*>\s*(?P<action>[a-z_]+)\]\s+Executing\s*$")
# A host's line of a PLAY RECAP: the one home of its pattern (scripts/demo_info.py and the benchmarks load it).
RECAP_HOST = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)"
)


def last_recap(lines: list[str]) -> dict[str, tuple[int, int]]:
    """host -> (changed, failed) of the last PLAY RECAP in a playbook's output; empty when there is none."""
    hosts: dict[str, tuple[int, int]] = {}
    for i, line in enumerate(lines):
        if line.startswith("PLAY RECAP"):
            hosts = {}
            for following in lines[i + 1 :]:
                m = RECAP_HOST.match(following)
                if not m:
                    break
                hosts[m["host"]] = (int(m["changed"]), int(m["failed"]))
    return hosts


def changed_in_converged_checks(lines: list[str]) -> tuple[str, list[tuple[str, int]]]:
    """(scenario, [(host, changed)]) for the hosts that changed in check runs after idempotence."""
    scenario, action, converged = "", "", False
    changed: list[tuple[str, int]] = []
    in_recap = False
    for line in lines:
        m = _ACTION.match(line)
        if m:
            scenario, action, in_recap = m["scenario"], m["action"], False
            converged = converged or action == "idempotence"
            continue
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap:
            m = RECAP_HOST.match(line)
            if not m:
                in_recap = False
            elif action == "check" and converged and int(m["changed"]) > 0:
                changed.append((m["host"], int(m["changed"])))
    return scenario, changed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("error: usage: molecule_check_recap.py LOG", file=sys.stderr)
        return 2
    try:
        lines = Path(argv[1]).read_text(errors="replace").splitlines()
    except OSError as exc:
        print(f"error: cannot read the Molecule log {argv[1]}: {exc.strerror}", file=sys.stderr)
        return 2
    scenario, changed = changed_in_converged_checks(lines)
    if changed:
        hosts = ", ".join(f"{host} changed={count}" for host, count in changed)
        print(f"error: check mode on the converged hosts of scenario {scenario} predicts changes: {hosts}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
