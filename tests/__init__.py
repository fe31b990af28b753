"""The collection's tests. ``tests.support`` is importable from anywhere in the harness's venv (a ``.pth`` file
that ``scripts/harness venv`` writes points at the checkout); nothing here is shipped in the collection."""
