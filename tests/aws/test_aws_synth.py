"""Synth assertions for every AWS construct, on the session's stacks (tests/support/aws_stacks.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from clouder.catalog import aws as catalog
from clouder.outputs import OUTPUT_NAMES
from support.aws_stacks import MOTO_AMI, PUBLIC_KEY, REPO, AwsStack

CLUSTER_TAG = "kubernetes.io/cluster/{}"


def ref_name(expression: str) -> str:
    """``${aws_x.name.attr}`` -> ``name``."""
    match = re.fullmatch(r"\$\{[a-z0-9_]+\.([^.}]+)\.[a-z_]+\}", expression)
    assert match, expression
    return match[1]


def group_names(stack: AwsStack) -> dict[str, str]:
    """Terraform name of each security group -> its tier (the suffix of its AWS name)."""
    prefix = f"{stack.spec.name}-"
    return {key: sg["name"].removeprefix(prefix) for key, sg in stack.resources("aws_security_group").items()}


def rule_set(stack: AwsStack) -> set[tuple[str, str, str, int, int, str]]:
    groups = group_names(stack)
    rules = set()
    for rule in stack.resources("aws_security_group_rule").values():
        assert rule["description"], rule
        if "source_security_group_id" in rule:
            peer = groups[ref_name(rule["source_security_group_id"])]
        else:
            assert len(rule["cidr_blocks"]) == 1
            peer = rule["cidr_blocks"][0]
        group = groups[ref_name(rule["security_group_id"])]
        rules.add((group, rule["type"], rule["protocol"], rule["from_port"], rule["to_port"], peer))
    return rules


KUBEADM = {
    ("load-balancer", "ingress", "tcp", 6443, 6443, "nodes"),
    ("control-plane", "ingress", "tcp", 6443, 6443, "load-balancer"),
    ("control-plane", "ingress", "tcp", 6443, 6443, "nodes"),
    ("control-plane", "ingress", "tcp", 2379, 2380, "control-plane"),
    ("nodes", "ingress", "tcp", 10250, 10250, "control-plane"),
    ("nodes", "ingress", "tcp", 10256, 10256, "load-balancer"),
    ("nodes", "ingress", "tcp", 30000, 32767, "load-balancer"),
    ("nodes", "egress", "-1", 0, 0, "0.0.0.0/0"),
    ("load-balancer", "egress", "tcp", 6443, 6443, "control-plane"),
}
CILIUM = {
    ("nodes", "ingress", "udp", 8472, 8472, "nodes"),
    ("nodes", "ingress", "tcp", 4240, 4240, "nodes"),
    ("nodes", "ingress", "tcp", 4244, 4244, "nodes"),
    ("nodes", "ingress", "icmp", 8, 0, "nodes"),
}
BASTION = {
    ("bastion", "egress", "tcp", 22, 22, "nodes"),
    ("bastion", "egress", "tcp", 6443, 6443, "load-balancer"),
    ("load-balancer", "ingress", "tcp", 6443, 6443, "bastion"),
    ("nodes", "ingress", "tcp", 22, 22, "bastion"),
}
LBC_WEBHOOK = {("nodes", "ingress", "tcp", 9443, 9443, "control-plane")}


def admins(cidrs: list[str], *tiers_ports: tuple[str, int]) -> set[tuple[str, str, str, int, int, str]]:
    return {(tier, "ingress", "tcp", port, port, cidr) for cidr in cidrs for tier, port in tiers_ports}


# --- security ---------------------------------------------------------------------------------------------


def test_minimal_security_rules_are_exactly_kubeadm_cilium_lbc_and_bastion(
    aws_stacks: dict[str, AwsStack],
) -> None:
    stack = aws_stacks["minimal"]
    expected = KUBEADM | CILIUM | LBC_WEBHOOK | BASTION
    expected |= admins(["203.0.113.0/24"], ("load-balancer", 6443), ("bastion", 22))
    (nat_ip,) = [eip for eip in stack.resources("aws_eip").values() if "instance" not in eip]
    expected |= admins([stack.ref("aws_eip", nat_ip, "public_ip") + "/32"], ("load-balancer", 6443))
    assert rule_set(stack) == expected


def test_ha_security_rules_follow_calico_two_admin_ranges_and_no_lbc(aws_stacks: dict[str, AwsStack]) -> None:
    stack = aws_stacks["ha"]
    calico = {  # VXLAN only: Clouder renders Calico with BGP disabled (no TCP 179, no IP-in-IP)
        ("nodes", "ingress", "udp", 4789, 4789, "nodes"),
        ("nodes", "ingress", "tcp", 5473, 5473, "nodes"),
    }
    expected = KUBEADM | calico | BASTION
    expected |= admins(["198.51.100.0/24", "203.0.113.10/32"], ("load-balancer", 6443), ("bastion", 22))
    assert rule_set(stack) == expected


def test_direct_access_opens_ssh_to_nodes_from_admins_only_and_has_no_bastion(
    aws_stacks: dict[str, AwsStack],
) -> None:
    stack = aws_stacks["direct"]
    flannel = {("nodes", "ingress", "udp", 8472, 8472, "nodes")}
    expected = KUBEADM | flannel | LBC_WEBHOOK
    expected |= admins(["203.0.113.0/24"], ("load-balancer", 6443), ("nodes", 22))
    assert rule_set(stack) == expected
    assert "bastion" not in group_names(stack).values()


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_nothing_is_open_to_the_world_and_only_the_node_group_carries_the_cluster_tag(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    stack = aws_stacks[key]
    for rule in stack.resources("aws_security_group_rule").values():
        if rule["type"] == "ingress":
            assert "0.0.0.0/0" not in rule.get("cidr_blocks", []), rule
    tagged = [
        sg["name"]
        for sg in stack.resources("aws_security_group").values()
        if CLUSTER_TAG.format(stack.spec.name) in sg["tags"]
    ]
    assert tagged == [f"{stack.spec.name}-nodes"]
    default = stack.one("aws_default_security_group")
    assert "ingress" not in default and "egress" not in default
    assert ref_name(default["vpc_id"]) in stack.resources("aws_vpc")


# --- network ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "nat_gateways"), [("minimal", 1), ("ha", 3)])
def test_network_has_tagged_public_and_private_subnets_per_zone(
    aws_stacks: dict[str, AwsStack], key: str, nat_gateways: int
) -> None:
    stack = aws_stacks[key]
    spec = stack.spec
    owned = CLUSTER_TAG.format(spec.name)
    vpc = stack.one("aws_vpc")
    assert vpc["cidr_block"] == spec.network.cidr
    assert vpc["enable_dns_hostnames"] is True and vpc["enable_dns_support"] is True
    assert vpc["tags"][owned] == "owned"
    subnets = stack.resources("aws_subnet")
    assert len(subnets) == 2 * len(spec.network.subnets)
    for zone in spec.network.subnets:
        (public,) = [s for s in subnets.values() if s["cidr_block"] == zone.public]
        (private,) = [s for s in subnets.values() if s["cidr_block"] == zone.private]
        for subnet in (public, private):
            assert subnet["availability_zone"] == zone.zone
            assert subnet["tags"][owned] == "owned"
            assert subnet["map_public_ip_on_launch"] is False
        assert public["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in public["tags"]
        assert private["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in private["tags"]

    assert len(stack.resources("aws_nat_gateway")) == nat_gateways
    igw = stack.one("aws_internet_gateway")
    routes = list(stack.resources("aws_route").values())
    to_igw = [r for r in routes if r.get("gateway_id") == stack.ref("aws_internet_gateway", igw)]
    to_nat = [r for r in routes if "nat_gateway_id" in r]
    assert len(to_igw) == 1 and len(to_nat) == len(spec.network.subnets)
    assert all(r["destination_cidr_block"] == "0.0.0.0/0" for r in routes)
    for nat in stack.resources("aws_nat_gateway").values():
        assert subnets[ref_name(nat["subnet_id"])]["tags"]["kubernetes.io/role/elb"] == "1"
    associated = {ref_name(a["subnet_id"]) for a in stack.resources("aws_route_table_association").values()}
    assert associated == set(subnets)


# --- identities -------------------------------------------------------------------------------------------


def policy_file(name: str) -> Any:
    return json.loads((REPO / "modules" / "aws" / "policies" / f"{name}.json").read_text())


@pytest.mark.parametrize(("key", "control_plane_policies"), [
    ("minimal", {"cloud-controller-manager", "node", "ebs-csi-driver", "load-balancer-controller"}),
    ("ha", {"cloud-controller-manager", "node", "ebs-csi-driver"}),
])  # fmt: skip
def test_roles_get_exactly_their_documented_policies(
    aws_stacks: dict[str, AwsStack], key: str, control_plane_policies: set[str]
) -> None:
    stack = aws_stacks[key]
    policies = stack.resources("aws_iam_policy")
    by_key = {}
    for name, policy in policies.items():
        document = json.loads(policy["policy"])
        matches = [
            f for f in ("cloud-controller-manager", "node", "ebs-csi-driver", "load-balancer-controller")
            if policy_file(f) == document
        ]  # fmt: skip
        assert len(matches) == 1, f"{name} is not one of the policy documents"
        by_key[name] = matches[0]
    roles = stack.resources("aws_iam_role")
    assert len(roles) == 2
    for role in roles.values():
        trust = json.loads(role["assume_role_policy"])
        assert trust["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    attached: dict[str, set[str]] = {}
    for attachment in stack.resources("aws_iam_role_policy_attachment").values():
        role = ref_name(attachment["role"])
        attached.setdefault(role, set()).add(by_key[ref_name(attachment["policy_arn"])])
    assert sorted(attached.values(), key=len) == sorted([{"node"}, control_plane_policies], key=len)
    # Nodes wear the profile of their role: control planes the controllers', workers the node's alone.
    profiles = stack.resources("aws_iam_instance_profile")
    profile_policies = {name: attached[ref_name(p["role"])] for name, p in profiles.items()}
    for instance in stack.resources("aws_instance").values():
        role = instance["tags"]["clouder.dev/role"]
        if role == "bastion":
            assert "iam_instance_profile" not in instance
            continue
        policies_here = profile_policies[ref_name(instance["iam_instance_profile"])]
        assert ("cloud-controller-manager" in policies_here) == (role == "control-plane")


def test_policy_documents_fit_iams_size_limit_and_are_valid_documents() -> None:
    for path in (REPO / "modules" / "aws" / "policies").glob("*.json"):
        document = json.loads(path.read_text())
        assert document["Version"] == "2012-10-17"
        assert all(s["Effect"] == "Allow" and s["Action"] for s in document["Statement"])
        assert len(json.dumps(document, separators=(",", ":"))) <= 6144, path.name


# --- nodes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["minimal", "ha", "direct", "moto"])
def test_launch_templates_require_imdsv2_and_encrypt_gp3_roots(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    stack = aws_stacks[key]
    spec = stack.spec
    disks = {"control-plane": spec.control_plane.disk_gb, "bastion": 30}
    disks |= {pool.name: pool.disk_gb for pool in spec.node_pools}
    templates = stack.resources("aws_launch_template")
    assert len(templates) == 1 + len(spec.node_pools) + (spec.access.mode == "bastion")
    for template in templates.values():
        group = template["description"].split(": ")[1].removesuffix(" nodes")
        assert template["metadata_options"] == {
            "http_endpoint": "enabled", "http_tokens": "required",
            "http_put_response_hop_limit": 2 if group == "control-plane" else 1,
            "instance_metadata_tags": "disabled",
        }  # fmt: skip
        (device,) = template["block_device_mappings"]
        assert device["ebs"] == {
            "encrypted": "true", "volume_type": "gp3", "volume_size": disks[group],
            "delete_on_termination": "true",
        }  # fmt: skip
        assert template["private_dns_name_options"] == {"hostname_type": "ip-name"}
        if spec.aws.ami:
            assert template["image_id"] == spec.aws.ami
    if not spec.aws.ami:
        image = next(iter(stack.doc["data"]["aws_ami"].values()))
        assert image["owners"] == [catalog.UBUNTU_IMAGE_OWNER]
        assert image["filter"] == [{"name": "name", "values": [catalog.UBUNTU_IMAGE_NAME]}]
        assert all(t["image_id"].startswith("${data.aws_ami.") for t in templates.values())
    for instance in stack.resources("aws_instance").values():
        assert instance["metadata_options"]["http_tokens"] == "required"
        assert instance["root_block_device"]["encrypted"] is True
        assert ref_name(instance["launch_template"]["id"]) in templates


def test_moto_stack_uses_the_specs_ami(aws_stacks: dict[str, AwsStack]) -> None:
    templates = aws_stacks["moto"].resources("aws_launch_template")
    assert {t["image_id"] for t in templates.values()} == {MOTO_AMI}


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_nodes_are_spread_over_zones_with_their_pools_size_and_groups(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    stack = aws_stacks[key]
    spec = stack.spec
    direct = spec.access.mode == "direct"
    subnets = stack.resources("aws_subnet")
    groups = group_names(stack)
    templates = stack.resources("aws_launch_template")
    expected = {"control-plane": (spec.control_plane.count, spec.control_plane_size())}
    expected |= {pool.name: (pool.count, spec.pool_size(pool)) for pool in spec.node_pools}
    for group, (count, size) in expected.items():
        instances = stack.by_tag("aws_instance", "clouder.dev/pool", group)
        assert len(instances) == count
        zones = [subnets[ref_name(i["subnet_id"])]["availability_zone"] for i in instances]
        zone_names = [s.zone for s in spec.network.subnets]
        assert zones == [zone_names[i % len(zone_names)] for i in range(count)]
        for instance in instances:
            subnet = subnets[ref_name(instance["subnet_id"])]
            assert ("kubernetes.io/role/elb" in subnet["tags"]) is direct
            assert instance["associate_public_ip_address"] is direct
            assert instance["tags"][CLUSTER_TAG.format(spec.name)] == "owned"
            template = templates[ref_name(instance["launch_template"]["id"])]
            assert template["instance_type"] == size
            tiers = {groups[ref_name(sg)] for sg in template["vpc_security_group_ids"]}
            assert tiers == ({"nodes", "control-plane"} if group == "control-plane" else {"nodes"})


# --- API load balancer and bastion ------------------------------------------------------------------------


def test_api_health_check_puts_a_control_plane_in_rotation_ten_seconds_after_it_answers(
    aws_stacks: dict[str, AwsStack],
) -> None:
    """The NLB's minimums both ways (docs/time-to-ready.md says what they cost); timeout < interval."""
    check = aws_stacks["ha"].one("aws_lb_target_group")["health_check"]
    numbers = (check["interval"], check["healthy_threshold"], check["unhealthy_threshold"], check["timeout"])
    assert numbers == (5, 2, 2, 4)


@pytest.mark.parametrize(("key", "internal"), [("minimal", False), ("ha", True)])
def test_api_load_balancer_forwards_tcp_6443_to_every_control_plane(
    aws_stacks: dict[str, AwsStack], key: str, internal: bool
) -> None:
    stack = aws_stacks[key]
    lb = stack.one("aws_lb")
    assert lb["load_balancer_type"] == "network" and lb["internal"] is internal
    subnets = stack.resources("aws_subnet")
    role_tag = "kubernetes.io/role/internal-elb" if internal else "kubernetes.io/role/elb"
    assert len(lb["subnets"]) == len(stack.spec.network.subnets)
    assert all(role_tag in subnets[ref_name(s)]["tags"] for s in lb["subnets"])
    assert [group_names(stack)[ref_name(sg)] for sg in lb["security_groups"]] == ["load-balancer"]
    group = stack.one("aws_lb_target_group")
    assert (group["protocol"], group["port"], group["target_type"]) == ("TCP", 6443, "instance")
    assert group["preserve_client_ip"] == "false"
    assert group["health_check"]["protocol"] == "HTTPS" and group["health_check"]["enabled"] is True
    listener = stack.one("aws_lb_listener")
    assert (listener["protocol"], listener["port"]) == ("TCP", 6443)
    assert listener["load_balancer_arn"] == stack.ref("aws_lb", lb, "arn")
    assert listener["default_action"] == [
        {"type": "forward", "target_group_arn": stack.ref("aws_lb_target_group", group, "arn")}
    ]
    attachments = stack.resources("aws_lb_target_group_attachment").values()
    control_planes = stack.by_tag("aws_instance", "clouder.dev/role", "control-plane")
    assert sorted(a["target_id"] for a in attachments) == sorted(
        stack.ref("aws_instance", cp) for cp in control_planes
    )
    assert all(a["port"] == 6443 for a in attachments)


def test_bastion_sits_in_a_public_subnet_behind_an_elastic_ip(aws_stacks: dict[str, AwsStack]) -> None:
    stack = aws_stacks["minimal"]
    (bastion,) = stack.by_tag("aws_instance", "clouder.dev/role", "bastion")
    assert "kubernetes.io/cluster/demo-aws" not in bastion["tags"]
    subnet = stack.resources("aws_subnet")[ref_name(bastion["subnet_id"])]
    assert subnet["tags"]["kubernetes.io/role/elb"] == "1"
    template = stack.resources("aws_launch_template")[ref_name(bastion["launch_template"]["id"])]
    assert [group_names(stack)[ref_name(sg)] for sg in template["vpc_security_group_ids"]] == ["bastion"]
    assert template["instance_type"] == stack.spec.aws.bastion_size
    (bastion_ip,) = [e for e in stack.resources("aws_eip").values() if "instance" in e]
    assert bastion_ip["instance"] == stack.ref("aws_instance", bastion)
    assert not aws_stacks["direct"].by_tag("aws_instance", "clouder.dev/role", "bastion")


# --- stack: provider, backend, outputs --------------------------------------------------------------------


def test_provider_constraint_accepts_the_mirrors_5_100_and_tags_everything(
    aws_stacks: dict[str, AwsStack],
) -> None:
    ha = aws_stacks["ha"].doc
    assert ha["terraform"]["required_providers"]["aws"]["version"] == "~> 5.99"
    (provider,) = ha["provider"]["aws"]
    assert provider["region"] == "eu-west-1"
    assert provider["default_tags"] == [{"tags": {"clouder.dev/cluster": "prod-aws", "cost-center": "4711"}}]
    assert "endpoints" not in provider  # moto is reached only through the tests' override file


def test_backend_follows_the_spec(aws_stacks: dict[str, AwsStack]) -> None:
    assert aws_stacks["minimal"].doc["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}
    s3 = aws_stacks["ha"].doc["terraform"]["backend"]["s3"]
    assert s3 == {
        "bucket": "acme-clouder-state", "key": "clusters/prod-aws.tfstate", "region": "eu-west-1",
        "encrypt": True, "use_lockfile": True,
    }  # fmt: skip


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_outputs_publish_the_contract(aws_stacks: dict[str, AwsStack], key: str) -> None:
    stack = aws_stacks[key]
    spec = stack.spec
    outputs = {name: entry["value"] for name, entry in stack.doc["output"].items()}
    assert sorted(outputs) == sorted(OUTPUT_NAMES)
    assert outputs["contract_version"] == "1" and outputs["cluster_name"] == spec.name
    assert outputs["api_endpoint"] == {
        "host": stack.ref("aws_lb", stack.one("aws_lb"), "dns_name"),
        "port": 6443,
    }
    instances = stack.resources("aws_instance")
    nodes = outputs["nodes"]
    assert len(nodes) == spec.control_plane.count + sum(p.count for p in spec.node_pools)
    for node in nodes:
        instance = instances[ref_name(node["name"])]
        assert node["name"] == stack.ref("aws_instance", instance, "private_dns")
        assert node["private_ip"] == stack.ref("aws_instance", instance, "private_ip")
        assert node["provider_id"] == f"aws:///{node['zone']}/" + stack.ref("aws_instance", instance)
        assert node["pool"] == instance["tags"]["clouder.dev/pool"]
        assert node["role"] == instance["tags"]["clouder.dev/role"]
        assert ("public_ip" in node) is (spec.access.mode == "direct")
    ssh = outputs["ssh"]
    assert ssh["mode"] == spec.access.mode and ssh["user"] == spec.access.user
    if spec.access.mode == "bastion":
        (bastion_ip,) = [e for e in stack.resources("aws_eip").values() if "instance" in e]
        assert ssh["bastion_host"] == stack.ref("aws_eip", bastion_ip, "public_ip")
        # the bastion's instance, for its console (host keys): the same form as a node's provider ID
        (bastion,) = [i for i in instances.values() if i["tags"]["clouder.dev/role"] == "bastion"]
        instance_id = stack.ref("aws_instance", bastion)
        assert ssh["bastion_provider_id"] == f"aws:///{nodes[0]['zone']}/{instance_id}"
    else:
        assert "bastion_host" not in ssh and "bastion_provider_id" not in ssh
    facts = outputs["cloud"]
    assert facts["cloud"] == "aws" and facts["region"] == spec.aws.region
    assert facts["account_id"] == "${data.aws_caller_identity.caller.account_id}"
    assert facts["vpc_id"] == stack.ref("aws_vpc", stack.one("aws_vpc"))
    assert len(facts["public_subnet_ids"]) == len(facts["private_subnet_ids"]) == len(spec.network.subnets)
    assert group_names(stack)[ref_name(facts["node_security_group_id"])] == "nodes"


def test_user_data_installs_the_specs_key(aws_stacks: dict[str, AwsStack]) -> None:
    for text in aws_stacks["minimal"].user_data().values():
        assert PUBLIC_KEY in text


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_every_taggable_resource_carries_its_own_terraform_address(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    """The orphan search (clouder.terraform.orphans) relies on it after an interrupted apply."""
    untagged = {"aws_security_group_rule", "aws_route", "aws_route_table_association",
                "aws_iam_role_policy_attachment", "aws_lb_target_group_attachment"}  # fmt: skip
    seen = 0
    for kind, named in aws_stacks[key].doc["resource"].items():
        for name, body in named.items():
            if kind in untagged:
                assert "tags" not in body, f"{kind}.{name} takes tags: the aspect should have set them"
                continue
            assert body["tags"]["clouder.dev/address"] == f"{kind}.{name}"
            seen += 1
    assert seen >= 25
