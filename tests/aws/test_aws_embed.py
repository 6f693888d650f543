"""examples/embed-aws: a user's own CDKTF app composing clouder.modules.aws next to its own resources."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

from support.aws_stacks import REPO

EXAMPLE = REPO / "examples" / "embed-aws" / "main.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_aws_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def only(resources: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources[kind].items()
    return item


def test_the_example_composes_clouder_constructs_with_its_own_resources(
    tmp_path: Path, terraform_env: dict[str, str]
) -> None:
    folder = load_example().main(str(tmp_path / "out"))
    document = json.loads((folder / "cdk.tf.json").read_text())
    resources = document["resource"]

    # Clouder's constructs are there, with their hardening ...
    assert {"aws_vpc", "aws_subnet", "aws_nat_gateway", "aws_security_group_rule", "aws_iam_role",
            "aws_launch_template", "aws_instance"} <= set(resources)  # fmt: skip
    assert len(resources["aws_instance"]) == 2 and len(resources["aws_subnet"]) == 4
    _, template = only(resources, "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["block_device_mappings"][0]["ebs"]["encrypted"] == "true"

    # ... and the team's own resources are wired to Clouder's typed attributes (and tagged by the aspect).
    bucket_name, bucket = only(resources, "aws_s3_bucket")
    assert bucket["tags"]["clouder.dev/address"] == f"aws_s3_bucket.{bucket_name}"
    _, read = only(resources, "aws_iam_role_policy")
    (worker_role,) = [
        name for name, role in resources["aws_iam_role"].items() if "-node-" in role["name_prefix"]
    ]
    assert read["role"] == f"${{aws_iam_role.{worker_role}.name}}"
    statement = json.loads(read["policy"])["Statement"][0]
    assert statement["Resource"] == [
        f"${{aws_s3_bucket.{bucket_name}.arn}}",
        f"${{aws_s3_bucket.{bucket_name}.arn}}/*",
    ]
    (warehouse_rule,) = [r for r in resources["aws_security_group_rule"].values() if r["from_port"] == 5432]
    nodes_sg = [n for n, g in resources["aws_security_group"].items() if g["name"] == "analytics-nodes"]
    assert warehouse_rule["source_security_group_id"] == f"${{aws_security_group.{nodes_sg[0]}.id}}"
    assert set(document["output"]) == {"vpc_id", "datasets_bucket", "worker_private_ips"}

    # The combined configuration is valid for the real AWS provider.
    env = {**os.environ, **terraform_env}
    for args in (["init", "-backend=false", "-input=false"], ["validate", "-json"]):
        done = subprocess.run(["terraform", *args, "-no-color"], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["valid"] is True
    assert re.search(r'"error_count":\s*0', done.stdout)
