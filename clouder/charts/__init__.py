"""Helm charts without a helm binary: pull a pinned chart into a cache, render it offline.

This package is the only place in Clouder that imports ``helm_python`` (young, one maintainer: pinned and
isolated, so replacing it touches nothing else).
"""

from clouder.charts.helm import (
    ChartError,
    ChartUnreachable,
    RenderedChart,
    UnpulledChart,
    chart_cache_dir,
    pull,
    render,
)

__all__ = [
    "ChartError",
    "ChartUnreachable",
    "RenderedChart",
    "UnpulledChart",
    "chart_cache_dir",
    "pull",
    "render",
]
