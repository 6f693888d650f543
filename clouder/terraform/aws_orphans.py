"""Finding and deleting an AWS stack's orphans: cloud objects an interrupted apply created but never recorded.

Driven by the configuration: for each resource the state lacks, look where that kind of object lives.
Tagged objects (VPC, subnets, groups, instances, NAT, load balancer, IAM, ...) must carry the
cluster's tag and their own Terraform address (``clouder.modules.aws.tags``). Untagged children
(security-group rules, routes, route-table associations, policy attachments) are matched by their
parents, which the state must hold or which must be orphans themselves, and by their configured
attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from clouder.modules.aws.tags import ADDRESS_TAG, CLUSTER_TAG

Attrs = dict[str, Any]

# Terraform type -> the EC2 ID prefix its objects carry (the ID is also its import ID).
EC2_TAGGED = {
    "aws_vpc": "vpc-",
    "aws_subnet": "subnet-",
    "aws_security_group": "sg-",
    "aws_internet_gateway": "igw-",
    "aws_route_table": "rtb-",
    "aws_instance": "i-",
    "aws_eip": "eipalloc-",
    "aws_nat_gateway": "nat-",
    "aws_launch_template": "lt-",
}
REFERENCE = re.compile(r"^\$\{(\w+)\.([\w-]+)\.(\w+)\}$")
EMBEDDED = re.compile(r"\$\{\w+\.[\w-]+\.\w+\}")  # a reference inside a longer string ("${…}/32")


@dataclass(frozen=True)
class Orphan:
    address: str
    type: str
    id: str  # the Terraform import ID
    attrs: tuple[tuple[str, str], ...] = ()  # what references to it resolve to (id, arn, name)


@dataclass
class Finder:
    """One search for a cluster's orphans: the configuration, what the state holds, and an AWS session."""

    cluster: str
    session: Any
    config: dict[str, dict[str, Attrs]]  # type -> name -> body
    state: dict[str, Attrs]  # address -> attribute values

    def __post_init__(self) -> None:
        self.found: dict[str, Orphan] = {}

    def missing(self, *types: str) -> Iterator[tuple[str, str, Attrs]]:
        for kind in types:
            for name, body in self.config.get(kind, {}).items():
                address = f"{kind}.{name}"
                if address not in self.state and address not in self.found:
                    yield address, kind, body

    def resolve(self, value: Any, attribute: str = "id") -> str | None:
        """A configured value, with a reference to another resource resolved from the state or the orphans."""
        if not isinstance(value, str):
            return None if value is None else str(value)
        match = REFERENCE.match(value)
        if match is None:
            return value
        kind, name, wanted = match.groups()
        address = f"{kind}.{name}"
        if address in self.state:
            resolved = self.state[address].get(wanted or attribute)
            return None if resolved is None else str(resolved)
        if address in self.found:
            return dict(self.found[address].attrs).get(wanted)
        return None

    def interpolate(self, value: str) -> str | None:
        """A configured string with every embedded reference resolved (None if one cannot be)."""
        parts = [self.resolve(ref) for ref in EMBEDDED.findall(value)]
        if any(part is None for part in parts):
            return None
        found = iter(parts)
        return EMBEDDED.sub(lambda _: str(next(found)), value)

    def add(self, address: str, kind: str, import_id: str, **attrs: str) -> None:
        resolved = tuple(sorted({"id": import_id, **attrs}.items()))
        self.found[address] = Orphan(address, kind, import_id, resolved)

    def ours(self, tags: dict[str, str], address: str) -> bool:
        return tags.get(CLUSTER_TAG) == self.cluster and tags.get(ADDRESS_TAG) == address


def search(finder: Finder) -> tuple[list[Orphan], dict[str, list[str]]]:
    """All orphans, and the addresses that several untracked objects claim (address -> their IDs)."""
    twins = _ec2_tagged(finder)
    for step in (_iam, _load_balancing, _rules, _default_egress, _routes, _associations, _attachments):
        step(finder)
    return sorted(finder.found.values(), key=lambda o: o.address), twins


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


# -- tagged EC2 objects -------------------------------------------------------------------------------------


def _ec2_tagged(finder: Finder) -> dict[str, list[str]]:
    wanted = {address: kind for address, kind, _ in finder.missing(*EC2_TAGGED)}
    if not wanted:
        return {}
    ec2 = finder.session.client("ec2")
    pages = ec2.get_paginator("describe_tags").paginate
    ours = {
        t["ResourceId"]
        for page in pages(Filters=[{"Name": "key", "Values": [CLUSTER_TAG]}])
        for t in page["Tags"]
        if t["Value"] == finder.cluster
    }
    claims: dict[str, list[str]] = {}
    for page in pages(Filters=[{"Name": "key", "Values": [ADDRESS_TAG]}]):
        for tag in page["Tags"]:
            address, resource = tag["Value"], tag["ResourceId"]
            kind = wanted.get(address)
            if resource in ours and kind is not None and resource.startswith(EC2_TAGGED[kind]):
                claims.setdefault(address, []).append(resource)
    live = _live(ec2, [r for ids in claims.values() for r in ids])
    claims = {a: [r for r in ids if r in live] for a, ids in claims.items()}
    twins = {}
    for address, ids in claims.items():
        if len(ids) == 1:
            finder.add(address, wanted[address], ids[0])
        elif ids:
            twins[address] = ids
    return twins


NAT_GONE = ("deleted", "deleting", "failed")
# ID prefix -> (describe call, its ID list parameter, the response's list, the state key, dead states)
DESCRIBE = {
    "vpc-": ("describe_vpcs", "VpcIds", "Vpcs", None, ()),
    "subnet-": ("describe_subnets", "SubnetIds", "Subnets", None, ()),
    "sg-": ("describe_security_groups", "GroupIds", "SecurityGroups", None, ()),
    "igw-": ("describe_internet_gateways", "InternetGatewayIds", "InternetGateways", None, ()),
    "rtb-": ("describe_route_tables", "RouteTableIds", "RouteTables", None, ()),
    "eipalloc-": ("describe_addresses", "AllocationIds", "Addresses", None, ()),
    "nat-": ("describe_nat_gateways", "NatGatewayIds", "NatGateways", "State", NAT_GONE),
    "lt-": ("describe_launch_templates", "LaunchTemplateIds", "LaunchTemplates", None, ()),
}


def _live(ec2: Any, ids: list[str]) -> set[str]:
    """The IDs that still exist: tags can outlive what they were on (terminated instances, and on moto
    anything deleted)."""
    live: set[str] = set()
    for resource in ids:
        if resource.startswith("i-"):
            reservations = ec2.describe_instances(InstanceIds=[resource])["Reservations"]
            states = [i["State"]["Name"] for r in reservations for i in r["Instances"]]
            if states and states[0] not in ("terminated", "shutting-down"):
                live.add(resource)
            continue
        prefix = next(p for p in DESCRIBE if resource.startswith(p))
        call, parameter, listed, state, dead = DESCRIBE[prefix]
        try:
            found = getattr(ec2, call)(**{parameter: [resource]})[listed]
        except ec2.exceptions.ClientError as error:
            code = error.response["Error"]["Code"]
            if "NotFound" in code or "Malformed" in code:
                continue
            raise
        if found and (state is None or found[0].get(state) not in dead):
            live.add(resource)
    return live


# -- IAM and load balancing: found by their configured name (or name prefix), then their tags ---------------


def _named(body: Attrs, name: str) -> bool:
    if "name" in body:
        return bool(name == body["name"])
    prefix = body.get("name_prefix")
    return isinstance(prefix, str) and name.startswith(prefix)


def _iam(finder: Finder) -> None:
    missing = list(finder.missing("aws_iam_role", "aws_iam_instance_profile", "aws_iam_policy"))
    if not missing:
        return
    iam = finder.session.client("iam")

    listings: dict[str, list[Attrs]] = {}

    def listed(call: str, key: str, **kwargs: Any) -> list[Attrs]:
        """Each listing once per search; tags are fetched only for names the configuration could mean."""
        if call not in listings:
            pages = iam.get_paginator(call).paginate(**kwargs)
            listings[call] = [item for page in pages for item in page[key]]
        return listings[call]

    for address, kind, body in missing:
        if kind == "aws_iam_role":
            for role in listed("list_roles", "Roles"):
                name = role["RoleName"]
                if _named(body, name) and finder.ours(
                    _tags(iam.get_role(RoleName=name)["Role"].get("Tags")), address
                ):
                    finder.add(address, kind, name, name=name, arn=role["Arn"])
        elif kind == "aws_iam_instance_profile":
            for profile in listed("list_instance_profiles", "InstanceProfiles"):
                name = profile["InstanceProfileName"]
                if _named(body, name) and finder.ours(
                    _tags(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags")),
                    address,
                ):
                    finder.add(address, kind, name, name=name, arn=profile["Arn"])
        else:
            for policy in listed("list_policies", "Policies", Scope="Local"):
                name, arn = policy["PolicyName"], policy["Arn"]
                if _named(body, name) and finder.ours(
                    _tags(iam.get_policy(PolicyArn=arn)["Policy"].get("Tags")), address
                ):
                    finder.add(address, kind, arn, name=name, arn=arn)


def _load_balancing(finder: Finder) -> None:
    missing = list(finder.missing("aws_lb", "aws_lb_target_group"))
    if missing:
        elbv2 = finder.session.client("elbv2")
        balancers = [
            (b["LoadBalancerName"], b["LoadBalancerArn"])
            for page in elbv2.get_paginator("describe_load_balancers").paginate()
            for b in page["LoadBalancers"]
        ]
        groups = [
            (g["TargetGroupName"], g["TargetGroupArn"])
            for page in elbv2.get_paginator("describe_target_groups").paginate()
            for g in page["TargetGroups"]
        ]
        for address, kind, body in missing:
            for name, arn in balancers if kind == "aws_lb" else groups:
                if _named(body, name):
                    described = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
                    if described and finder.ours(_tags(described[0]["Tags"]), address):
                        finder.add(address, kind, arn, arn=arn, name=name)
    listeners = list(finder.missing("aws_lb_listener"))
    if listeners:
        elbv2 = finder.session.client("elbv2")
        for address, kind, body in listeners:
            balancer = finder.resolve(body.get("load_balancer_arn"), "arn")
            if balancer is None:
                continue
            for listener in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
                if listener["Port"] == body.get("port"):
                    finder.add(address, kind, listener["ListenerArn"], arn=listener["ListenerArn"])


# -- untagged children, matched through their parents ------------------------------------------------------


def _rules(finder: Finder) -> None:
    ec2 = finder.session.client("ec2")
    groups: dict[str, Attrs] = {}
    for address, kind, body in finder.missing("aws_security_group_rule"):
        group = finder.resolve(body.get("security_group_id"))
        if group is None:
            continue
        if group not in groups:
            found = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
            groups[group] = found[0] if found else {}
        sources = _rule_sources(finder, body, group)
        if sources is None:
            continue
        protocol = str(body["protocol"])
        protocol = "-1" if protocol in ("all", "-1") else protocol
        low, high = int(body["from_port"]), int(body["to_port"])
        key = "IpPermissions" if body["type"] == "ingress" else "IpPermissionsEgress"
        permissions = groups[group].get(key, [])
        if all(_rule_exists(permissions, protocol, low, high, group if s == "self" else s) for s in sources):
            import_id = "_".join([group, body["type"], protocol, str(low), str(high), *sources])
            finder.add(address, kind, import_id)


DEFAULT_EGRESS = "aws_security_group_default_egress"
ALLOW_ALL = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _default_egress(finder: Finder) -> None:
    """AWS gives every new group an allow-all egress rule, and the provider revokes it right after creating
    the group. A group orphaned between the two still has it; adopting the group would keep that rule
    unmanaged, so it is found here as a leftover to revoke (unless the configuration asks for it)."""
    wanted = {
        finder.resolve(body.get("security_group_id"))
        for body in finder.config.get("aws_security_group_rule", {}).values()
        if body.get("type") == "egress"
        and str(body.get("protocol")) in ("-1", "all")
        and "0.0.0.0/0" in body.get("cidr_blocks", [])
    }
    groups = {
        o.id: o.address
        for o in list(finder.found.values())
        if o.type == "aws_security_group"
        and o.id not in wanted
        and "egress" not in finder.config["aws_security_group"][o.address.split(".", 1)[1]]
    }
    if not groups:
        return
    described = finder.session.client("ec2").describe_security_groups(GroupIds=sorted(groups))
    for group in described["SecurityGroups"]:
        if _rule_exists(group.get("IpPermissionsEgress", []), "-1", 0, 0, "0.0.0.0/0"):
            address = f"{groups[group['GroupId']]} (default egress)"
            finder.found[address] = Orphan(address, DEFAULT_EGRESS, group["GroupId"])


def _rule_sources(finder: Finder, body: Attrs, group: str) -> list[str] | None:
    if body.get("self"):
        return ["self"]
    if body.get("source_security_group_id"):
        source = finder.resolve(body["source_security_group_id"])
        return None if source is None else [source]
    cidrs = [*body.get("cidr_blocks", []), *body.get("ipv6_cidr_blocks", [])]
    cidrs += body.get("prefix_list_ids", [])
    resolved = [finder.interpolate(str(c)) for c in cidrs]  # e.g. the NAT rule's "${aws_eip….public_ip}/32"
    if any(c is None for c in resolved):
        return None
    return [str(c) for c in resolved] or None


def _rule_exists(permissions: list[Attrs], protocol: str, low: int, high: int, source: str) -> bool:
    for permission in permissions:
        if str(permission.get("IpProtocol")) != protocol:
            continue
        if protocol != "-1" and (permission.get("FromPort"), permission.get("ToPort")) != (low, high):
            continue
        peers = {p["GroupId"] for p in permission.get("UserIdGroupPairs", [])}
        peers |= {r["CidrIp"] for r in permission.get("IpRanges", [])}
        peers |= {r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])}
        peers |= {p["PrefixListId"] for p in permission.get("PrefixListIds", [])}
        if source in peers:
            return True
    return False


def _route_tables(finder: Finder, ids: set[str]) -> dict[str, Attrs]:
    if not ids:
        return {}
    tables = finder.session.client("ec2").describe_route_tables(RouteTableIds=sorted(ids))["RouteTables"]
    return {t["RouteTableId"]: t for t in tables}


def _routes(finder: Finder) -> None:
    missing = [
        (address, kind, body, finder.resolve(body.get("route_table_id")))
        for address, kind, body in finder.missing("aws_route")
    ]
    tables = _route_tables(finder, {table for *_, table in missing if table})
    for address, kind, body, table in missing:
        cidr = body.get("destination_cidr_block")
        if table in tables and any(r.get("DestinationCidrBlock") == cidr for r in tables[table]["Routes"]):
            finder.add(address, kind, f"{table}_{cidr}")


def _associations(finder: Finder) -> None:
    missing = [
        (address, kind, finder.resolve(body.get("subnet_id")), finder.resolve(body.get("route_table_id")))
        for address, kind, body in finder.missing("aws_route_table_association")
    ]
    tables = _route_tables(finder, {table for *_, table in missing if table})
    for address, kind, subnet, table in missing:
        if (
            table in tables
            and subnet
            and any(a.get("SubnetId") == subnet for a in tables[table].get("Associations", []))
        ):
            finder.add(address, kind, f"{subnet}/{table}")


def _attachments(finder: Finder) -> None:
    iam: Any = None
    for address, kind, body in finder.missing("aws_iam_role_policy_attachment"):
        role, policy = finder.resolve(body.get("role"), "name"), finder.resolve(body.get("policy_arn"), "arn")
        if role is None or policy is None:
            continue
        iam = iam or finder.session.client("iam")
        attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        if any(p["PolicyArn"] == policy for p in attached):
            finder.add(address, kind, f"{role}/{policy}")


# -- deleting, children first -----------------------------------------------------------------------------


def delete(session: Any, orphans: list[Orphan]) -> None:
    ec2, elbv2, iam = (session.client(name) for name in ("ec2", "elbv2", "iam"))
    by_type: dict[str, list[Orphan]] = {}
    for orphan in orphans:
        by_type.setdefault(orphan.type, []).append(orphan)
    for kind, remove in _deleters(ec2, elbv2, iam):
        for orphan in by_type.get(kind, []):
            remove(orphan)


def _deleters(ec2: Any, elbv2: Any, iam: Any) -> list[tuple[str, Callable[[Orphan], None]]]:
    def rule(o: Orphan) -> None:
        """Revokes the rule as the group reports it (with its description: moto matches on it)."""
        group, direction, protocol, low, high, *sources = o.id.split("_")
        key = "IpPermissions" if direction == "ingress" else "IpPermissionsEgress"
        reported = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0].get(key, [])
        peers = {group if source == "self" else source for source in sources}
        for permission in reported:
            if str(permission.get("IpProtocol")) != protocol:
                continue
            if protocol != "-1" and (permission.get("FromPort"), permission.get("ToPort")) != (
                int(low),
                int(high),
            ):
                continue
            narrowed = {k: v for k, v in permission.items() if k in ("IpProtocol", "FromPort", "ToPort")}
            narrowed["UserIdGroupPairs"] = [
                p for p in permission.get("UserIdGroupPairs", []) if p["GroupId"] in peers
            ]
            narrowed["IpRanges"] = [r for r in permission.get("IpRanges", []) if r["CidrIp"] in peers]
            narrowed["Ipv6Ranges"] = [r for r in permission.get("Ipv6Ranges", []) if r["CidrIpv6"] in peers]
            if any(narrowed[k] for k in ("UserIdGroupPairs", "IpRanges", "Ipv6Ranges")):
                ingress = direction == "ingress"
                revoke = ec2.revoke_security_group_ingress if ingress else ec2.revoke_security_group_egress
                revoke(GroupId=group, IpPermissions=[narrowed])

    def default_egress(o: Orphan) -> None:
        ec2.revoke_security_group_egress(GroupId=o.id, IpPermissions=[ALLOW_ALL])

    def route(o: Orphan) -> None:
        table, cidr = o.id.split("_", 1)
        ec2.delete_route(RouteTableId=table, DestinationCidrBlock=cidr)

    def association(o: Orphan) -> None:
        subnet, table = o.id.split("/", 1)
        for found in ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Associations"]:
            if found.get("SubnetId") == subnet:
                ec2.disassociate_route_table(AssociationId=found["RouteTableAssociationId"])

    def attachment(o: Orphan) -> None:
        role, policy = o.id.split("/", 1)
        iam.detach_role_policy(RoleName=role, PolicyArn=policy)

    def instance(o: Orphan) -> None:
        ec2.terminate_instances(InstanceIds=[o.id])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[o.id])

    def nat(o: Orphan) -> None:
        ec2.delete_nat_gateway(NatGatewayId=o.id)
        ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[o.id])

    def gateway(o: Orphan) -> None:
        for attached in ec2.describe_internet_gateways(InternetGatewayIds=[o.id])["InternetGateways"][0].get(
            "Attachments", []
        ):
            ec2.detach_internet_gateway(InternetGatewayId=o.id, VpcId=attached["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=o.id)

    def role(o: Orphan) -> None:
        for profile in iam.list_instance_profiles_for_role(RoleName=o.id)["InstanceProfiles"]:
            name = profile["InstanceProfileName"]
            iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=o.id)
        for policy in iam.list_attached_role_policies(RoleName=o.id)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=o.id, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=o.id)

    def profile(o: Orphan) -> None:
        for attached in iam.get_instance_profile(InstanceProfileName=o.id)["InstanceProfile"]["Roles"]:
            iam.remove_role_from_instance_profile(InstanceProfileName=o.id, RoleName=attached["RoleName"])
        iam.delete_instance_profile(InstanceProfileName=o.id)

    def policy(o: Orphan) -> None:
        for entity in iam.list_entities_for_policy(PolicyArn=o.id)["PolicyRoles"]:
            iam.detach_role_policy(RoleName=entity["RoleName"], PolicyArn=o.id)
        iam.delete_policy(PolicyArn=o.id)

    def simple(call: Callable[..., Any], key: str) -> Callable[[Orphan], None]:
        return lambda o: call(**{key: o.id})

    return [
        (DEFAULT_EGRESS, default_egress),
        ("aws_security_group_rule", rule),
        ("aws_route", route),
        ("aws_route_table_association", association),
        ("aws_iam_role_policy_attachment", attachment),
        ("aws_lb_listener", simple(elbv2.delete_listener, "ListenerArn")),
        ("aws_lb", simple(elbv2.delete_load_balancer, "LoadBalancerArn")),
        ("aws_lb_target_group", simple(elbv2.delete_target_group, "TargetGroupArn")),
        ("aws_instance", instance),
        ("aws_nat_gateway", nat),
        ("aws_eip", simple(ec2.release_address, "AllocationId")),
        ("aws_launch_template", simple(ec2.delete_launch_template, "LaunchTemplateId")),
        ("aws_iam_instance_profile", profile),
        ("aws_iam_role", role),
        ("aws_iam_policy", policy),
        ("aws_security_group", simple(ec2.delete_security_group, "GroupId")),
        ("aws_subnet", simple(ec2.delete_subnet, "SubnetId")),
        ("aws_route_table", simple(ec2.delete_route_table, "RouteTableId")),
        ("aws_internet_gateway", gateway),
        ("aws_vpc", simple(ec2.delete_vpc, "VpcId")),
    ]
