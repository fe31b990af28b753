#!/usr/bin/env python3
"""Print the host directories a Molecule scenario mounts as apt archives, one per line.

    python scripts/molecule_apt_archives.py SCENARIO

The harness creates each of them and seeds it from the shared pool (hard links) before `molecule test`, and merges
new packages back after it, so even a first run of a scenario with several containers starts from the pool. A
scenario with one container mounts `${GALAXYOPS_CACHE_DIR}/apt/<scenario>` (.config/molecule/config.yml); one with
several mounts `${GALAXYOPS_CACHE_DIR}/apt/<scenario>/<platform>` per container (apt does not wait for another apt's
lock on a shared archive). The directories are read from the scenario's platforms (or the base's, when the scenario
keeps them), with `${VAR}` and `${VAR:-default}` interpolated as Molecule does.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / ".config" / "molecule" / "config.yml"
ARCHIVES = "/var/cache/apt/archives"
_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(3)
        default = m.group(2)
        value = env.get(name, "")
        return value if value or default is None else default

    return _VAR.sub(sub, text)


def archives(scenario_dir: Path, env: dict[str, str]) -> list[str]:
    env = {**env, "MOLECULE_SCENARIO_NAME": scenario_dir.name}
    scenario = yaml.safe_load(interpolate((scenario_dir / "molecule.yml").read_text(), env)) or {}
    name = (scenario.get("scenario") or {}).get("name")
    if name and name != scenario_dir.name:
        env["MOLECULE_SCENARIO_NAME"] = name
        scenario = yaml.safe_load(interpolate((scenario_dir / "molecule.yml").read_text(), env)) or {}
    platforms = scenario.get("platforms")
    if platforms is None:
        platforms = (yaml.safe_load(interpolate(BASE.read_text(), env)) or {}).get("platforms") or []
    dirs = []
    for platform in platforms:
        for volume in platform.get("volumes") or []:
            parts = volume.split(":")
            if len(parts) >= 2 and parts[1].rstrip("/") == ARCHIVES and parts[0] not in dirs:
                dirs.append(parts[0])
    return dirs


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: molecule_apt_archives.py SCENARIO", file=sys.stderr)
        return 2
    scenario_dir = ROOT / "molecule" / argv[0]
    if not (scenario_dir / "molecule.yml").is_file():
        print(f"error: no Molecule scenario {argv[0]!r} (no {scenario_dir}/molecule.yml)", file=sys.stderr)
        return 1
    try:
        dirs = archives(scenario_dir, dict(os.environ))
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        print(f"error: cannot read the platforms of molecule/{argv[0]}/molecule.yml: {exc}", file=sys.stderr)
        return 1
    print("\n".join(dirs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
