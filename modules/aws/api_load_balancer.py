"""ApiLoadBalancer: a network load balancer in front of the control planes' API servers (TCP 6443, health
checked with HTTPS ``GET /readyz``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.lb_target_group_attachment import LbTargetGroupAttachment
from constructs import Construct

from clouder.modules.aws.security import API_PORT


@dataclass(frozen=True)
class ApiLoadBalancerProps:
    cluster_name: str
    vpc_id: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    target_instance_ids: Sequence[str]
    internal: bool = False
    port: int = API_PORT
    tags: Mapping[str, str] = field(default_factory=dict)


class ApiLoadBalancer(Construct):
    """The cluster's ``controlPlaneEndpoint``: kubeadm, kubelets and admins reach the API through it."""

    dns_name: str
    arn: str
    target_group_arn: str
    port: int

    def __init__(self, scope: Construct, id_: str, props: ApiLoadBalancerProps) -> None:
        super().__init__(scope, id_)
        # Load balancer and target group names are limited to 32 characters.
        name = f"{props.cluster_name[:28]}-api"
        lb = Lb(
            self,
            "lb",
            name=name,
            load_balancer_type="network",
            internal=props.internal,
            subnets=list(props.subnet_ids),
            security_groups=list(props.security_group_ids),
            enable_cross_zone_load_balancing=True,
            tags={**props.tags, "Name": name},
        )
        target_group = LbTargetGroup(
            self,
            "targets",
            name=name,
            port=props.port,
            protocol="TCP",
            target_type="instance",
            vpc_id=props.vpc_id,
            # A control plane that dials the endpoint would otherwise be routed back to itself and dropped
            # (NLB hairpinning): with client IPs not preserved, targets see the load balancer as the source.
            preserve_client_ip="false",
            deregistration_delay="30",
            # GET /readyz over HTTPS, which kubeadm's API servers answer without credentials (as the Azure
            # probe does): an API server that accepts connections but is not ready leaves the rotation.
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTPS",
                path="/readyz",
                matcher="200",
                port=str(props.port),
                # The NLB's minimums: in rotation 10 s after the API answers, out 10 s after it stops
                # (docs/time-to-ready.md says what that costs); the timeout stays below the interval.
                interval=5,
                timeout=4,
                healthy_threshold=2,
                unhealthy_threshold=2,
            ),
            tags={**props.tags, "Name": name},
        )
        LbListener(
            self,
            "listener",
            load_balancer_arn=lb.arn,
            port=props.port,
            protocol="TCP",
            default_action=[LbListenerDefaultAction(type="forward", target_group_arn=target_group.arn)],
            tags=dict(props.tags),
        )
        for index, instance_id in enumerate(props.target_instance_ids):
            LbTargetGroupAttachment(
                self,
                f"target-{index}",
                target_group_arn=target_group.arn,
                target_id=instance_id,
                port=props.port,
            )
        self.dns_name = lb.dns_name
        self.arn = lb.arn
        self.target_group_arn = target_group.arn
        self.port = props.port
