"""Remove Pulsar job directories under staging_directory not touched for N days, except active jobs.

A job is active while Pulsar lists it in <persistence_directory>/<manager>-{preprocessing,active,postprocessing}-jobs/;
those directories are never removed, however old. Prints what it removed; `--dry-run` only prints.
Installed by the galaxyops.infrastructure.pulsar role; run by <service>-staging-cleanup.timer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

ACTIVE_SUFFIXES = ("-preprocessing-jobs", "-active-jobs", "-postprocessing-jobs")


def active_job_ids(persistence_directory: Path) -> set[str]:
    ids: set[str] = set()
    if not persistence_directory.is_dir():
        return ids
    for entry in persistence_directory.iterdir():
        if entry.is_dir() and entry.name.endswith(ACTIVE_SUFFIXES):
            ids.update(child.name for child in entry.iterdir())
    return ids


def newest_mtime(path: Path) -> float:
    """The latest modification below path (a job still writing output is not old)."""
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except OSError:
                continue
    return newest


def stale_job_dirs(staging: Path, persistence: Path, max_age_days: float, now: float | None = None) -> list[Path]:
    now = time.time() if now is None else now
    limit = now - max_age_days * 86400
    active = active_job_ids(persistence)
    stale = []
    for entry in sorted(staging.iterdir()) if staging.is_dir() else []:
        if entry.is_symlink() or not entry.is_dir() or entry.name in active:
            continue
        if newest_mtime(entry) < limit:
            stale.append(entry)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-yml", required=True)
    parser.add_argument("--max-age-days", type=float, required=True)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.max_age_days <= 0:
        print("error: --max-age-days must be positive", file=sys.stderr)
        return 2
    with open(args.app_yml, encoding="utf-8") as handle:
        conf = yaml.safe_load(handle) or {}
    staging = Path(conf["staging_directory"])
    persistence = Path(conf["persistence_directory"])
    stale = stale_job_dirs(staging, persistence, args.max_age_days)
    failures = 0
    for path in stale:
        print(("would remove " if args.dry_run else "removing ") + str(path))
        if not args.dry_run:
            try:
                shutil.rmtree(path)
            except OSError as exc:
                failures += 1
                print(f"error: could not remove {path}: {exc.strerror or exc} ({exc.filename})", file=sys.stderr)
    print(f"{len(stale)} stale job director{'y' if len(stale) == 1 else 'ies'} under {staging}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
