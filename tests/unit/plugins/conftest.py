"""Make ``ansible_collections.galaxyops.infrastructure`` importable from this checkout (tests.support.checkout)."""

from __future__ import annotations

from tests.support.checkout import install_collection_loader

install_collection_loader()
