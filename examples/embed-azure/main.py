"""A user's own CDKTF app that composes Clouder's Azure constructs next to its own resources.

One stack holds a Clouder resource group, network, NSGs, managed identity and a pool of two hardened
Kubernetes-ready VMs, plus the app's own storage account, which the pool's identity may read. Synthesize it
with ``python main.py --outdir cdktf.out`` or ``cdktf synth`` (cdktf.json beside this file), then plan and
apply it with Terraform as docs/azure.md shows.
"""

from __future__ import annotations

import argparse
import os

from cdktf import App, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount
from constructs import Construct

from clouder.catalog import azure as catalog
from clouder.modules.azure import (
    Identities,
    IdentitiesProps,
    Network,
    NetworkProps,
    NodeImage,
    Nodes,
    NodesProps,
    ResourceGroup,
    ResourceGroupProps,
    Security,
    SecurityProps,
    ZoneSubnets,
)
from clouder.modules.azure.userdata import node_custom_data

ADMIN_CIDRS = ["203.0.113.0/24"]
KUBERNETES_VERSION = "1.33.5"


class AnalyticsStack(TerraformStack):
    def __init__(
        self, scope: Construct, id_: str, *, ssh_public_key: str, location: str = "westeurope"
    ) -> None:
        super().__init__(scope, id_)
        AzurermProvider(self, "azurerm", features=[AzurermProviderFeatures()])

        group = ResourceGroup(
            self,
            "group",
            ResourceGroupProps(name="rg-analytics", location=location, tags={"team": "analytics"}),
        )
        network = Network(
            self,
            "network",
            NetworkProps(
                cluster_name="analytics",
                resource_group=group,
                cidr="10.8.0.0/16",
                zones=[
                    ZoneSubnets("1", "10.8.0.0/24", "10.8.16.0/20"),
                    ZoneSubnets("2", "10.8.1.0/24", "10.8.32.0/20"),
                ],
            ),
        )
        security = Security(
            self,
            "security",
            SecurityProps(
                cluster_name="analytics",
                resource_group=group,
                network=network,
                admin_cidrs=ADMIN_CIDRS,
                ssh_mode="direct",
                api_exposure="private",
                cni="cilium",
            ),
        )
        identities = Identities(
            self, "identity", IdentitiesProps(cluster_name="analytics", resource_group=group)
        )
        workers = Nodes(
            self,
            "workers",
            NodesProps(
                name_prefix="analytics-worker",
                role="worker",
                pool="analytics",
                count=2,
                size="Standard_D4s_v5",
                disk_gb=64,
                resource_group=group,
                subnets=network.node_subnets,
                image=NodeImage(
                    catalog.IMAGE_PUBLISHER, catalog.IMAGE_OFFER, catalog.IMAGE_SKU, catalog.IMAGE_VERSION
                ),
                admin_user="azureuser",
                ssh_public_key=ssh_public_key,
                custom_data=node_custom_data(KUBERNETES_VERSION, "worker", "analytics"),
                identity_id=identities.node_identity.id,  # workers: the read-only node identity
                application_security_group_ids=[security.node_asg_id],
            ),
        )

        # The app's own resources, wired to Clouder's through the constructs' typed attributes.
        data = StorageAccount(
            self,
            "data",
            name="analyticsdata4711",
            resource_group_name=group.name,
            location=group.location,
            account_tier="Standard",
            account_replication_type="ZRS",
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            allow_nested_items_to_be_public=False,
            shared_access_key_enabled=False,
            public_network_access_enabled=False,
            tags=group.tags,
        )
        RoleAssignment(
            self,
            "workers-read-data",
            scope=data.id,
            role_definition_name="Storage Blob Data Reader",
            principal_id=identities.node_identity.principal_id,
            principal_type="ServicePrincipal",
        )

        TerraformOutput(self, "worker_private_ips", value=[node.private_ip for node in workers.nodes])
        TerraformOutput(self, "node_subnet_ids", value=[subnet.id for subnet in network.node_subnets])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", help="where to write the Terraform JSON (default: cdktf's)")
    parser.add_argument(
        "--ssh-public-key",
        default=os.environ.get("SSH_PUBLIC_KEY", ""),
        help="OpenSSH public key for the VMs (default: $SSH_PUBLIC_KEY)",
    )
    args = parser.parse_args(argv)
    if not args.ssh_public_key:
        parser.error("give --ssh-public-key or set SSH_PUBLIC_KEY: the VMs accept key login only")
    app = App(outdir=args.outdir) if args.outdir else App()
    AnalyticsStack(app, "analytics", ssh_public_key=args.ssh_public_key)
    app.synth()


if __name__ == "__main__":
    main()
