"""Pinned Kubernetes releases Clouder can install (one patch release per supported minor)."""

from __future__ import annotations

# minor -> the pinned patch release that Clouder installs (kubeadm, kubelet, kubectl packages).
PINNED_RELEASES: dict[tuple[int, int], str] = {
    (1, 32): "1.32.9",
    (1, 33): "1.33.5",
    (1, 34): "1.34.1",
}
DEFAULT_VERSION = PINNED_RELEASES[(1, 33)]
SUPPORTED_MINORS = sorted(PINNED_RELEASES)


def supported_range() -> str:
    low, high = SUPPORTED_MINORS[0], SUPPORTED_MINORS[-1]
    return f"{low[0]}.{low[1]} to {high[0]}.{high[1]}"


def pinned_versions() -> list[str]:
    return [PINNED_RELEASES[minor] for minor in SUPPORTED_MINORS]
