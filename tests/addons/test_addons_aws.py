"""The AWS add-on set against an emulated cluster (HTTP, official client) and the loopback chart repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouder.addons import AddonContext, RunSettings, run_addons
from clouder.addons.run import AddonsReport
from clouder.kube import Kube
from clouder.spec.model import Cni, LoadBalancing
from support.chartrepo import ChartRepo
from support.clusters import EmulatedCluster, emulate


def settings(repo: ChartRepo, tmp_path: Path, timeout: float = 10.0) -> RunSettings:
    return RunSettings(timeout=timeout, interval=0.05, cache=tmp_path / "cache", catalog=repo.catalog())


def install_twice(
    cluster: EmulatedCluster, repo: ChartRepo, tmp_path: Path
) -> tuple[AddonsReport, AddonsReport]:
    """Run the add-on set twice; the second run must send the API server no request that writes, not
    even a no-op apply."""
    ctx = AddonContext(cluster.spec, cluster.outputs)
    emulator = cluster.api.emulator
    with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
        first = run_addons(kube, ctx, settings(repo, tmp_path))
        assert first.ok, first.as_dict()
        sent = (len(emulator.writes), len(emulator.applies))
        second = run_addons(kube, ctx, settings(repo, tmp_path))
    assert second.ok and second.changed == 0, second.as_dict()
    assert second.objects == first.objects
    assert (len(emulator.writes), len(emulator.applies)) == sent
    return first, second


def test_full_aws_set_installs_then_second_run_applies_nothing(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    first, _ = install_twice(aws_cluster, chart_repo, tmp_path)
    assert [step.name for step in first.steps] == [
        "cilium",
        "aws-cloud-controller-manager",
        "nodes-initialized",
        "aws-ebs-csi-driver",
        "storage-classes",
        "aws-load-balancer-controller",
    ]


def test_chart_version_bump_prunes_what_the_new_version_no_longer_renders(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    emulator = aws_cluster.api.emulator
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        assert run_addons(kube, ctx, settings(chart_repo, tmp_path)).ok
        assert emulator.get("PodDisruptionBudget", "ebs-csi-controller", "kube-system") is not None
        chart_repo.publish(chart_repo.variant("aws-ebs-csi-driver", drop=["pdb.yaml"]), "2.51.0")
        bumped = RunSettings(
            timeout=10,
            interval=0.05,
            cache=tmp_path / "cache",
            catalog=chart_repo.catalog().with_version("aws-ebs-csi-driver", "2.51.0"),
        )
        report = run_addons(kube, ctx, bumped)
    assert report.ok, report.as_dict()
    ebs = next(step for step in report.steps if step.name == "aws-ebs-csi-driver")
    assert ebs.version == "2.51.0"
    assert ebs.counts.get("pruned") == 1
    assert emulator.get("PodDisruptionBudget", "ebs-csi-controller", "kube-system") is None
    assert emulator.get("DaemonSet", "ebs-csi-node", "kube-system") is not None
    assert [step.changed for step in report.steps if step.name != "aws-ebs-csi-driver"] == [0] * 5
    inventory = emulator.get("ConfigMap", "clouder-release-aws-ebs-csi-driver", "kube-system")
    assert inventory is not None and inventory["data"]["version"] == "2.51.0"
    assert "PodDisruptionBudget" not in inventory["data"]["objects"]


def test_daemonset_that_never_becomes_ready_stops_its_dependents_others_finish_and_the_next_run_resumes(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    emulator = aws_cluster.api.emulator
    emulator.rule(
        "DaemonSet",
        "ebs-csi-node",
        "kube-system",
        outcome="never",
        reason="BackOff",
        message="Back-off pulling image public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.50.0",
    )
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        failed = run_addons(kube, ctx, settings(chart_repo, tmp_path, timeout=1.0))
        assert not failed.ok
        assert [step.name for step in failed.failed] == ["aws-ebs-csi-driver"]
        step = failed.failed[0]
        assert len(step.problems) == 1
        assert "DaemonSet kube-system/ebs-csi-node: 0/3 pods available" in step.problems[0]
        assert "Back-off pulling image" in step.problems[0]
        # only the StorageClass needs the EBS driver; the load balancer controller does not, and finished
        assert failed.skipped == ["storage-classes"]
        assert failed.skipped_because == {"storage-classes": "dependency aws-ebs-csi-driver failed"}
        assert emulator.get("StorageClass", "gp3") is None
        lbc = next(s for s in failed.steps if s.name == "aws-load-balancer-controller")
        assert lbc.ok and lbc.changed > 0
        assert emulator.get("Deployment", "aws-load-balancer-controller", "kube-system") is not None

        emulator.rule("DaemonSet", "ebs-csi-node", "kube-system", outcome="ready")
        before = len(emulator.writes)
        resumed = run_addons(kube, ctx, settings(chart_repo, tmp_path))
    assert resumed.ok, resumed.as_dict()
    changed = {s.name: s.changed for s in resumed.steps}
    # done work is not applied again
    assert changed == {
        "cilium": 0,
        "aws-cloud-controller-manager": 0,
        "nodes-initialized": 0,
        "aws-ebs-csi-driver": 0,
        "storage-classes": 1,
        "aws-load-balancer-controller": 0,
    }
    written = {(kind, name) for _, kind, _, name in emulator.writes[before:]}
    assert ("StorageClass", "gp3") in written
    assert not any(name.startswith(("cilium", "ebs-csi", "aws-load-balancer")) for _, name in written)


def test_an_add_on_the_spec_drops_is_uninstalled_and_a_cni_switch_is_refused(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    emulator = aws_cluster.api.emulator
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        assert run_addons(
            kube, AddonContext(aws_cluster.spec, aws_cluster.outputs), settings(chart_repo, tmp_path)
        ).ok
        without_lbc = aws_cluster.spec.model_copy(update={"load_balancing": LoadBalancing(controller=False)})
        report = run_addons(
            kube, AddonContext(without_lbc, aws_cluster.outputs), settings(chart_repo, tmp_path)
        )
        assert report.ok, report.as_dict()
        retired = report.steps[-1]
        assert retired.name == "aws-load-balancer-controller"
        assert retired.counts == {"pruned": 11, "kept": 2}  # its two CRDs stay, as Helm leaves crds/
        assert emulator.get("Deployment", "aws-load-balancer-controller", "kube-system") is None
        assert emulator.get("CustomResourceDefinition", "targetgroupbindings.elbv2.k8s.aws") is not None
        assert (
            emulator.get("ConfigMap", "clouder-release-aws-load-balancer-controller", "kube-system") is None
        )
        assert emulator.get("DaemonSet", "cilium", "kube-system") is not None

        calico = without_lbc.model_copy(update={"cni": Cni(plugin="calico")})
        refused = run_addons(kube, AddonContext(calico, aws_cluster.outputs), settings(chart_repo, tmp_path))
    assert not refused.ok
    assert "the cluster runs the CNI cilium (installed by Clouder)" in refused.steps[0].problems[0]
    assert emulator.get("Deployment", "tigera-operator", "tigera-operator") is None  # nothing was applied


@pytest.mark.parametrize("example", ["aws-ha.yaml", "azure-ha.yaml"])
def test_ha_examples_install_with_their_cni_and_replicas(
    example: str, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    cluster, stop = emulate(tmp_path, example)
    try:
        ctx = AddonContext(cluster.spec, cluster.outputs)
        with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
            first = run_addons(kube, ctx, settings(chart_repo, tmp_path))
            assert first.ok, first.as_dict()
            again = run_addons(kube, ctx, settings(chart_repo, tmp_path))
        assert again.ok and again.changed == 0
        emulator = cluster.api.emulator
        assert first.steps[0].name == cluster.spec.cni.plugin
        if cluster.spec.cloud == "aws":
            controller = emulator.get("Deployment", "ebs-csi-controller", "kube-system")
            gp3 = emulator.get("StorageClass", "gp3")
            assert gp3 is not None and gp3["reclaimPolicy"] == "Retain"  # storage.reclaimPolicy in aws-ha
        else:
            controller = emulator.get("Deployment", "csi-azuredisk-controller", "kube-system")
            assert emulator.get("Installation", "default") is not None  # calico through its operator
        assert controller is not None and controller["spec"]["replicas"] == 2  # three control planes
    finally:
        stop()


def test_full_azure_set_installs_then_second_run_sends_no_apply(
    azure_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    install_twice(azure_cluster, chart_repo, tmp_path)
