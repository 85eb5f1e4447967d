"""CKV_LOONO_12: every container of an ECS task definition logs to CloudWatch (awslogs)."""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _containers(conf: dict[str, Any]) -> list[dict[str, Any]] | None:
    raw = conf.get("container_definitions", [None])
    raw = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if isinstance(raw, dict):
        raw = [raw]
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        return raw
    return None


class EcsLogsToCloudWatch(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS task definition containers log to CloudWatch with the awslogs driver",
            id="CKV_LOONO_12",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_ecs_task_definition"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        containers = _containers(conf)
        if containers is None:
            return CheckResult.UNKNOWN
        drivers = [(c.get("logConfiguration") or {}).get("logDriver") for c in containers]
        return CheckResult.PASSED if drivers and all(
            d == "awslogs" for d in drivers) else CheckResult.FAILED


check = EcsLogsToCloudWatch()
