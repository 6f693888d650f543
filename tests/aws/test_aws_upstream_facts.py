"""Upstream facts the AWS stack must agree with, asserted on the synthesized JSON.

Each test names the upstream document it rests on (``../shared/upstream/`` or the upstream project at
Clouder's pin). The session's stacks are those of tests/support/aws_stacks.py: ``minimal`` (public API,
bastion), ``ha`` (internal API, calico, three zones) and ``direct`` (public API, nodes on public IPs).
"""

from __future__ import annotations

from support.aws_stacks import AwsStack

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
