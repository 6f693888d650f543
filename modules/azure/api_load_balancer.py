"""The Kubernetes API's load balancer: Standard SKU, public (a zone-redundant Standard public IP) or internal
(a zone-redundant private frontend in the first node subnet), TCP 6443 to the control planes.

The health probe asks ``GET /readyz`` over HTTPS, which kubeadm's API servers answer without credentials, so
a control plane that is up but not ready leaves the rotation. Outbound SNAT is off: nodes leave through their
zone's NAT gateway. The Azure cloud controller names its own Service load balancers after the cluster
(``<cluster>`` and ``<cluster>-internal``); this one is ``<cluster>-api``, so the two never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_azurerm.lb import Lb, LbFrontendIpConfiguration
from cdktf_cdktf_provider_azurerm.lb_backend_address_pool import LbBackendAddressPool
from cdktf_cdktf_provider_azurerm.lb_probe import LbProbe
from cdktf_cdktf_provider_azurerm.lb_rule import LbRule
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from constructs import Construct

from clouder.catalog.regions import AZURE_ZONES
from clouder.modules.azure.network import SubnetRef
from clouder.modules.azure.resource_group import ResourceGroup

FRONTEND = "api"


@dataclass(frozen=True)
class ApiLoadBalancerProps:
    cluster_name: str
    resource_group: ResourceGroup
    exposure: Literal["public", "private"]
    subnet: SubnetRef  # where an internal frontend takes its address
    zone_redundant: bool  # True in locations with availability zones
    port: int = 6443


class ApiLoadBalancer(Construct):
    """Attributes: ``host`` (the frontend's IP address), ``port``, ``backend_pool_id`` (for the control
    planes' NICs), ``id``, ``public_ip_id`` (None when internal)."""

    def __init__(self, scope: Construct, id_: str, props: ApiLoadBalancerProps) -> None:
        super().__init__(scope, id_)
        group = props.resource_group
        zones = list(AZURE_ZONES) if props.zone_redundant else None
        self.public_ip_id: str | None = None
        address: PublicIp | None = None
        if props.exposure == "public":
            address = PublicIp(
                self,
                "address",
                name=f"pip-{props.cluster_name}-api",
                location=group.location,
                resource_group_name=group.name,
                allocation_method="Static",
                sku="Standard",
                zones=zones,
                tags=group.tags,
            )
            self.public_ip_id = address.id
            frontend = LbFrontendIpConfiguration(name=FRONTEND, public_ip_address_id=address.id)
        else:
            frontend = LbFrontendIpConfiguration(
                name=FRONTEND, subnet_id=props.subnet.id, private_ip_address_allocation="Dynamic", zones=zones
            )
        balancer = Lb(
            self,
            "lb",
            name=f"{props.cluster_name}-api",
            location=group.location,
            resource_group_name=group.name,
            sku="Standard",
            frontend_ip_configuration=[frontend],
            tags=group.tags,
        )
        pool = LbBackendAddressPool(
            self, "control-planes", name="control-planes", loadbalancer_id=balancer.id
        )
        probe = LbProbe(
            self,
            "readyz",
            name="readyz",
            loadbalancer_id=balancer.id,
            protocol="Https",
            port=props.port,
            request_path="/readyz",
            interval_in_seconds=5,
            number_of_probes=2,
            # Counts successes and failures alike (Azure's default is 1): one slow /readyz does not take a
            # control plane out, for 5 s more at registration (docs/time-to-ready.md).
            probe_threshold=2,
        )
        LbRule(
            self,
            "api",
            name="kube-apiserver",
            loadbalancer_id=balancer.id,
            protocol="Tcp",
            frontend_ip_configuration_name=FRONTEND,
            frontend_port=props.port,
            backend_port=props.port,
            backend_address_pool_ids=[pool.id],
            probe_id=probe.id,
            disable_outbound_snat=True,
            enable_tcp_reset=True,
            idle_timeout_in_minutes=30,
        )
        self.id: str = balancer.id
        self.backend_pool_id: str = pool.id
        self.port = props.port
        self.host: str = address.ip_address if address is not None else balancer.private_ip_address
