"""Synthesized Azure stacks, once per test session (importing the azurerm bindings costs ~7 s / 0.5 GB).

Three specs cover the switches: ``minimal`` (examples/azure-minimal.yaml: one zone, bastion, public API,
cilium, local state), ``ha`` (examples/azure-ha.yaml: three zones, three control planes, two pools, internal
API, calico, azurerm state) and ``direct`` (the minimal spec with ssh mode ``direct``, flannel, two zones, a
mixed-case resource group name). All three go through ``clouder.synth.add_stack`` into one cdktf ``App``, as
``clouder synth`` does.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from support.synth_stacks import SynthStack, shared_stacks, spec_copy

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEF6dXJlVGVzdEtleUF6dXJlVGVzdEtleUF6dXJlVGVz clouder-test"


class AzureStack(SynthStack):
    def custom_data(self) -> dict[str, str]:
        """Every VM's decoded cloud-init custom data, by VM name."""
        return {
            vm["name"]: base64.b64decode(vm["custom_data"]).decode()
            for vm in self.resources("azurerm_linux_virtual_machine").values()
        }


def spec_file(directory: Path, example: str, **changes: Any) -> Path:
    """A copy of an example spec with the test key and ``changes`` (dotted paths) applied."""
    return spec_copy(directory / example, example, PUBLIC_KEY, **changes)


@pytest.fixture(scope="session")
def azure_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AzureStack]:
    def write_specs(specs_dir: Path) -> dict[str, Path]:
        changes = {
            "access.mode": "direct",
            "cni.plugin": "flannel",
            "azure.resourceGroup": "RG-Clouder-Direct",
            "network.subnets": [
                {"zone": "1", "public": "10.1.0.0/24", "private": "10.1.16.0/20"},
                {"zone": "2", "public": "10.1.1.0/24", "private": "10.1.32.0/20"},
            ],
        }
        direct = spec_file(specs_dir, "azure-minimal.yaml", **changes).rename(specs_dir / "azure-direct.yaml")
        minimal, ha = spec_file(specs_dir, "azure-minimal.yaml"), spec_file(specs_dir, "azure-ha.yaml")
        return {"minimal": minimal, "ha": ha, "direct": direct}

    return shared_stacks(tmp_path_factory, "azure", write_specs, AzureStack)
