"""Commented starter specs for `clouder init`."""

from __future__ import annotations

from importlib.resources import files

from clouder.catalog.kubernetes import DEFAULT_VERSION
from clouder.errors import BadInputError
from clouder.spec.types import DNS_LABEL

CLOUDS = ("aws", "azure")


def render_starter(cloud: str, name: str) -> str:
    if cloud not in CLOUDS:
        raise BadInputError(f"--cloud {cloud!r} is not supported.", f"Use one of: {', '.join(CLOUDS)}.")
    if not DNS_LABEL.fullmatch(name):
        raise BadInputError(f"--name {name!r} is not a DNS label.", "Use lower-case letters, digits and '-'.")
    template = files("clouder.spec").joinpath("starters", f"{cloud}.yaml").read_text(encoding="utf-8")
    return template.replace("__NAME__", name).replace("__K8S__", DEFAULT_VERSION)
