"""Test support shared by the collection's tests (not shipped in the collection)."""
