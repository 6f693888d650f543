"""Messages in the user's words: no regex or pydantic wording, did-you-mean for unknown keys in every section,
and the same verdict for specs that mean the same thing."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.errors import Problem
from support.spec_problems import problems_of

REPO = Path(__file__).resolve().parents[2]
RAW_WORDING = re.compile(
    r"Input should|instance of|should match pattern|input tag|\^|\$|\\d|union|discriminator"
)


def _full_spec() -> dict[str, Any]:
    """A valid spec that fills in every section, so that each section can be probed."""
    spec: dict[str, Any] = yaml.safe_load((REPO / "examples" / "aws-ha.yaml").read_text())
    spec.pop("context", None)
    spec["access"] = {"publicKey": yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())[
        "access"]["publicKey"]}  # fmt: skip
    spec["nodePools"][0]["taints"] = [{"key": "dedicated", "value": "agents", "effect": "NoSchedule"}]
    spec["cni"] = {"plugin": "cilium"}
    spec["storage"] = {"defaultClass": True}
    spec["loadBalancing"] = {"controller": True}
    spec["services"] = {
        "overrides": {"ingress": {"enabled": True}},
        "custom": [{"name": "web", "chart": "web", "repository": "https://charts.example.com",
                    "version": "1.0.0", "namespace": "web"}],
    }  # fmt: skip
    spec["runtime"] = {
        "namespaces": [{"name": "agents", "quota": {"cpu": "8"}, "limits": {"maxCpu": "2"},
                        "egress": [{"cidr": "192.0.2.0/24"}]}],
    }  # fmt: skip
    spec["policy"] = {"allowlist": [{"check": "CKV_AWS_1", "reason": "reviewed by the team"}],
                      "approvals": {"destructive": "required"}}  # fmt: skip
    spec["maintenance"] = {"maxUnavailableWorkers": 1}
    spec["terraform"] = {}
    return spec


def _sections(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node and all(isinstance(key, str) and key[:1].islower() for key in node):
            yield path, node
        for key, value in node.items():
            if path.endswith(("labels", "tags", "values", "overrides")) or key in {
                "labels",
                "tags",
                "values",
            }:
                continue
            yield from _sections(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _sections(item, f"{path}[{index}]")


def test_the_full_spec_is_valid() -> None:
    assert problems_of(_full_spec()) == []


SECTIONS = [path for path, _ in _sections(_full_spec())]


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_offers_did_you_mean_for_an_unknown_key(section: str) -> None:
    document = _full_spec()
    node = dict(_sections(document))[section]
    key = max(node, key=len)
    typo = key[:3] + key[4:] if len(key) > 4 else key + "x"  # one letter left out, or one too many
    node[typo] = node[key]
    del node[key]
    problems = [p for p in problems_of(document) if p.path.endswith(typo)]
    assert problems, problems_of(document)
    assert f"Did you mean `{key}`?" in problems[0].hint


WRONG_VALUES = {
    "state": {"backend": "gcs"},
    "cni": "cilium",
    "access": ["bastion"],
    "storage": {"encrypted": False, "defaultClass": "maybe"},
    "network": {"subnets": [], "adminCidrs": ["203.0.113.0/24"], "apiExposure": "internal"},
    "controlPlane": {"count": "three", "diskGb": 5},
    "nodePools": [{"name": "general", "count": 500, "taints": [{"key": "a", "effect": "NoSchedul"}]}],
    "services": {"coreRepository": "ftp://x", "overrides": {"ingress": {"version": "latest"}}},
    "runtime": {"namespaces": [{"name": "agents", "quota": {"cpu": "lots"}}]},
    "policy": {"allowlist": [{"check": "ckv_aws_1", "reason": "reviewed by the team"}]},
    "aws": {"region": "us-east-1", "ami": "ami-XYZ"},
}


@pytest.mark.parametrize("section", sorted(WRONG_VALUES))
def test_messages_use_the_users_words(section: str) -> None:
    document = _full_spec()
    document[section] = WRONG_VALUES[section]
    problems = problems_of(document)
    assert problems
    for problem in problems:
        text = f"{problem.message} {problem.hint}"
        assert not RAW_WORDING.search(text), text


def test_a_misspelled_choice_gets_did_you_mean() -> None:
    document = _full_spec()
    document["cni"] = {"plugin": "cillium"}
    (problem,) = problems_of(document)
    assert problem.message == "must be one of cilium, calico, flannel (got 'cillium')."
    assert problem.hint == "Did you mean cilium?"


def test_no_pools_and_pools_of_zero_nodes_get_the_same_verdict() -> None:
    verdicts = []
    for pools in ([], [{"name": "general", "count": 0}]):
        document = copy.deepcopy(_full_spec())
        document["controlPlane"] = {"count": 1}
        document["nodePools"] = pools
        document.pop("runtime")
        verdicts.append(problems_of(document))
    assert verdicts[0] == verdicts[1] == []


def _azure_with_resource_group(name: str) -> list[Problem]:
    document: dict[str, Any] = yaml.safe_load((REPO / "examples" / "azure-minimal.yaml").read_text())
    document["access"] = {"publicKey": _full_spec()["access"]["publicKey"]}
    document["azure"]["resourceGroup"] = name
    return [problem for problem in problems_of(document) if problem.path == "azure.resourceGroup"]


@pytest.mark.parametrize(
    "name",
    ["r" * 90, "rg-demo_1(prod)", "rg-ünïcode-名前", "rg.demo"],  # Azure takes Unicode letters
)
def test_a_resource_group_name_of_up_to_90_allowed_characters_is_valid(name: str) -> None:
    assert _azure_with_resource_group(name) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("r" * 91, "is too long (at most 90)."),
        ("rg/demo", "'rg/demo' is not a resource group name: letters, digits, '_', '-', '.', '(' and ')'."),
        ("rg demo", "'rg demo' is not a resource group name: letters, digits, '_', '-', '.', '(' and ')'."),
        ("", "'' is not a resource group name: letters, digits, '_', '-', '.', '(' and ')'."),
    ],
)
def test_a_resource_group_name_too_long_or_with_other_characters_is_refused(name: str, message: str) -> None:
    (problem,) = _azure_with_resource_group(name)
    assert problem.message == message


def test_every_pattern_in_the_models_has_words() -> None:
    from clouder.spec import model
    from clouder.spec.loader import PATTERN_WORDS
    from clouder.spec.types import SpecModel

    patterns = {
        meta.pattern
        for value in vars(model).values()
        if isinstance(value, type) and issubclass(value, SpecModel)
        for field in value.model_fields.values()
        for meta in field.metadata
        if getattr(meta, "pattern", None)
    }
    assert patterns and patterns <= set(PATTERN_WORDS), patterns - set(PATTERN_WORDS)


@pytest.mark.parametrize(
    ("section", "value", "path", "suggestion"),
    [
        ("aws", {"region": "us-east1"}, "aws.region", "Did you mean us-east-1?"),
        ("state", {"backend": "s3", "bucket": "acme-state", "key": "k", "region": "euwest-1",
                   "useLockfile": True}, "state.region", "Did you mean eu-west-1?"),
    ],
)  # fmt: skip
def test_a_misspelled_region_gets_did_you_mean(
    section: str, value: dict[str, Any], path: str, suggestion: str
) -> None:
    document = _full_spec()
    document[section] = value
    problems = [p for p in problems_of(document) if p.path == path]
    assert problems and problems[0].hint.startswith(suggestion), problems


def test_an_azure_location_by_its_display_name_gets_the_name_azure_uses() -> None:
    document: dict[str, Any] = yaml.safe_load((REPO / "examples" / "azure-minimal.yaml").read_text())
    document["azure"]["location"] = "West Europe"
    (problem,) = problems_of(document)
    assert problem.path == "azure.location" and problem.hint.startswith("Did you mean westeurope?")


@pytest.mark.parametrize(
    ("section", "key", "where"),
    [("network", "region", "aws.region or state.region"), ("metadata", "size", "controlPlane.size")],
)
def test_a_key_in_the_wrong_section_names_where_it_belongs(section: str, key: str, where: str) -> None:
    document = _full_spec()
    document[section][key] = "x"
    (problem,) = [p for p in problems_of(document) if p.path == f"{section}.{key}"]
    assert problem.message == "unknown field." and f"`{key}` belongs in {where}" in problem.hint


def test_a_yaml_boolean_where_text_belongs_is_named_as_a_boolean() -> None:
    document = _full_spec()
    document["nodePools"][0]["labels"] = {"gpu": False}  # what YAML makes of `gpu: no`
    (problem,) = problems_of(document)
    assert problem.message.startswith("expected text, but YAML read false")
    assert "number" not in problem.message and problem.hint == 'Quote it, e.g. "no".'


def test_a_chart_path_is_refused_in_words() -> None:
    document = _full_spec()
    document["services"]["custom"][0]["chart"] = "./charts/web"
    (problem,) = problems_of(document)
    assert "is not a chart name" in problem.message and not RAW_WORDING.search(problem.message)
