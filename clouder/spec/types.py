"""Constrained scalar types shared by the spec, contexts and the outputs contract."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class SpecModel(BaseModel):
    """Base for every document model: camelCase keys in YAML, unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        validate_default=True,
        defer_build=True,
    )


# Default factories for empty collections. pydantic inspects each factory's signature when it builds a model;
# for the builtins `dict` and `list` that means parsing their text signatures with `tokenize`, ~17 M
# instructions (~5 ms) of every `clouder validate`; a plain function's signature is read at once.
def empty_dict() -> dict[Any, Any]:
    return {}


def empty_list() -> list[Any]:
    return []


def _not_blank(value: str) -> str:
    # An empty string in an optional field would switch its feature on with nothing in it
    # (state.dynamodbTable: "" would count as locking); leaving the field out is how to say "none".
    if not value.strip():
        raise ValueError("is empty; leave the field out to mean 'none', or give it a value")
    return value


def _dns_label(value: str) -> str:
    if not DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS label: use 1-63 lower-case letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a CIDR block like 10.0.0.0/16 ({exc})") from None
    if network.version != 4:
        raise ValueError(f"{value!r}: only IPv4 CIDR blocks are supported")
    return str(network)


def _label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    bad_prefix = prefix and (len(prefix) > 253 or not LABEL_PREFIX.fullmatch(prefix))
    if bad_prefix or not LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"{value!r} is not a Kubernetes label key: an optional DNS prefix and '/', then up to 63 "
            "letters, digits, '-', '_' or '.'"
        )
    return value


def _label_value(value: str) -> str:
    if len(value) > 63 or not LABEL_VALUE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes label value (up to 63 letters, digits, '-', '_', '.')"
        )
    return value


# The text of an optional field (`OptionalText | None = None`), where blank is refused. A validator on these
# fields alone, rather than on every field of every model ("*"), saves ~35 M instructions of building the
# validators; tests/spec/test_optional_text.py holds every optional text field to it (or to a pattern).
OptionalText = Annotated[str, AfterValidator(_not_blank)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Cidr = Annotated[str, AfterValidator(_cidr)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]


def network_of(cidr: str) -> ipaddress.IPv4Network:
    net = ipaddress.ip_network(cidr)
    assert isinstance(net, ipaddress.IPv4Network)
    return net
