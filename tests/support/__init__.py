"""Helpers shared by the tests (importable as ``support`` because tests/conftest.py sits beside it)."""
