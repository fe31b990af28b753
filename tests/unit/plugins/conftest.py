"""Make ``ansible_collections.galaxyops.infrastructure`` importable from this checkout.

The collection is reached through ``<repo>/.cache/collections/ansible_collections/galaxyops/infrastructure``,
a link to the repository root (created here if missing), and ``<repo>/.cache/collections`` goes first on sys.path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO_ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "galaxyops" / "infrastructure"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(REPO_ROOT, LINK.parent), LINK, target_is_directory=True)

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
