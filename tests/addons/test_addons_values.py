"""Values builders rendered through the stand-in charts (pulled from the loopback repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.addons import AddonContext, ChartAddon, RunSettings, plan, render_step, run_addons
from clouder.addons.aws import refuse_static_keys
from clouder.errors import ClouderError
from clouder.kube import Kube
from clouder.spec.model import Cni, LoadBalancing
from support.chartrepo import ChartRepo
from support.clusters import EmulatedCluster


def rendered(ctx: AddonContext, release: str, repo: ChartRepo, tmp_path: Path) -> list[dict[str, Any]]:
    step = next(s for s in plan(ctx) if isinstance(s, ChartAddon) and s.release == release)
    return list(render_step(step, ctx, repo.catalog(), tmp_path / "cache").objects())


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_load_balancer_controller_values_come_from_the_outputs_and_the_webhook_stays_off(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    objects = rendered(ctx, "aws-load-balancer-controller", chart_repo, tmp_path)
    args = find(objects, "Deployment", "aws-load-balancer-controller")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--cluster-name=demo-aws" in args
    assert f"--aws-region={aws_cluster.outputs.cloud.region}" in args
    assert "--aws-vpc-id=vpc-0a1b2c3d4e5f60718" in args
    assert "--enable-service-mutator-webhook=false" in args
    webhooks = find(objects, "MutatingWebhookConfiguration", "aws-load-balancer-webhook")["webhooks"]
    assert [w["name"] for w in webhooks] == ["mpod.elbv2.k8s.aws"]

    asked = aws_cluster.spec.model_copy(
        update={"load_balancing": LoadBalancing(service_mutator_webhook=True)}
    )
    objects = rendered(
        AddonContext(asked, aws_cluster.outputs), "aws-load-balancer-controller", chart_repo, tmp_path
    )
    webhooks = find(objects, "MutatingWebhookConfiguration", "aws-load-balancer-webhook")["webhooks"]
    assert [w["name"] for w in webhooks] == ["mpod.elbv2.k8s.aws", "mservice.elbv2.k8s.aws"]


def test_static_aws_keys_are_refused() -> None:
    leaky = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "lbc", "namespace": "kube-system"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "c", "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]}]
                }
            }
        },
    }
    with pytest.raises(ClouderError, match="static AWS credentials"):
        refuse_static_keys("aws-load-balancer-controller", [leaky])
    refuse_static_keys(
        "x", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}, "data": {"a": "b"}}]
    )
    # a reference to a Secret carries no key (the Secret, when rendered, is checked itself)
    ref = {"secretKeyRef": {"name": "aws-secret", "key": "key_id", "optional": True}}
    leaky["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": ref}
    ]
    refuse_static_keys("aws-ebs-csi-driver", [leaky])


def test_ebs_csi_and_gp3_class(aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path) -> None:
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    objects = rendered(ctx, "aws-ebs-csi-driver", chart_repo, tmp_path)
    assert not [o for o in objects if o["kind"] == "StorageClass"]  # the chart's own classes stay off
    env = find(objects, "Deployment", "ebs-csi-controller")["spec"]["template"]["spec"]["containers"][0][
        "env"
    ]
    assert {"name": "AWS_REGION", "value": "us-east-1"} in env
    assert not [e for e in env if e["name"].startswith("AWS_ACCESS") or e["name"].startswith("AWS_SECRET")]
    gp3 = next(s for s in plan(ctx) if getattr(s, "release", "") == "storage-classes")
    release = render_step(gp3, ctx, chart_repo.catalog(), None)  # type: ignore[arg-type]
    (cls,) = release.objects()
    assert cls["metadata"] == {
        "name": "gp3",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
    }
    assert cls["parameters"]["type"] == "gp3" and cls["parameters"]["encrypted"] == "true"
    assert cls["volumeBindingMode"] == "WaitForFirstConsumer" and cls["allowVolumeExpansion"] is True


@pytest.mark.parametrize("plugin", ["cilium", "calico", "flannel"])
def test_every_cni_gets_the_pod_cidr_from_the_spec(
    plugin: str, aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    spec = aws_cluster.spec.model_copy(update={"cni": Cni(plugin=plugin)})  # type: ignore[arg-type]
    objects = rendered(AddonContext(spec, aws_cluster.outputs), plugin, chart_repo, tmp_path)
    cidr = spec.kubernetes.pod_cidr
    if plugin == "cilium":
        assert find(objects, "ConfigMap", "cilium-config")["data"]["cluster-pool-ipv4-cidr"] == cidr
        assert not [o for o in objects if o["kind"] == "Secret"]  # hubble certificates are not rendered
    elif plugin == "calico":
        pools = find(objects, "Installation", "default")["spec"]["calicoNetwork"]["ipPools"]
        assert pools[0]["cidr"] == cidr and pools[0]["encapsulation"] == "VXLAN"
        assert objects[0] == {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "tigera-operator"},
        }
    else:
        config = json.loads(find(objects, "ConfigMap", "kube-flannel-cfg")["data"]["net-conf.json"])
        assert config["Network"] == cidr


def test_calico_installs_its_operator_crds_and_installation(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    spec = aws_cluster.spec.model_copy(update={"cni": Cni(plugin="calico")})
    settings = RunSettings(timeout=5, interval=0.05, cache=tmp_path / "cache", catalog=chart_repo.catalog())
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        report = run_addons(kube, AddonContext(spec, aws_cluster.outputs), settings)
    assert report.ok, report.as_dict()
    installation = aws_cluster.api.emulator.get("Installation", "default")
    assert installation is not None and "namespace" not in installation["metadata"]  # cluster-scoped
    # the chart's pre-delete hook Job (it deletes the Installation) is never created at install
    assert [w for w in aws_cluster.api.emulator.writes if w[3] == "tigera-operator-uninstall"] == []


def test_nodes_the_cloud_controller_never_initialises_stop_the_run(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    aws_cluster.api.emulator.ready_hooks.clear()  # a CCM that runs but cannot reach the cloud API
    settings = RunSettings(timeout=0.5, interval=0.05, cache=tmp_path / "cache", catalog=chart_repo.catalog())
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        report = run_addons(kube, AddonContext(aws_cluster.spec, aws_cluster.outputs), settings)
    gate = report.steps[-1]
    assert gate.name == "nodes-initialized" and not gate.ok
    assert (
        gate.problems[0]
        == "Node demo-aws-cp-0: still has the node.cloudprovider.kubernetes.io/uninitialized taint"
    )
    assert len(gate.problems) == 3
    assert report.skipped == ["aws-ebs-csi-driver", "storage-classes", "aws-load-balancer-controller"]


def test_values_the_chart_schema_refuses_fail_the_render_naming_the_key(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    typo = ChartAddon(
        "aws-load-balancer-controller", lambda c: {"clusterName": c.spec.name, "vpcID": "vpc-1"}
    )
    with pytest.raises(ClouderError, match="additional properties 'vpcID' not allowed"):
        render_step(typo, ctx, chart_repo.catalog(), tmp_path / "cache")


def test_azure_ccm_reads_azure_json_from_the_secret(
    azure_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    ctx = AddonContext(azure_cluster.spec, azure_cluster.outputs)
    objects = rendered(ctx, "cloud-provider-azure", chart_repo, tmp_path)
    container = find(objects, "Deployment", "cloud-controller-manager")["spec"]["template"]["spec"][
        "containers"
    ][0]
    args = container["args"]
    for arg in (
        "--cloud-config=",
        "--cloud-config-secret-name=azure-cloud-provider",
        "--enable-dynamic-reloading=true",
        "--allocate-node-cidrs=false",
        "--configure-cloud-routes=false",
        "--cluster-name=demo-azure",
        f"--cluster-cidr={azure_cluster.spec.kubernetes.pod_cidr}",
    ):
        assert arg in args
    assert container["image"] == "mcr.microsoft.com/oss/kubernetes/azure-cloud-controller-manager:v1.33.4"
    disk = rendered(ctx, "azuredisk-csi-driver", chart_repo, tmp_path)
    controller_args = find(disk, "Deployment", "csi-azuredisk-controller")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert "--cloud-config-secret-name=azure-cloud-provider" in controller_args["args"]
    assert not [o for o in disk if o["metadata"]["name"].endswith("-win")]  # Windows node plugin off


def test_render_scopes_custom_resources_by_their_crds_and_a_failing_render_leaves_nothing(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    from clouder.addons.gitops import write_manifests

    spec = aws_cluster.spec.model_copy(update={"cni": Cni(plugin="calico")})
    ctx = AddonContext(spec, aws_cluster.outputs)
    out = tmp_path / "gitops"
    written = write_manifests(ctx, chart_repo.catalog(), out, tmp_path / "cache")
    hook = "Job tigera-operator/tigera-operator-uninstall (release calico): a pre-delete hook, not a plain "
    hook += "object"
    assert hook in written.omitted
    assert "tigera-operator-uninstall" not in (out / "01-calico.yaml").read_text()
    docs = list(yaml.safe_load_all((out / "01-calico.yaml").read_text()))
    installation = next(d for d in docs if d["kind"] == "Installation")
    assert "namespace" not in installation["metadata"]  # the chart's CRD says scope: Cluster
    missing = chart_repo.catalog().with_version("aws-ebs-csi-driver", "9.9.9")
    again = tmp_path / "again"
    with pytest.raises(ClouderError, match=r"9\.9\.9"):
        write_manifests(ctx, missing, again, tmp_path / "cache")
    assert not again.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".again")] == []


def test_cilium_certificate_hook_runs_on_a_cluster_without_untainted_workers(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """Cilium's hubble-generate-certs is a post-install hook tolerating no taint by default (upstream
    _job-spec.tpl, certgen.tolerations: []): with no untainted worker it never runs and cilium never
    finishes. Clouder gives it the toleration the chart gives its operator."""
    ctx = AddonContext(aws_cluster.spec.model_copy(update={"node_pools": []}), aws_cluster.outputs)
    step = next(s for s in plan(ctx) if isinstance(s, ChartAddon) and s.release == "cilium")
    chart = render_step(step, ctx, chart_repo.catalog(), tmp_path / "cache")
    (hook,) = [h for h in chart.hooks if h.manifest["kind"] == "Job"]
    assert hook.events == ("post-install", "post-upgrade")
    pod = hook.manifest["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["tolerations"] == [{"operator": "Exists"}]
