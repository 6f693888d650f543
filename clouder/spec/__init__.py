"""The typed cluster spec (stage 1 of the pipeline)."""

from clouder.spec.loader import load_spec, parse_spec
from clouder.spec.model import API_VERSION, ClusterSpec, NodePool

__all__ = ["API_VERSION", "ClusterSpec", "NodePool", "load_spec", "parse_spec"]
