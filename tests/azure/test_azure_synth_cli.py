"""`clouder synth SPEC` for an Azure spec, through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.outputs import OUTPUT_NAMES
from support.azure_stacks import spec_file
from support.cli import run


@pytest.mark.e2e  # slow: the CDK bindings in a subprocess, or the real AWS provider
def test_clouder_synth_writes_the_azure_stack(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, "azure-ha.yaml")
    result = run("synth", str(spec), "--out", str(tmp_path / "out"), "-o", "json", timeout=300)
    assert result.code == 0, result.stderr
    summary = result.json()
    assert (summary["cloud"], summary["cluster"]) == ("azure", "prod-azure")
    assert summary["outputs"] == sorted(OUTPUT_NAMES)
    document = json.loads(Path(summary["file"]).read_text())
    vms = document["resource"]["azurerm_linux_virtual_machine"]
    assert summary["resources"] > 60 and len(vms) == 9  # 3 control planes, 3 + 2 workers, the bastion
