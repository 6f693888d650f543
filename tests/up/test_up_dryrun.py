"""`clouder up --dry-run` through the real CLI: real terraform (provider mirror) planning against moto, the
policy gate, the phases per host, every manifest rendered from the loopback chart repo and validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouder.catalog.services import SYSTEM_SERVICES
from support.moto import MotoServer
from support.services import ServiceRepo
from support.tfstack import Cli, aws_stack, boto, unique, write_spec, write_stack


@pytest.mark.e2e  # slow: the CDK bindings in a subprocess, or the real AWS provider
def test_dry_run_plans_the_whole_pipeline_and_changes_nothing(
    tf_cli: Cli, moto_server: MotoServer, service_charts: ServiceRepo, tmp_path: Path
) -> None:
    cluster = unique("dry")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster), moto_server)
    spec = write_spec(tmp_path / "cluster.yaml", cluster)
    tf_cli.env["CLOUDER_CACHE_DIR"] = str(service_charts.cache)
    args = ["up", str(spec), "--dry-run", "--stack", str(stack), "--chart-mirror", service_charts.url]
    result = tf_cli.run(*args, "-o", "json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    import json

    plan = json.loads(result.stdout)
    assert plan["ok"] and plan["problems"] == []
    assert plan["terraform"]["counts"]["create"] == 4 and plan["terraform"]["planHash"].startswith("sha256:")
    assert plan["policy"]["failed"] == []
    assert plan["hostsFrom"].startswith("spec")
    hosts = plan["hosts"]
    assert set(hosts) == {f"{cluster}-cp-0", f"{cluster}-general-0", f"{cluster}-general-1"}
    assert "kubeadm-init" in hosts[f"{cluster}-cp-0"] and "fetch-kubeconfig" in hosts[f"{cluster}-cp-0"]
    assert (
        "join-workers" in hosts[f"{cluster}-general-1"]
        and "kubeadm-init" not in hosts[f"{cluster}-general-1"]
    )
    addons = {a["name"]: a for a in plan["addons"]}
    assert list(addons)[:3] == ["cilium", "aws-cloud-controller-manager", "nodes-initialized"]
    assert all(a.get("valid", True) for a in addons.values())
    assert "StorageClass gp3" in addons["storage-classes"]["objects"]
    services = plan["services"]
    # the example names no services.coreRepository: the system services and the runtime plane only
    assert services["counts"] == {"planned": 10}
    assert {s["name"] for s in services["services"]} == {"runtime-plane", *SYSTEM_SERVICES}
    assert any("NetworkPolicy agents/default-deny" in s.get("objects", []) for s in services["services"])

    # nothing was created in the cloud, and no state was written
    vpcs = boto(moto_server, "ec2").describe_vpcs(
        Filters=[{"Name": "tag:clouder.dev/cluster", "Values": [cluster]}]
    )
    assert vpcs["Vpcs"] == []
    assert not (tmp_path / "work" / cluster / "terraform.tfstate").exists()
    assert not (tmp_path / "work" / cluster / "outputs.json").exists()

    text = tf_cli.run(*args)
    assert text.returncode == 0
    assert "terraform: 4 to create" in text.stdout and "dry run of" in text.stdout
    assert f"  {cluster}-general-0: connect, " in text.stdout


def test_azure_plan_before_any_infrastructure_exists(service_charts: ServiceRepo) -> None:
    from clouder.spec import load_spec
    from clouder.up.dryrun import addon_manifests, host_phases, planned_outputs
    from support.services import REPO

    spec = load_spec(REPO / "examples" / "azure-ha.yaml")
    outputs = planned_outputs(spec)
    hosts = host_phases(spec, outputs)
    assert len(hosts) == 3 + 3 + 2
    assert "kubeadm-init" in hosts["prod-azure-cp-0"] and "join-control-planes" in hosts["prod-azure-cp-2"]
    assert "kubeadm-init" not in hosts["prod-azure-cp-1"]
    found = addon_manifests(spec, outputs, service_charts.url, service_charts.cache)
    assert found.problems == [] and found.unpulled == []
    addons = found.addons
    assert [a["name"] for a in addons][1:3] == ["azure-cloud-config", "cloud-provider-azure"]
    assert all(a["objects"] for a in addons if not a.get("gate"))
