"""Write (or check) the variable table of a role's README from its meta/argument_specs.yml.

The table sits between `<!-- BEGIN VARIABLES -->` and `<!-- END VARIABLES -->` in roles/<role>/README.md;
READMEs without the markers are left alone. argument_specs is the one home of defaults and descriptions.

    python scripts/role_variables_table.py            # rewrite the tables
    python scripts/role_variables_table.py --check    # exit 1 when a table is out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN VARIABLES -->", "<!-- END VARIABLES -->"


def cell_default(value: object) -> str:
    if isinstance(value, str):
        return "(derived, see defaults/main.yml)" if "{{" in value else f"`{value}`" if value else '`""`'
    text = json.dumps(value)
    return "see defaults/main.yml" if len(text) > 40 else f"`{text}`"


def cell_text(description: object) -> str:
    text = " ".join(description) if isinstance(description, list) else str(description)
    text = re.sub(r"\b[COVI]\(([^)]*)\)", r"`\1`", text.replace("\n", " "))
    return text.replace("|", "\\|")


def table(role: Path) -> str:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    rows = ["| Variable | Default | Description |", "|---|---|---|"]
    for name, option in spec.items():
        default = cell_default(option["default"]) if "default" in option else "(required)"
        rows.append(f"| `{name}` | {default} | {cell_text(option.get('description', ''))} |")
    return "\n".join(rows)


def render(readme_text: str, role: Path) -> str:
    head, rest = readme_text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(role)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for readme in sorted((ROOT / "roles").glob("*/README.md")):
        text = readme.read_text()
        if BEGIN not in text or END not in text:
            continue
        new = render(text, readme.parent)
        if new != text:
            stale.append(readme.relative_to(ROOT))
            if not check:
                readme.write_text(new)
    for path in stale:
        print(f"{path}: variable table {'out of date' if check else 'rewritten'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
