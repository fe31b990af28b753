"""Galaxy's interactive tools session map, written exactly as Galaxy writes it (stdlib only).

Galaxy (``lib/galaxy/managers/interactivetool.py``) keeps one row per entry point in table ``gxitproxy`` of an
SQLite file: per save it creates the table if missing, deletes by (``key``, ``key_type``), inserts, and commits, in
one transaction on its own connection; stopping a tool deletes the row. ``key`` and ``token`` are lowercase base36
(``key``: the entry point's encoded id, at most 16 characters; ``token``: 64 random bits, at most 13 characters),
never containing ``-`` or ``.``; ``key_type`` is ``interactivetoolentrypoint``; ``info`` is the JSON text of
``{"requires_path_in_url": bool, "requires_path_in_header_named": str | null}`` (``json.dumps`` defaults).

The table's DDL has one home, ``roles/gie_proxy/files/gxitproxy.sql``; this module reads it from there, or from a
``gxitproxy.sql`` next to this file (how the Molecule scenario copies both into a container), or from ``--ddl``.

As a library (tests, bench)::

    from tests.support import gxit_map
    key, token = gxit_map.new_key(), gxit_map.new_token()
    gxit_map.upsert("/srv/galaxy/var/interactivetools_map.sqlite", key, token, "127.0.0.1", 9100)

As a script, inside a container as the galaxy user (the token is read from stdin, never from the command line)::

    echo "$TOKEN" | python3 gxit_map.py --map MAP upsert KEY HOST PORT [--path-in-url] [--header NAME]
    python3 gxit_map.py --map MAP upsert --new-token KEY HOST PORT   # a fresh token, printed on stdout
    python3 gxit_map.py --map MAP delete KEY
    python3 gxit_map.py new-key | new-token       # identifiers in Galaxy's formats
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
import sys
from pathlib import Path

KEY_TYPE = "interactivetoolentrypoint"
_DDL_NAME = "gxitproxy.sql"
_HERE = Path(__file__).resolve().parent
_DDL_PLACES = (_HERE.parents[1] / "roles" / "gie_proxy" / "files" / _DDL_NAME, _HERE / _DDL_NAME)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def ddl(path: str | Path | None = None) -> str:
    """The CREATE TABLE statement from its one home (or the given file), comments dropped."""
    for place in [Path(path)] if path else _DDL_PLACES:
        if place.is_file():
            lines = [line for line in place.read_text().splitlines() if not line.lstrip().startswith("--")]
            return "\n".join(lines).strip()
    raise FileNotFoundError(f"{_DDL_NAME} not found (looked in {', '.join(map(str, _DDL_PLACES))})")


def base36(number: int) -> str:
    """Lowercase base36, as Galaxy encodes keys and tokens."""
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def new_token() -> str:
    """A token as Galaxy makes one: 64 random bits in base36 (at most 13 characters)."""
    return base36(secrets.randbits(64))


def new_key() -> str:
    """A key in Galaxy's format: an encoded entry point id is one 64-bit Blowfish block, in base36.

    A random 64-bit block has the same form (the cipher's output is what Galaxy stores); no Galaxy secret is needed.
    """
    return base36(secrets.randbits(64))


def info_json(requires_path_in_url: bool = False, requires_path_in_header_named: str | None = None) -> str:
    """The ``info`` column as Galaxy writes it."""
    info = {"requires_path_in_url": bool(requires_path_in_url)}
    info["requires_path_in_header_named"] = requires_path_in_header_named
    return json.dumps(info)


def _connect(path: str | Path) -> sqlite3.Connection:
    # Autocommit off at the driver level: the transaction is opened and committed explicitly, as SQLAlchemy does.
    return sqlite3.connect(str(path), timeout=10, isolation_level=None)


def create(path: str | Path, ddl_path: str | Path | None = None) -> None:
    """Create the table if missing (Galaxy does this before every save; the role before the proxy starts)."""
    statement = ddl(ddl_path).rstrip(";").replace("CREATE TABLE gxitproxy", "CREATE TABLE IF NOT EXISTS gxitproxy", 1)
    with _closing(_connect(path)) as conn:
        conn.execute(statement)


def upsert(
    path: str | Path,
    key: str,
    token: str,
    host: str,
    port: int,
    requires_path_in_url: bool = False,
    requires_path_in_header_named: str | None = None,
    ddl_path: str | Path | None = None,
) -> None:
    """Delete by (key, key_type), insert, commit: one transaction on a fresh connection, as Galaxy saves."""
    create(path, ddl_path)
    info = info_json(requires_path_in_url, requires_path_in_header_named)
    with _closing(_connect(path)) as conn:
        conn.execute("BEGIN")
        try:
            conn.execute("DELETE FROM gxitproxy WHERE key = ? AND key_type = ?", (key, KEY_TYPE))
            conn.execute(
                "INSERT INTO gxitproxy (key, key_type, token, host, port, info) VALUES (?, ?, ?, ?, ?, ?)",
                (key, KEY_TYPE, token, host, int(port), info),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def delete(path: str | Path, key: str) -> int:
    """Delete the row of an entry point, as Galaxy does when the tool stops; returns the number of rows deleted."""
    with _closing(_connect(path)) as conn:
        conn.execute("BEGIN")
        count = conn.execute("DELETE FROM gxitproxy WHERE key = ? AND key_type = ?", (key, KEY_TYPE)).rowcount
        conn.execute("COMMIT")
        return count


def rows(path: str | Path) -> list[tuple]:
    """Every row, as the proxies read them."""
    with _closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT key, key_type, token, host, port, info FROM gxitproxy").fetchall()


class _closing:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", help="the sqlite map file")
    parser.add_argument("--ddl", help=f"the {_DDL_NAME} to read (default: its home, or the one next to this file)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upsert", help="save an entry point (the token is read from stdin)")
    up.add_argument("key")
    up.add_argument("host")
    up.add_argument("port", type=int)
    up.add_argument("--path-in-url", action="store_true", help="requires_path_in_url: true")
    up.add_argument("--header", default=None, help="requires_path_in_header_named")
    up.add_argument("--new-token", action="store_true", help="make a token in Galaxy's format and print it")
    rm = sub.add_parser("delete", help="remove an entry point")
    rm.add_argument("key")
    sub.add_parser("new-key", help="print a key in Galaxy's format")
    sub.add_parser("new-token", help="print a token in Galaxy's format")
    args = parser.parse_args(argv)

    if args.command == "new-key":
        print(new_key())
        return 0
    if args.command == "new-token":
        print(new_token())
        return 0
    if not args.map:
        parser.error(f"{args.command} needs --map")
    if args.command == "upsert":
        token = new_token() if args.new_token else sys.stdin.readline().strip()
        if not token:
            parser.error("upsert reads the token from stdin (or makes one with --new-token); none given")
        upsert(args.map, args.key, token, args.host, args.port, args.path_in_url, args.header, args.ddl)
        if args.new_token:
            print(token)
    elif args.command == "delete":
        delete(args.map, args.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
