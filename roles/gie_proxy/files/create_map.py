"""Create Galaxy's interactive tools session map, unless it exists; runs on the managed host.

    python3 create_map.py DDL_FILE MAP_FILE

The table comes from DDL_FILE (the role's files/gxitproxy.sql, Galaxy's exact DDL) in SQLite's default journal
mode, so readers need no write access. The database is built under a temporary name in the map's directory and
linked into place with os.link, which fails when MAP_FILE exists: a map Galaxy (or anyone) created meanwhile is
never replaced. Prints "created" or "exists".
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path


def create(ddl_file: Path, map_file: Path) -> str:
    if map_file.exists():
        return "exists"
    ddl = ddl_file.read_text()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{map_file.name}.", dir=map_file.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.executescript(ddl)
            con.commit()
        finally:
            con.close()
        try:
            os.link(tmp, map_file)
        except FileExistsError:
            return "exists"
        return "created"
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: create_map.py DDL_FILE MAP_FILE", file=sys.stderr)
        return 2
    print(create(Path(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
