"""The runtime plane never hands agents the nodes' credentials: world egress excepts the instance metadata
service, and a CNI that does not enforce NetworkPolicies is said out loud."""

from __future__ import annotations

from clouder.kube.validate import problems
from clouder.services import runtime
from clouder.spec.model import ClusterSpec
from support.services import spec_document


def _spec(**changes: object) -> ClusterSpec:
    return ClusterSpec.model_validate(spec_document(**changes))


def test_world_egress_does_not_reach_the_instance_metadata_service() -> None:
    loaded = _spec(**{"runtime": {"namespaces": [
        {"name": "agents", "egress": [{"cidr": "0.0.0.0/0", "ports": [443]},
                                      {"cidr": "10.0.0.0/16", "ports": [5432]}]}]}})  # fmt: skip
    objects = runtime.manifests(loaded)
    assert problems(objects, loaded.kubernetes.version) == []
    egress = next(o for o in objects if o["metadata"]["name"] == "allow-egress")["spec"]["egress"]
    assert [rule["to"][0]["ipBlock"] for rule in egress] == [
        {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]},
        {"cidr": "10.0.0.0/16"},
    ]


def test_flannel_with_a_runtime_plane_is_warned_about() -> None:
    assert runtime.warnings(_spec()) == []
    (warning,) = runtime.warnings(_spec(**{"cni.plugin": "flannel"}))
    assert "does not enforce NetworkPolicies" in warning
    assert runtime.warnings(_spec(**{"cni.plugin": "flannel", "runtime.namespaces": []})) == []
