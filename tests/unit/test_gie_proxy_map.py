"""The role's map creation (files/create_map.py, run on the host) with the DDL's one home, files/gxitproxy.sql."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.checkout import REPO_ROOT

FILES = REPO_ROOT / "roles" / "gie_proxy" / "files"


def create(map_file: Path) -> str:
    res = subprocess.run(
        [sys.executable, str(FILES / "create_map.py"), str(FILES / "gxitproxy.sql"), str(map_file)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return res.stdout.strip()


def test_creates_galaxys_table_in_the_default_journal_mode(tmp_path):
    map_file = tmp_path / "interactivetools_map.sqlite"
    assert create(map_file) == "created"
    con = sqlite3.connect(map_file)
    try:
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE name = 'gxitproxy'").fetchone()
        (mode,) = con.execute("PRAGMA journal_mode").fetchone()
    finally:
        con.close()
    ddl = (FILES / "gxitproxy.sql").read_text()
    assert sql in ddl
    assert mode == "delete"
    assert [p.name for p in tmp_path.iterdir()] == [map_file.name]  # no temporary file left behind


def test_never_touches_an_existing_map(tmp_path):
    map_file = tmp_path / "interactivetools_map.sqlite"
    create(map_file)
    con = sqlite3.connect(map_file)
    with con:
        con.execute("INSERT INTO gxitproxy VALUES ('k', 'interactivetoolentrypoint', 't', '127.0.0.1', 9100, NULL)")
    con.close()
    before = map_file.read_bytes()
    assert create(map_file) == "exists"
    assert map_file.read_bytes() == before
