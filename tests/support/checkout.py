"""The checkout, and the collection link that makes it ``galaxyops.infrastructure`` for Ansible and for Python.

The checkout is the collection: Ansible finds it through
``<repo>/.cache/collections/ansible_collections/galaxyops/infrastructure``, a relative link to the repository root.
``scripts/harness venv`` creates the link; ``ensure_collection_link()`` creates it when a test or benchmark runs
without the harness.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "galaxyops" / "infrastructure"


def ensure_collection_link() -> Path:
    """Create the link to the checkout if it is missing; return the collections dir (ANSIBLE_COLLECTIONS_PATH)."""
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        if LINK.is_symlink():  # dangling: the checkout moved
            LINK.unlink()
        os.symlink(os.path.relpath(REPO_ROOT, LINK.parent), LINK, target_is_directory=True)
    return COLLECTIONS


def install_collection_loader() -> None:
    """Make ``ansible_collections.galaxyops.infrastructure`` importable in this process.

    Through ansible-core's own collection loader, rooted at the link, the way ``ansible-test units`` does it (so
    ``sys.path`` is not edited and module_utils resolve exactly as they do when Ansible runs the module).
    """
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    ensure_collection_link()
    _AnsibleCollectionFinder(paths=[str(COLLECTIONS)], scan_sys_paths=False)._install()
