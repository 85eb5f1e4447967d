"""What AWS refuses and moto accepts, refused by the sandbox too (each rule names the AWS
behaviour; tests/integration/test_fidelity.py covers each)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend

_MARK = "_loono_strict"
ALB_SMALLEST_SUBNET_PREFIX = 27  # an ALB needs 8 free addresses in each subnet


def load_balancers_need_room_in_their_subnets() -> None:
    """CreateLoadBalancer fails with InvalidSubnet when a subnet is smaller than a /27."""
    original: Callable[..., Any] = ELBv2Backend.create_load_balancer
    if getattr(original, _MARK, False):
        return

    def create_load_balancer(self: ELBv2Backend, name: str, security_groups: list[str],
                             subnet_ids: list[str], *args: Any, **kwargs: Any) -> Any:
        ec2 = ec2_backends[self.account_id][self.region_name]
        for subnet_id in subnet_ids or []:
            block = ipaddress.ip_network(ec2.get_subnet(subnet_id).cidr_block)
            if block.prefixlen > ALB_SMALLEST_SUBNET_PREFIX:
                raise ELBClientError(
                    "InvalidSubnet", f"Not enough IP space available in {subnet_id}. ELB "
                                     "requires at least 8 free IP addresses in each subnet.")
        return original(self, name, security_groups, subnet_ids, *args, **kwargs)

    setattr(create_load_balancer, _MARK, True)
    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
