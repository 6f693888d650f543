"""Upstream facts the AWS stack must agree with, asserted on the synthesized JSON.

Each test names the upstream document it rests on (``../shared/upstream/`` or the upstream project at
Clouder's pin). The session's stacks are those of tests/support/aws_stacks.py: ``minimal`` (public API,
bastion), ``ha`` (internal API, calico, three zones) and ``direct`` (public API, nodes on public IPs).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from clouder.modules.aws.identities import policy_document
from support.aws_stacks import AwsStack
from support.upstream import upstream_text

API_PORT = 6443


def api_ingress_cidrs(stack: AwsStack) -> set[str]:
    """The CIDRs the API load balancer's security group admits on 6443."""
    (group_key,) = [
        key
        for key, group in stack.resources("aws_security_group").items()
        if group["name"] == f"{stack.spec.name}-load-balancer"
    ]
    ref = "${aws_security_group." + group_key + ".id}"
    return {
        cidr
        for rule in stack.resources("aws_security_group_rule").values()
        if rule["security_group_id"] == ref and rule["type"] == "ingress" and rule["from_port"] == API_PORT
        for cidr in rule.get("cidr_blocks", [])
    }


def nat_addresses(stack: AwsStack) -> set[str]:
    """``${aws_eip.X.public_ip}/32`` of every NAT gateway's Elastic IP."""
    eips = stack.resources("aws_eip")
    found = set()
    for nat in stack.resources("aws_nat_gateway").values():
        (key,) = [k for k in eips if nat["allocation_id"] == "${aws_eip." + k + ".id}"]
        found.add("${aws_eip." + key + ".public_ip}/32")
    return found


# Cluster API for AWS admits the NAT gateways' addresses to a public API load balancer because nodes in
# private subnets reach it from those addresses (kubernetes-sigs/cluster-api-provider-aws,
# pkg/cloud/services/securitygroup: "getIngressRulesToAllowKubeletToAccessTheControlPlaneLB"). Kubeadm's
# ports page (kubernetes_website@31a8f95e__content_en_docs_reference_networking_ports-and-protocols.md):
# 6443 inbound to the control plane from "All".
def test_public_api_admits_the_clusters_own_nat_gateway_addresses_and_nothing_else(
    aws_stacks: dict[str, AwsStack],
) -> None:
    stack = aws_stacks["minimal"]
    nat = nat_addresses(stack)
    assert len(nat) == 1
    assert api_ingress_cidrs(stack) == nat | set(stack.spec.network.admin_cidrs)


def test_internal_api_and_nodes_on_public_ips_admit_no_nat_addresses(aws_stacks: dict[str, AwsStack]) -> None:
    for key in ("ha", "direct"):
        stack = aws_stacks[key]
        assert api_ingress_cidrs(stack) == set(stack.spec.network.admin_cidrs), key


# --- identities: what each role holds, against the upstream policy documents -------------------------------

EBS_POLICY = (
    "kubernetes-sigs_aws-ebs-csi-driver@helm-chart-aws-ebs-csi-driver-2.50.0__docs_example-iam-policy.json"
)
LBC_POLICY = "kubernetes-sigs_aws-load-balancer-controller@v2.14.1__docs_install_iam_policy.json"
CCM_PREREQUISITES = "kubernetes_cloud-provider-aws@v1.33.1__docs_prerequisites.md"
# Deliberate differences from the upstream documents, (document, action) -> why. None today: Clouder's
# documents equal upstream's at the pinned versions (chart 2.50.0, LBC v2.14.1, cloud-provider-aws v1.33.1).
DELIBERATE_DIFFERENCES: dict[tuple[str, str], str] = {}


def statements(document: dict[str, Any]) -> list[str]:
    return sorted(json.dumps(s, sort_keys=True) for s in document["Statement"])


def actions(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        action = statement["Action"]
        found |= {action} if isinstance(action, str) else set(action)
    return found


def prerequisite_policies() -> list[dict[str, Any]]:
    """The two JSON policies of cloud-provider-aws' prerequisites page: control plane, then node."""
    text = upstream_text(CCM_PREREQUISITES)
    return [json.loads(block) for block in re.findall(r"```(?:json)?\n(\{.*?)```", text, re.S)]


@pytest.mark.parametrize(
    ("name", "source"),
    [("ebs-csi-driver", EBS_POLICY), ("load-balancer-controller", LBC_POLICY)],
)
def test_controller_policies_match_upstream_action_by_action(name: str, source: str) -> None:
    mine, theirs = json.loads(policy_document(name)), json.loads(upstream_text(source))
    differences = {(name, a) for a in actions(mine) ^ actions(theirs)}
    assert differences == {k for k in DELIBERATE_DIFFERENCES if k[0] == name}
    if not differences:  # same actions: the same statements too (resources, tag conditions)
        assert statements(mine) == statements(theirs)


def test_cloud_controller_and_node_policies_match_cloud_provider_aws_prerequisites() -> None:
    control_plane, node = prerequisite_policies()
    assert actions(json.loads(policy_document("cloud-controller-manager"))) == actions(control_plane)
    assert actions(json.loads(policy_document("node"))) == actions(node)


def role_actions(stack: AwsStack) -> dict[str, set[str]]:
    """Role (by what its instances are) -> every action of the policies attached to it."""
    policies = {
        "${aws_iam_policy." + key + ".arn}": json.loads(p["policy"])
        for key, p in stack.resources("aws_iam_policy").items()
    }
    by_role: dict[str, set[str]] = {}
    for attachment in stack.resources("aws_iam_role_policy_attachment").values():
        by_role.setdefault(attachment["role"], set()).update(actions(policies[attachment["policy_arn"]]))
    profiles = {
        "${aws_iam_instance_profile." + key + ".name}": p["role"]
        for key, p in stack.resources("aws_iam_instance_profile").items()
    }
    held: dict[str, set[str]] = {}
    for instance in stack.resources("aws_instance").values():
        role = instance["tags"]["clouder.dev/role"]
        if role != "bastion":
            held.setdefault(role, set()).update(by_role[profiles[instance["iam_instance_profile"]]])
    return held


@pytest.mark.parametrize("key", ["minimal", "ha"])
def test_workers_hold_only_the_node_policy_and_none_of_the_controllers_writes(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    held = role_actions(aws_stacks[key])
    _, node = prerequisite_policies()
    assert held["worker"] == actions(node)
    controllers = actions(json.loads(policy_document("cloud-controller-manager")))
    controllers |= actions(json.loads(policy_document("ebs-csi-driver")))
    if aws_stacks[key].spec.load_balancing.controller:
        controllers |= actions(json.loads(policy_document("load-balancer-controller")))
    writes = {a for a in controllers if not re.match(r"[a-z0-9-]+:(Describe|Get|List)", a)}
    assert writes and not held["worker"] & writes
    assert controllers <= held["control-plane"]


# The node DaemonSets that need instance metadata run in the host's network namespace, so workers keep
# IMDSv2's hop limit at 1 and their pods cannot reach instance credentials; the controllers' pods on the
# control planes need 2 (ebs-csi-driver values: controller.hostNetwork false; LBC values: hostNetwork false).
@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_only_control_planes_let_pods_reach_instance_metadata(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    stack = aws_stacks[key]
    for instance in stack.resources("aws_instance").values():
        role = instance["tags"]["clouder.dev/role"]
        if role == "bastion":
            continue
        want = 2 if role == "control-plane" else 1
        assert instance["metadata_options"]["http_put_response_hop_limit"] == want, instance["tags"]["Name"]
    for template in stack.resources("aws_launch_template").values():
        want = 2 if template["description"].endswith(": control-plane nodes") else 1
        assert template["metadata_options"]["http_put_response_hop_limit"] == want, template["description"]


# --- the API load balancer ----------------------------------------------------------------------------------


# ELB guide ("connections time out for requests from a target to its load balancer"): with instance targets
# and client IP preservation, a target routed to itself drops the flow; disabling preservation lets the
# hairpin work. kubeadm's API server answers /readyz without credentials over HTTPS (the Azure probe's path).
@pytest.mark.parametrize("key", ["minimal", "ha"])
def test_api_target_group_checks_https_readyz_and_does_not_preserve_client_ips(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    group = aws_stacks[key].one("aws_lb_target_group")
    assert (group["target_type"], group["preserve_client_ip"]) == ("instance", "false")
    check = group["health_check"]
    assert (check["protocol"], check["path"], check["port"], check["matcher"]) == (
        "HTTPS",
        "/readyz",
        "6443",
        "200",
    )


# containerd advisories CVE-2024-25621 and CVE-2025-64329: 1.7.28 and older are affected, 1.7.29 is fixed.
def test_nodes_install_a_containerd_with_the_2025_fixes(aws_stacks: dict[str, AwsStack]) -> None:
    for description, user_data in aws_stacks["minimal"].user_data().items():
        if "bastion" in description:
            continue
        (version,) = re.findall(r"CONTAINERD_VERSION='(\d+\.\d+\.\d+)-", user_data)
        assert tuple(int(part) for part in version.split(".")) >= (1, 7, 29), (description, version)


# The AWS API (and so the provider's validation) accepts only these characters in a rule's description.
@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_security_group_rule_descriptions_use_only_what_aws_accepts(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    allowed = re.compile(r"^[0-9A-Za-z_ .:/()#,@\[\]+=&;{}!$*-]*$")
    for rule in aws_stacks[key].resources("aws_security_group_rule").values():
        assert allowed.match(rule["description"]), rule["description"]
