"""Pack the collection's TIaaS service (apps/tiaas) into a reproducible source archive, on the Ansible controller.

    python tiaas_bundle.py APP_DIR OUT_DIR

Writes OUT_DIR/galaxyops-tiaas-<sha256>.tar.gz (an sdist-shaped archive pip can install) and prints JSON
``{"path": ..., "sha256": ...}``. The archive depends only on the files' paths, contents and executable bits (fixed
order, owner, time and gzip header), so the same collection version gives the same bytes, and the role's copy
task changes nothing on a re-run. Tests, benchmarks and local build or run artefacts are left out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

TOP = "galaxyops-tiaas"
# 2020-01-01: zip (wheel) timestamps cannot be older than 1980.
MTIME = 1577836800
SKIP_DIRS = {"tests", "bench", "build", "dist", "staticfiles", "test-artifacts", "__pycache__", "node_modules"}
SKIP_FILES = {"conftest.py", "db.sqlite3"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".sqlite3", ".log")


def files(app: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(app):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info") and not d.startswith(".")
        )
        for name in sorted(names):
            if name in SKIP_FILES or name.endswith(SKIP_SUFFIXES) or name.startswith("."):
                continue
            found.append(Path(root, name))
    return sorted(found, key=lambda p: p.relative_to(app).as_posix())


def archive(app: Path) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files(app):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{TOP}/{path.relative_to(app).as_posix()}")
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=6) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    app, out = Path(argv[1]).resolve(), Path(argv[2])
    if not (app / "pyproject.toml").is_file():
        print(f"error: {app} is not the TIaaS service (no pyproject.toml)", file=sys.stderr)
        return 1
    data = archive(app)
    digest = hashlib.sha256(data).hexdigest()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = out / f"{TOP}-{digest[:16]}.tar.gz"
    if not target.exists():
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(target)
    print(json.dumps({"path": str(target), "sha256": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
