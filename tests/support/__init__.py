"""Test support shared by the collection's tests, the TIaaS app's tests, the benchmarks and testinfra.

Import it as a package (``from tests.support.pgcluster import PgCluster``): ``scripts/harness venv`` drops
``galaxyops-checkout.pth`` into the venv's site-packages, which puts the checkout's root on ``sys.path``.
Nothing here is shipped in the collection (``galaxy.yml`` build_ignore).

- ``checkout``: where the checkout is, and the ``ansible_collections/galaxyops/infrastructure`` link to it.
- ``pgcluster``: throwaway PostgreSQL clusters from the host's server binaries.
- ``galaxy_schema``: Galaxy's real schema (galaxy-data), built into a database or dumped to SQL (one home).
- ``modulerun``: runs ``postgresql_grants`` for real through ``ansible`` ad-hoc.
"""
