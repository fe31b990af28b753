"""Role READMEs with a variable table carry exactly the table argument_specs generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("role_variables_table", REPO / "scripts" / "role_variables_table.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


def test_readme_tables_are_current():
    assert tables.main(["--check"]) == 0, "run: .venv/bin/python scripts/role_variables_table.py"


def test_every_option_is_in_the_table():
    for role in ("pulsar", "rabbitmq_pulsar"):
        text = (REPO / "roles" / role / "README.md").read_text()
        assert tables.BEGIN in text
        for line in tables.table(REPO / "roles" / role).splitlines()[2:]:
            assert line in text
