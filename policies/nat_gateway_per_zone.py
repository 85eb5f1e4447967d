"""CKV_LOONO_21: a NAT gateway serves the private subnets of its own zone only.

With one NAT gateway for every zone, the zone it lives in takes every task's way out (image
pulls, logs, AWS APIs) down with it. The network module tags each gateway with the zones
whose private subnets route through it (ServesZones); a gateway without that tag, or serving
more than one zone, is reported. Advisory: a NAT gateway per zone costs money, and
network.nat_gateway_per_zone is the team's choice.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _tags(conf: dict[str, Any]) -> dict[str, Any]:
    tags = conf.get("tags")
    tags = tags[0] if isinstance(tags, list) and tags else tags
    return tags if isinstance(tags, dict) else {}


class NatGatewayPerZone(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="A NAT gateway serves its own availability zone only (one per zone)",
            id="CKV_LOONO_21",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_nat_gateway"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        zones = _tags(conf).get("ServesZones")
        zones = zones[0] if isinstance(zones, list) and zones else zones
        if isinstance(zones, str) and "${" in zones:
            return CheckResult.UNKNOWN  # not known before the plan
        if not isinstance(zones, str) or not zones.split():
            return CheckResult.FAILED
        return CheckResult.PASSED if len(zones.split()) == 1 else CheckResult.FAILED


check = NatGatewayPerZone()
