"""CKV_LOONO_19: subnets are large enough for a load balancer (a /27 or larger).

An application load balancer needs at least a /27 with 8 free addresses in each of its
subnets; the tasks' network interfaces take one address each. A /28 (what a /20 VPC split
by 8 bits gives) cannot hold the load balancer: its creation fails.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

SMALLEST_PREFIX = 27


class SubnetLargeEnough(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Subnets are /27 or larger (room for a load balancer and the tasks)",
            id="CKV_LOONO_19",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_subnet"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        block = conf.get("cidr_block")
        block = block[0] if isinstance(block, list) and block else block
        try:
            network = ipaddress.ip_network(str(block), strict=False)
        except ValueError:
            return CheckResult.UNKNOWN  # not known before apply
        return CheckResult.PASSED if network.prefixlen <= SMALLEST_PREFIX else CheckResult.FAILED


check = SubnetLargeEnough()
