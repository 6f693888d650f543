"""What both cluster stacks share (stacks/common.py): a backend of the wrong cloud is refused with the
backend to use instead. `clouder validate` refuses such a spec first (tests/data/bad-specs/
state-s3-on-azure.yaml); the stacks also refuse one built in Python, which no rule has seen."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clouder.errors import BadInputError
from clouder.spec.model import ClusterSpec
from support.aws_stacks import spec_file as aws_spec_file
from support.azure_stacks import spec_file as azure_spec_file

AZURERM_STATE = {"backend": "azurerm", "resourceGroupName": "rg-state", "storageAccountName": "clouderstate",
                 "containerName": "tfstate", "key": "demo.tfstate"}  # fmt: skip
S3_STATE = {"backend": "s3", "bucket": "state", "key": "k", "region": "us-east-1", "useLockfile": True}


def built_in_python(path: Path) -> ClusterSpec:
    """The spec as library code builds one: the model alone, without the rules `load_spec` adds."""
    return ClusterSpec.model_validate(yaml.safe_load(path.read_text()))


def test_the_aws_stack_refuses_an_azurerm_backend_and_names_s3(tmp_path: Path) -> None:
    from cdktf import App

    from clouder.stacks.aws import AwsClusterStack

    spec = built_in_python(aws_spec_file(tmp_path, "aws-minimal.yaml", "cluster", state=AZURERM_STATE))
    with pytest.raises(BadInputError) as caught:
        AwsClusterStack(App(outdir=str(tmp_path / "out")), "azurerm", spec)
    assert caught.value.render() == (
        "demo-aws: state backend 'azurerm' cannot hold an AWS cluster's state. "
        "Use `state.backend: s3` (or local)."
    )


def test_the_azure_stack_refuses_an_s3_backend_and_names_azurerm(tmp_path: Path) -> None:
    from cdktf import App

    from clouder.stacks.azure import AzureClusterStack

    spec = built_in_python(azure_spec_file(tmp_path, "azure-minimal.yaml", state=S3_STATE))
    with pytest.raises(BadInputError) as caught:
        AzureClusterStack(App(outdir=str(tmp_path / "out")), "s3", spec)
    assert caught.value.render() == (
        "demo-azure: state backend 's3' cannot hold an Azure cluster's state. "
        "Use `state.backend: azurerm` (or local)."
    )
