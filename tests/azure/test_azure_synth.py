"""Synth assertions for every Azure construct, on the stacks ``clouder synth`` produces for three specs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.azure_stacks import PUBLIC_KEY, AzureStack


def by_name(stack: AzureStack, kind: str) -> dict[str, dict[str, Any]]:
    return {config["name"]: config for config in stack.resources(kind).values()}


def test_resource_group_carries_the_spec_location_and_tags(azure_stacks: dict[str, AzureStack]) -> None:
    minimal = azure_stacks["minimal"].one("azurerm_resource_group")
    assert (minimal["name"], minimal["location"]) == ("rg-demo-azure", "westeurope")
    assert minimal["tags"] == {"clouder-cluster": "demo-azure"}
    assert azure_stacks["ha"].one("azurerm_resource_group")["name"] == "rg-prod-azure"


def test_terraform_settings_pin_the_provider_and_the_state_backend(
    azure_stacks: dict[str, AzureStack],
) -> None:
    minimal, ha = azure_stacks["minimal"].doc["terraform"], azure_stacks["ha"].doc["terraform"]
    assert minimal["required_providers"]["azurerm"]["version"] == "~> 4.31"
    assert minimal["backend"] == {"local": {"path": "terraform.tfstate"}}
    assert ha["backend"] == {
        "azurerm": {
            "resource_group_name": "clouder-state",
            "storage_account_name": "acmeclouderstate",
            "container_name": "tfstate",
            "key": "prod-azure.tfstate",
            "use_azuread_auth": True,
        }
    }
    # azurerm 4.x requires the (empty) features block; credentials and subscription come from the environment.
    assert azure_stacks["minimal"].doc["provider"] == {"azurerm": [{"features": [{}]}]}


def test_network_has_per_zone_subnets_each_node_subnet_with_its_own_zonal_nat(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["ha"]
    assert stack.one("azurerm_virtual_network")["address_space"] == ["10.1.0.0/16"]
    subnets = by_name(stack, "azurerm_subnet")
    expected = {}
    for entry in stack.spec.network.subnets:
        expected[f"snet-prod-azure-public-{entry.zone}"] = [entry.public]
        expected[f"snet-prod-azure-nodes-{entry.zone}"] = [entry.private]
    assert {name: subnet["address_prefixes"] for name, subnet in subnets.items()} == expected
    assert all(subnet["default_outbound_access_enabled"] is False for subnet in subnets.values())

    nats = stack.resources("azurerm_nat_gateway")
    ips = stack.resources("azurerm_public_ip")
    subnet_refs = {stack.ref("azurerm_subnet", s): name for name, s in subnets.items()}
    nat_refs = {stack.ref("azurerm_nat_gateway", nat): nat for nat in nats.values()}
    ip_refs = {stack.ref("azurerm_public_ip", ip): ip for ip in ips.values()}
    seen = {}
    for association in stack.resources("azurerm_subnet_nat_gateway_association").values():
        nat = nat_refs[association["nat_gateway_id"]]
        seen[subnet_refs[association["subnet_id"]]] = nat["zones"]
    assert seen == {f"snet-prod-azure-nodes-{z}": [z] for z in ("1", "2", "3")}
    for association in stack.resources("azurerm_nat_gateway_public_ip_association").values():
        nat, ip = nat_refs[association["nat_gateway_id"]], ip_refs[association["public_ip_address_id"]]
        assert ip["zones"] == nat["zones"] and ip["sku"] == "Standard"


def test_route_table_is_on_node_subnets_and_leaves_routes_to_the_cloud_controller(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["ha"]
    table = stack.one("azurerm_route_table")
    assert "route" not in table, "inline routes would delete the cloud controller's routes on every apply"
    subnets = by_name(stack, "azurerm_subnet")
    associated = {a["subnet_id"] for a in stack.resources("azurerm_subnet_route_table_association").values()}
    assert associated == {stack.ref("azurerm_subnet", subnets[f"snet-prod-azure-nodes-{z}"]) for z in "123"}


# Every rule of every NSG, as (nsg, name, priority, access, protocol, ports, source, destination).
# Sources/destinations: "admins" (the spec's CIDRs), "vnet" (the VNet CIDR), "nat" (the NAT gateways'
# addresses), "asg:<role>" (an application security group), "*".
MINIMAL_RULES = {
    ("nodes", "ssh-from-bastion", 100, "Allow", "Tcp", "22", "asg:bastion", "asg:nodes"),
    ("nodes", "api-from-admins", 110, "Allow", "Tcp", "6443", "admins", "asg:control-planes"),
    ("nodes", "api-from-nat", 120, "Allow", "Tcp", "6443", "nat", "asg:control-planes"),
    ("nodes", "api-from-network", 130, "Allow", "Tcp", "6443", "vnet", "asg:control-planes"),
    ("nodes", "etcd", 140, "Allow", "Tcp", "2379-2380", "asg:control-planes", "asg:control-planes"),
    ("nodes", "kubelet", 150, "Allow", "Tcp", "10250", "asg:nodes", "asg:nodes"),
    ("nodes", "nodeports", 160, "Allow", "Tcp", "30000-32767", "vnet", "asg:nodes"),
    ("nodes", "cilium-vxlan", 170, "Allow", "Udp", "8472", "asg:nodes", "asg:nodes"),
    ("nodes", "cilium-health", 180, "Allow", "Tcp", "4240", "asg:nodes", "asg:nodes"),
    ("nodes", "cilium-hubble", 190, "Allow", "Tcp", "4244", "asg:nodes", "asg:nodes"),
    ("nodes", "cilium-icmp", 200, "Allow", "Icmp", "*", "asg:nodes", "asg:nodes"),
    ("nodes", "deny-other-inbound", 4096, "Deny", "*", "*", "VirtualNetwork", "*"),
    ("public", "ssh-from-admins", 100, "Allow", "Tcp", "22", "admins", "asg:bastion"),
}
HA_RULES = {  # internal API: no rule for NAT addresses; calico's ports instead of cilium's
    ("nodes", "ssh-from-bastion", 100, "Allow", "Tcp", "22", "asg:bastion", "asg:nodes"),
    ("nodes", "api-from-admins", 110, "Allow", "Tcp", "6443", "admins", "asg:control-planes"),
    ("nodes", "api-from-network", 120, "Allow", "Tcp", "6443", "vnet", "asg:control-planes"),
    ("nodes", "etcd", 130, "Allow", "Tcp", "2379-2380", "asg:control-planes", "asg:control-planes"),
    ("nodes", "kubelet", 140, "Allow", "Tcp", "10250", "asg:nodes", "asg:nodes"),
    ("nodes", "nodeports", 150, "Allow", "Tcp", "30000-32767", "vnet", "asg:nodes"),
    ("nodes", "calico-vxlan", 160, "Allow", "Udp", "4789", "asg:nodes", "asg:nodes"),
    ("nodes", "calico-typha", 170, "Allow", "Tcp", "5473", "asg:nodes", "asg:nodes"),
    ("nodes", "deny-other-inbound", 4096, "Deny", "*", "*", "VirtualNetwork", "*"),
    ("public", "ssh-from-admins", 100, "Allow", "Tcp", "22", "admins", "asg:bastion"),
}
DIRECT_RULES = {  # no bastion: SSH straight to the nodes from the admin CIDRs; the public NSG stays empty
    ("nodes", "ssh-from-admins", 100, "Allow", "Tcp", "22", "admins", "asg:nodes"),
    ("nodes", "api-from-admins", 110, "Allow", "Tcp", "6443", "admins", "asg:control-planes"),
    ("nodes", "api-from-nat", 120, "Allow", "Tcp", "6443", "nat", "asg:control-planes"),
    ("nodes", "api-from-network", 130, "Allow", "Tcp", "6443", "vnet", "asg:control-planes"),
    ("nodes", "etcd", 140, "Allow", "Tcp", "2379-2380", "asg:control-planes", "asg:control-planes"),
    ("nodes", "kubelet", 150, "Allow", "Tcp", "10250", "asg:nodes", "asg:nodes"),
    ("nodes", "nodeports", 160, "Allow", "Tcp", "30000-32767", "vnet", "asg:nodes"),
    ("nodes", "flannel-vxlan", 170, "Allow", "Udp", "8472", "asg:nodes", "asg:nodes"),
    ("nodes", "deny-other-inbound", 4096, "Deny", "*", "*", "VirtualNetwork", "*"),
}


def nsg_rules(stack: AzureStack) -> set[tuple[Any, ...]]:
    spec = stack.spec
    nsgs = {
        stack.ref("azurerm_network_security_group", nsg, "name"): nsg["name"].rsplit("-", 1)[1]
        for nsg in stack.resources("azurerm_network_security_group").values()
    }
    asgs = {
        stack.ref("azurerm_application_security_group", asg): "asg:" + asg["name"].split("-azure-")[1]
        for asg in stack.resources("azurerm_application_security_group").values()
    }
    nat_ips = sorted(
        stack.ref("azurerm_public_ip", ip, "ip_address")
        for ip in stack.resources("azurerm_public_ip").values()
        if "-nat-" in ip["name"]
    )

    def endpoint(rule: dict[str, Any], side: str) -> str:
        groups = rule.get(f"{side}_application_security_group_ids")
        if groups:
            (group,) = groups
            return asgs[group]
        prefix, prefixes = rule.get(f"{side}_address_prefix"), rule.get(f"{side}_address_prefixes")
        if prefix == spec.network.cidr:
            return "vnet"
        if prefixes == list(spec.network.admin_cidrs):
            return "admins"
        if prefixes is not None and sorted(prefixes) == nat_ips:
            return "nat"
        assert prefix in ("*", "VirtualNetwork"), f"unexpected {side} in {rule['name']}: {prefix or prefixes}"
        return str(prefix)

    found = set()
    for rule in stack.resources("azurerm_network_security_rule").values():
        assert rule["direction"] == "Inbound" and rule["source_port_range"] == "*"
        found.add(
            (
                nsgs[rule["network_security_group_name"]],
                rule["name"],
                rule["priority"],
                rule["access"],
                rule["protocol"],
                rule["destination_port_range"],
                endpoint(rule, "source"),
                endpoint(rule, "destination"),
            )
        )
    return found


@pytest.mark.parametrize(
    ("key", "expected"), [("minimal", MINIMAL_RULES), ("ha", HA_RULES), ("direct", DIRECT_RULES)]
)
def test_every_nsg_rule_is_accounted_for(
    azure_stacks: dict[str, AzureStack], key: str, expected: set[Any]
) -> None:
    stack = azure_stacks[key]
    assert nsg_rules(stack) == expected
    for nsg in stack.resources("azurerm_network_security_group").values():
        assert "security_rule" not in nsg, "inline rules would delete the cloud controller's rules on apply"


def test_no_rule_opens_anything_to_the_internet(azure_stacks: dict[str, AzureStack]) -> None:
    for stack in azure_stacks.values():
        for rule in stack.resources("azurerm_network_security_rule").values():
            sources = [rule.get("source_address_prefix"), *(rule.get("source_address_prefixes") or [])]
            assert not {"*", "0.0.0.0/0", "Internet", "Any"} & set(sources), rule["name"]
            if rule["access"] == "Allow":
                assert 100 <= rule["priority"] < 500, "500-4095 belong to the cloud controller's rules"


def test_every_subnet_has_an_nsg_and_the_node_nsg_is_the_one_azure_json_names(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["ha"]
    subnets = stack.resources("azurerm_subnet")
    associations = stack.resources("azurerm_subnet_network_security_group_association").values()
    assert {a["subnet_id"] for a in associations} == {
        stack.ref("azurerm_subnet", s) for s in subnets.values()
    }
    node_nsg = by_name(stack, "azurerm_network_security_group")["nsg-prod-azure-nodes"]
    assert stack.doc["output"]["cloud"]["value"]["security_group_name"] == stack.ref(
        "azurerm_network_security_group", node_nsg, "name"
    )


def test_identity_roles_are_custom_narrow_and_scoped_to_the_resource_group(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["minimal"]
    group_id = stack.ref("azurerm_resource_group", stack.one("azurerm_resource_group"))
    identities = stack.resources("azurerm_user_assigned_identity")
    assert sorted(i["name"] for i in identities.values()) == [
        f"id-{stack.spec.name}-control-plane",
        f"id-{stack.spec.name}-node",
    ]
    principals = {stack.ref("azurerm_user_assigned_identity", i, "principal_id") for i in identities.values()}
    definitions = stack.resources("azurerm_role_definition")
    assert len(definitions) == 3
    actions: list[str] = []
    for definition in definitions.values():
        assert definition["scope"] == group_id and definition["assignable_scopes"] == [group_id]
        (permissions,) = definition["permissions"]
        actions += permissions["actions"]
        assert not permissions.get("data_actions")
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    assert "Microsoft.Network/loadBalancers/write" in actions and "Microsoft.Compute/disks/write" in actions
    assert not [a for a in actions if a.startswith("Microsoft.Authorization/")], (
        "the identity grants no roles"
    )
    assignments = stack.resources("azurerm_role_assignment").values()
    assert sorted(a["role_definition_id"] for a in assignments) == sorted(
        stack.ref("azurerm_role_definition", d, "role_definition_resource_id") for d in definitions.values()
    )
    assert all(a["scope"] == group_id and a["principal_id"] in principals for a in assignments)
    assert all("role_definition_name" not in a for a in assignments), "no built-in (broad) roles"


def test_control_planes_carry_the_control_plane_identity_workers_the_node_one_the_bastion_none(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["minimal"]
    identity = {
        i["name"].rsplit("-", 1)[-1]: stack.ref("azurerm_user_assigned_identity", i)
        for i in stack.resources("azurerm_user_assigned_identity").values()
    }
    for name, vm in by_name(stack, "azurerm_linux_virtual_machine").items():
        if name.endswith("-bastion"):
            assert "identity" not in vm
        else:
            holder = "plane" if "-cp-" in name else "node"
            assert vm["identity"] == {"type": "UserAssigned", "identity_ids": [identity[holder]]}, name


def api_backends(stack: AzureStack) -> set[str]:
    nics = {
        stack.ref("azurerm_network_interface", nic): nic["name"]
        for nic in stack.resources("azurerm_network_interface").values()
    }
    pool = stack.ref("azurerm_lb_backend_address_pool", stack.one("azurerm_lb_backend_address_pool"))
    associations = stack.resources("azurerm_network_interface_backend_address_pool_association").values()
    assert all(a["backend_address_pool_id"] == pool for a in associations)
    return {nics[a["network_interface_id"]] for a in associations}


def test_api_probe_needs_two_answers_either_way(azure_stacks: dict[str, AzureStack]) -> None:
    """Azure's probeThreshold counts successes and failures alike: 2 x 5 s keeps one slow /readyz from taking
    a control plane out of the rotation, for 5 s more at registration (docs/time-to-ready.md)."""
    probe = azure_stacks["ha"].one("azurerm_lb_probe")
    assert (probe["interval_in_seconds"], probe["probe_threshold"], probe["number_of_probes"]) == (5, 2, 2)


def test_public_api_load_balancer(azure_stacks: dict[str, AzureStack]) -> None:
    stack = azure_stacks["minimal"]
    balancer = stack.one("azurerm_lb")
    assert (balancer["name"], balancer["sku"]) == ("demo-azure-api", "Standard")
    (frontend,) = balancer["frontend_ip_configuration"]
    address = by_name(stack, "azurerm_public_ip")["pip-demo-azure-api"]
    assert frontend["public_ip_address_id"] == stack.ref("azurerm_public_ip", address)
    assert (address["sku"], address["allocation_method"], address["zones"]) == (
        "Standard",
        "Static",
        ["1", "2", "3"],
    )
    rule = stack.one("azurerm_lb_rule")
    assert (rule["protocol"], rule["frontend_port"], rule["backend_port"]) == ("Tcp", 6443, 6443)
    assert rule["disable_outbound_snat"] is True
    probe = stack.one("azurerm_lb_probe")
    assert (probe["protocol"], probe["port"], probe["request_path"]) == ("Https", 6443, "/readyz")
    assert rule["probe_id"] == stack.ref("azurerm_lb_probe", probe)
    assert api_backends(stack) == {"nic-demo-azure-cp-0"}
    assert stack.doc["output"]["api_endpoint"]["value"]["host"] == stack.ref(
        "azurerm_public_ip", address, "ip_address"
    )


def test_private_api_load_balancer_is_internal_and_zone_redundant(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["ha"]
    balancer = stack.one("azurerm_lb")
    (frontend,) = balancer["frontend_ip_configuration"]
    assert "public_ip_address_id" not in frontend
    node_subnet = by_name(stack, "azurerm_subnet")["snet-prod-azure-nodes-1"]
    assert frontend["subnet_id"] == stack.ref("azurerm_subnet", node_subnet)
    assert frontend["zones"] == ["1", "2", "3"]
    assert not [ip for ip in stack.resources("azurerm_public_ip").values() if ip["name"].endswith("-api")]
    assert api_backends(stack) == {f"nic-prod-azure-cp-{i}" for i in range(3)}
    assert stack.doc["output"]["api_endpoint"]["value"]["host"] == stack.ref(
        "azurerm_lb", balancer, "private_ip_address"
    )


def test_no_vm_allows_password_login(azure_stacks: dict[str, AzureStack]) -> None:
    for stack in azure_stacks.values():
        text = json.dumps(stack.doc)
        assert "admin_password" not in text
        for vm in stack.resources("azurerm_linux_virtual_machine").values():
            assert vm["disable_password_authentication"] is True
            assert vm["admin_ssh_key"] == [{"username": vm["admin_username"], "public_key": PUBLIC_KEY}]
            assert vm["admin_username"] == "azureuser"


def test_vms_are_hardened_with_encrypted_disks_and_the_pinned_image(
    azure_stacks: dict[str, AzureStack],
) -> None:
    for stack in azure_stacks.values():
        image = stack.spec.azure.image
        for vm in stack.resources("azurerm_linux_virtual_machine").values():
            assert vm["source_image_reference"] == {
                "publisher": image.publisher,
                "offer": image.offer,
                "sku": image.sku,
                "version": image.version,
            }
            assert vm["source_image_reference"]["version"] != "latest"
            assert vm["encryption_at_host_enabled"] is True
            assert vm["os_disk"]["storage_account_type"] in {"Premium_LRS", "StandardSSD_LRS"}
            assert "disk_encryption_set_id" not in vm["os_disk"]  # platform keys + encryption at host
            assert vm["allow_extension_operations"] is False
            assert vm["secure_boot_enabled"] is True and vm["vtpm_enabled"] is True
            assert vm["computer_name"] == vm["name"], "the host name is the node name"


def test_nodes_spread_across_zones_with_the_spec_sizes(azure_stacks: dict[str, AzureStack]) -> None:
    stack = azure_stacks["ha"]
    vms = by_name(stack, "azurerm_linux_virtual_machine")
    placement = {name: (vm["zone"], vm["size"], vm["os_disk"]["disk_size_gb"]) for name, vm in vms.items()}
    assert placement == {
        "prod-azure-cp-0": ("1", "Standard_D4s_v5", 50),
        "prod-azure-cp-1": ("2", "Standard_D4s_v5", 50),
        "prod-azure-cp-2": ("3", "Standard_D4s_v5", 50),
        "prod-azure-general-0": ("1", "Standard_D8s_v5", 100),
        "prod-azure-general-1": ("2", "Standard_D8s_v5", 100),
        "prod-azure-general-2": ("3", "Standard_D8s_v5", 100),
        "prod-azure-agents-0": ("1", "Standard_E8s_v5", 512),
        "prod-azure-agents-1": ("2", "Standard_E8s_v5", 512),
        "prod-azure-bastion": ("1", "Standard_B1s", 30),
    }
    subnets = {stack.ref("azurerm_subnet", s): s["name"] for s in stack.resources("azurerm_subnet").values()}
    for nic in stack.resources("azurerm_network_interface").values():
        vm_name = nic["name"].removeprefix("nic-")
        zone = placement[vm_name][0]
        (config,) = nic["ip_configuration"]
        kind = "public" if vm_name.endswith("-bastion") else "nodes"
        assert subnets[config["subnet_id"]] == f"snet-prod-azure-{kind}-{zone}"
        assert ("public_ip_address_id" in config) == (kind == "public")


def test_role_groups_put_control_planes_in_both_and_workers_in_nodes(
    azure_stacks: dict[str, AzureStack],
) -> None:
    stack = azure_stacks["ha"]
    nics = {
        stack.ref("azurerm_network_interface", n): n["name"]
        for n in stack.resources("azurerm_network_interface").values()
    }
    asgs = {
        stack.ref("azurerm_application_security_group", a): a["name"]
        for a in stack.resources("azurerm_application_security_group").values()
    }
    membership: dict[str, set[str]] = {}
    for association in stack.resources(
        "azurerm_network_interface_application_security_group_association"
    ).values():
        membership.setdefault(nics[association["network_interface_id"]], set()).add(
            asgs[association["application_security_group_id"]].removeprefix("asg-prod-azure-")
        )
    assert membership["nic-prod-azure-cp-1"] == {"nodes", "control-planes"}
    assert membership["nic-prod-azure-agents-0"] == {"nodes"}
    assert membership["nic-prod-azure-bastion"] == {"bastion"}
    assert len(membership) == len(nics)


def test_direct_mode_has_no_bastion_and_public_ips_on_nodes(azure_stacks: dict[str, AzureStack]) -> None:
    stack = azure_stacks["direct"]
    vms = by_name(stack, "azurerm_linux_virtual_machine")
    assert not [name for name in vms if "bastion" in name]
    ips = by_name(stack, "azurerm_public_ip")
    assert {f"pip-{name}" for name in vms} <= set(ips)
    ssh = stack.doc["output"]["ssh"]["value"]
    assert ssh == {"mode": "direct", "user": "azureuser", "port": 22}
    # Nodes reach the public API endpoint from both zones' NAT gateways: one rule names both addresses.
    (nat_rule,) = [
        r for r in stack.resources("azurerm_network_security_rule").values() if r["name"] == "api-from-nat"
    ]
    assert len(nat_rule["source_address_prefixes"]) == 2 == len(stack.resources("azurerm_nat_gateway"))


def test_bastion_sits_in_the_first_public_subnet(azure_stacks: dict[str, AzureStack]) -> None:
    stack = azure_stacks["minimal"]
    bastion = by_name(stack, "azurerm_linux_virtual_machine")["demo-azure-bastion"]
    assert (bastion["size"], bastion["os_disk"]["storage_account_type"]) == (
        "Standard_B1s",
        "StandardSSD_LRS",
    )
    ssh = stack.doc["output"]["ssh"]["value"]
    address = by_name(stack, "azurerm_public_ip")["pip-demo-azure-bastion"]
    assert ssh["bastion_host"] == stack.ref("azurerm_public_ip", address, "ip_address")
    assert ssh["mode"] == "bastion" and ssh["bastion_user"] == "azureuser"
    # the bastion VM's resource ID, for its boot diagnostics (host keys): the nodes' provider ID form
    assert ssh["bastion_provider_id"] == "azure://" + stack.ref("azurerm_linux_virtual_machine", bastion)


def test_a_spec_without_a_public_key_is_refused(tmp_path: Any) -> None:
    from cdktf import App

    from clouder.errors import BadInputError
    from clouder.spec import load_spec
    from clouder.stacks.azure import AzureClusterStack
    from support.azure_stacks import spec_file

    path = spec_file(tmp_path, "azure-minimal.yaml", **{"access.publicKey": None})
    spec = load_spec(path)
    with pytest.raises(BadInputError, match="SSH public key"):
        AzureClusterStack(App(outdir=str(tmp_path / "out")), "nokey", spec)


def test_an_s3_state_backend_is_refused_for_azure(tmp_path: Any) -> None:
    import yaml
    from cdktf import App

    from clouder.errors import BadInputError
    from clouder.spec.model import ClusterSpec
    from clouder.stacks.azure import AzureClusterStack
    from support.azure_stacks import spec_file

    state = {"backend": "s3", "bucket": "state", "key": "k", "region": "us-east-1", "useLockfile": True}
    # Built as library code builds it (the model alone): `clouder validate` refuses this spec before synth.
    path = spec_file(tmp_path, "azure-minimal.yaml", state=state)
    spec = ClusterSpec.model_validate(yaml.safe_load(path.read_text()))
    with pytest.raises(BadInputError, match="cannot hold an Azure cluster's state"):
        AzureClusterStack(App(outdir=str(tmp_path / "out")), "s3", spec)
