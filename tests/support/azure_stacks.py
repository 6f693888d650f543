"""Synthesized Azure stacks, once per test session (importing the azurerm bindings costs ~7 s / 0.5 GB).

Three specs cover the switches: ``minimal`` (examples/azure-minimal.yaml: one zone, bastion, public API,
cilium, local state), ``ha`` (examples/azure-ha.yaml: three zones, three control planes, two pools, internal
API, calico, azurerm state) and ``direct`` (the minimal spec with ssh mode ``direct``, flannel, two zones, a
mixed-case resource group name). All three go through ``clouder.synth.add_stack`` into one cdktf ``App``, as
``clouder synth`` does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAzureTestKeyAzureTestKeyAzureTestKeyAzur clouder-test"


@dataclass(frozen=True)
class AzureStack:
    name: str
    spec: Any  # clouder.spec.model.ClusterSpec
    path: Path  # the cdk.tf.json
    doc: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return dict(self.doc["resource"].get(kind, {}))

    def one(self, kind: str) -> dict[str, Any]:
        found = self.resources(kind)
        assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
        return next(iter(found.values()))

    def ref(self, kind: str, config: dict[str, Any], attribute: str = "id") -> str:
        """The ``${kind.name.attribute}`` expression referring to the resource whose config is ``config``."""
        for name, candidate in self.resources(kind).items():
            if candidate is config:
                return "${" + f"{kind}.{name}.{attribute}" + "}"
        raise KeyError(f"no {kind} with that config")

    def custom_data(self) -> dict[str, str]:
        """Every VM's decoded cloud-init custom data, by VM name."""
        return {
            vm["name"]: base64.b64decode(vm["custom_data"]).decode()
            for vm in self.resources("azurerm_linux_virtual_machine").values()
        }


def spec_file(directory: Path, example: str, **changes: Any) -> Path:
    """A copy of an example spec with the test key and ``changes`` (dotted paths) applied."""
    document = yaml.safe_load((REPO / "examples" / example).read_text())
    access = document.setdefault("access", {})
    access.pop("publicKeyPath", None)
    access["publicKey"] = PUBLIC_KEY
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    path = directory / example
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="session")
def azure_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, AzureStack]]:
    from cdktf import App

    from clouder.spec import load_spec
    from clouder.synth import add_stack

    base = tmp_path_factory.mktemp("azure-synth")
    (base / "specs").mkdir()
    specs = {
        "minimal": load_spec(spec_file(base / "specs", "azure-minimal.yaml")),
        "ha": load_spec(spec_file(base / "specs", "azure-ha.yaml")),
    }
    changes = {
        "access.mode": "direct",
        "cni.plugin": "flannel",
        "azure.resourceGroup": "RG-Clouder-Direct",
        "network.subnets": [
            {"zone": "1", "public": "10.1.0.0/24", "private": "10.1.16.0/20"},
            {"zone": "2", "public": "10.1.1.0/24", "private": "10.1.32.0/20"},
        ],
    }
    direct = spec_file(base / "specs", "azure-minimal.yaml", **changes)
    specs["direct"] = load_spec(direct.rename(base / "specs" / "azure-direct.yaml"))
    app = App(outdir=str(base / "out"))
    for key, spec in specs.items():
        add_stack(app, spec, stack_id=f"azure-{key}")
    app.synth()
    stacks = {}
    for key, spec in specs.items():
        path = base / "out" / "stacks" / f"azure-{key}" / "cdk.tf.json"
        stacks[key] = AzureStack(key, spec, path, json.loads(path.read_text()))
    yield stacks
