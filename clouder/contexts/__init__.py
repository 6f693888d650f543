"""Contexts: where a cluster lives (cloud, account, region) and how credentials are found — never secrets."""

from clouder.contexts.model import Context, ContextFile
from clouder.contexts.store import ContextStore, config_dir

__all__ = ["Context", "ContextFile", "ContextStore", "config_dir"]
