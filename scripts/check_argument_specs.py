"""Fail when a role's defaults/main.yml and meta/argument_specs.yml disagree.

Every public default must be declared in argument_specs (type, default, description), and every
option declared with a default must exist in defaults/main.yml with the same value.
Prints one line per problem; exit 1 when there is any.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def check_role(role: Path) -> list[str]:
    problems: list[str] = []
    spec_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not spec_file.exists():
        return [f"roles/{role.name}: meta/argument_specs.yml is missing"]
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    specs = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs") or {}
    main = (specs.get("main") or {}).get("options") or {}
    if not specs.get("main"):
        problems.append(f"roles/{role.name}: argument_specs has no 'main' entry point")
    for key in sorted(set(defaults) - set(main)):
        problems.append(f"roles/{role.name}: default '{key}' is not declared in meta/argument_specs.yml")
    for key, opt in sorted(main.items()):
        opt = opt or {}
        if not opt.get("description"):
            problems.append(f"roles/{role.name}: option '{key}' has no description")
        if "default" in opt and key not in defaults:
            problems.append(
                f"roles/{role.name}: option '{key}' has a default in argument_specs but none in defaults/main.yml"
            )
        if key in defaults and "default" in opt and opt["default"] != defaults[key]:
            problems.append(
                f"roles/{role.name}: option '{key}' defaults differ between argument_specs and defaults/main.yml"
            )
        if key in defaults and "default" not in opt and not opt.get("required"):
            problems.append(
                f"roles/{role.name}: option '{key}' is in defaults/main.yml but argument_specs states no default"
            )
    return problems


def main(roles_dir: Path = ROOT / "roles") -> int:
    problems: list[str] = []
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()) if roles_dir.is_dir() else []:
        problems.extend(check_role(role))
    for line in problems:
        print(line)
    if not problems:
        print("argument_specs and defaults agree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "roles"))
