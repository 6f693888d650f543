"""Rules added after a fresh sweep of wrong specs (issue 17): what they refuse is in tests/data/bad-specs/;
here, the neighbours they must keep accepting."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.spec_problems import problems_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = yaml.safe_load((EXAMPLES / "aws-minimal.yaml").read_text())["access"]["publicKey"]


def _spec(example: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / example).read_text())
    document["access"] = {"publicKey": KEY, "user": document["access"].get("user", "ubuntu")}
    return document


@pytest.mark.parametrize(
    "labels",
    [
        {"node.kubernetes.io/pool": "general"},  # a namespace the kubelet may set
        {"example.node.kubernetes.io/tier": "a"},
        {"topology.kubernetes.io/zone": "us-east-1a"},  # one of its own labels
        {"kubernetes.io.example.com/team": "data"},  # only looks like it
        {"clouder.dev/role": "worker"},
    ],
)
def test_labels_the_kubelet_may_set_are_accepted(labels: dict[str, str]) -> None:
    document = _spec("aws-minimal.yaml")
    document["nodePools"][0]["labels"] = labels
    assert problems_of(document) == []


@pytest.mark.parametrize(
    ("example", "size"),
    [
        ("aws-minimal.yaml", "t3.small"),  # 2 vCPUs, 2 GiB: enough for kubeadm
        ("aws-minimal.yaml", "t4g.medium"),  # the one Graviton .medium with 2 vCPUs (needs an arm64 ami)
        ("azure-minimal.yaml", "Standard_B2s"),
        ("azure-minimal.yaml", "Standard_D2s_v5"),
    ],
)
def test_small_control_planes_kubeadm_accepts(example: str, size: str) -> None:
    document = _spec(example)
    document["controlPlane"] = {"size": size}
    if size.startswith("t4g"):
        document["aws"]["ami"] = "ami-0abcdef1234567890"
    assert problems_of(document) == []


@pytest.mark.parametrize(
    ("size", "refused"),
    [
        ("Standard_D4s_v5", False),
        ("Standard_DS2_v2", False),  # premium through the family
        ("Standard_M64", False),  # every M size takes premium disks
        ("Standard_E8_v5", True),
        ("Standard_F4", True),
    ],
)
def test_azure_node_sizes_need_premium_storage(size: str, refused: bool) -> None:
    document = _spec("azure-minimal.yaml")
    document["nodePools"][0]["size"] = size
    problems = [p for p in problems_of(document) if "Premium SSD" in p.message]
    assert bool(problems) is refused, problems
    if refused:
        assert problems[0].hint == f"Take {size.replace('_v5', 's_v5') if 'v5' in size else size + 's'}, " \
            "the same size with Premium Storage."  # fmt: skip


def test_admin_ranges_inside_special_blocks_are_refused_but_a_range_spanning_them_is_judged_as_a_whole() -> (
    None
):
    document = _spec("aws-minimal.yaml")
    document["network"]["adminCidrs"] = ["0.0.0.0/1"]  # spans 0/8 and 127/8; not the whole internet
    assert problems_of(document) == []


def test_an_rsa_key_of_2048_bits_is_accepted_on_azure_and_1024_is_refused(tmp_path: Path) -> None:
    import subprocess

    lines = {}
    for bits in (1024, 2048):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "rsa", "-b", str(bits), "-N", "", "-f", str(tmp_path / f"k{bits}")],
            check=True,
        )
        lines[bits] = (tmp_path / f"k{bits}.pub").read_text().strip()
    document = _spec("azure-minimal.yaml")
    verdicts = {}
    for bits, line in lines.items():
        candidate = copy.deepcopy(document)
        candidate["access"]["publicKey"] = line
        verdicts[bits] = [p.message for p in problems_of(candidate)]
    assert verdicts[2048] == []
    assert verdicts[1024] == ["an RSA key of 1024 bits; Azure takes RSA keys of 2048 bits or more."]
    assert line.split()[1] not in " ".join(verdicts[1024])


def test_a_secret_shape_in_a_tag_is_not_repeated() -> None:
    document = _spec("aws-minimal.yaml")
    token = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    document["aws"]["tags"] = {"notify": token}
    (problem,) = problems_of(document)
    assert problem.path == "aws.tags.notify" and "Slack token" in problem.message
    assert token not in problem.message + problem.hint


@pytest.mark.parametrize(
    "tags",
    [{"owner": "platform", "cost-center": "4711"}, {f"k{i}": "v" for i in range(46)}],
)
def test_ordinary_aws_tags_are_accepted(tags: dict[str, str]) -> None:
    document = _spec("aws-minimal.yaml")
    document["aws"]["tags"] = tags
    assert problems_of(document) == []


def test_too_many_aws_tags_are_refused() -> None:
    document = _spec("aws-minimal.yaml")
    document["aws"]["tags"] = {f"k{i}": "v" for i in range(47)}
    (problem,) = problems_of(document)
    assert problem.path == "aws.tags" and problem.hint == "Keep at most 46 tags."
