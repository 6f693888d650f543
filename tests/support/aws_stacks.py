"""Synthesized AWS stacks, once per test session (importing the AWS bindings costs ~10 s / 0.6 GB).

Four specs cover the switches, all synthesized into one cdktf ``App`` through ``clouder.synth.add_stack``,
as ``clouder synth`` does:

- ``minimal``: examples/aws-minimal.yaml (one zone, bastion, public API, cilium, local state, 1 + 2 nodes);
- ``ha``: examples/aws-ha.yaml (three zones, three control planes, two pools, S3 state with a lock file)
  with an internal API, calico and no Load Balancer Controller;
- ``direct``: the minimal spec with SSH mode ``direct`` and flannel (public node IPs allowlisted in the spec);
- ``moto``: the minimal spec under another name with an AMI that moto knows, for the apply test.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from support.synth_stacks import REPO as REPO
from support.synth_stacks import SynthStack, shared_stacks, spec_copy

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEF3c1Rlc3RLZXlBd3NUZXN0S2V5QXdzVGVzdEtleUF3 clouder-test"
MOTO_AMI = "ami-1e749f67"  # one of the images moto serves by default
# Direct SSH means nodes with public IPs: a user's choice, so the user accepts it in the spec.
DIRECT_ALLOWED = {"check": "CKV_AWS_88", "reason": "access.mode direct: nodes are reached on public IPs"}


class AwsStack(SynthStack):
    @property
    def folder(self) -> Path:
        return self.path.parent

    def by_tag(self, kind: str, key: str, value: str) -> list[dict[str, Any]]:
        return [r for r in self.resources(kind).values() if r.get("tags", {}).get(key) == value]

    def user_data(self) -> dict[str, str]:
        """Every launch template's decoded cloud-init user-data, by template description."""
        return {
            template["description"]: base64.b64decode(template["user_data"]).decode()
            for template in self.resources("aws_launch_template").values()
        }


def spec_file(directory: Path, example: str, name: str, **changes: Any) -> Path:
    """A copy of an example spec with the test key and ``changes`` (dotted paths) applied."""
    return spec_copy(directory / f"{name}.yaml", example, PUBLIC_KEY, **changes)


@pytest.fixture(scope="session")
def aws_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AwsStack]:
    def write_specs(specs_dir: Path) -> dict[str, Path]:
        return {
            "minimal": spec_file(specs_dir, "aws-minimal.yaml", "minimal"),
            "ha": spec_file(
                specs_dir, "aws-ha.yaml", "ha",
                **{"network.apiExposure": "private", "cni.plugin": "calico",
                   "loadBalancing.controller": False},
            ),
            "direct": spec_file(
                specs_dir, "aws-minimal.yaml", "direct",
                **{"access.mode": "direct", "cni.plugin": "flannel", "policy.allowlist": [DIRECT_ALLOWED]},
            ),
            "moto": spec_file(
                specs_dir, "aws-minimal.yaml", "moto", **{"metadata.name": "moto-aws", "aws.ami": MOTO_AMI}
            ),
        }  # fmt: skip

    return shared_stacks(tmp_path_factory, "aws", write_specs, AwsStack)
