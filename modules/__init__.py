"""Reusable CDKTF constructs, installed as ``clouder.modules`` (see docs/layout.md)."""
