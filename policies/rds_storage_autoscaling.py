"""CKV_LOONO_11: RDS storage autoscaling is configured (max_allocated_storage above allocated)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _number(conf: dict[str, Any], key: str) -> float | None:
    value = conf.get(key, [None])
    value = value[0] if isinstance(value, list) else value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class RdsStorageAutoscaling(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="RDS storage autoscaling is configured (max_allocated_storage > allocated)",
            id="CKV_LOONO_11",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        allocated = _number(conf, "allocated_storage")
        maximum = _number(conf, "max_allocated_storage")
        if "max_allocated_storage" not in conf:
            return CheckResult.FAILED
        if allocated is None or maximum is None:
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if maximum > allocated else CheckResult.FAILED


check = RdsStorageAutoscaling()
