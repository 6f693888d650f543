"""Deployable CDKTF stacks, installed as ``clouder.stacks`` (see docs/layout.md)."""
