"""CKV_LOONO_14: the PostgreSQL major version is still under RDS standard support.

The end dates are AWS's published RDS standard support end dates; extend the table
when AWS publishes new ones. A major version missing from the table fails (unknown
support is not support).
"""

from __future__ import annotations

import datetime
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

STANDARD_SUPPORT_ENDS = {
    11: datetime.date(2024, 2, 29),
    12: datetime.date(2025, 2, 28),
    13: datetime.date(2026, 2, 28),
    14: datetime.date(2027, 2, 28),
    15: datetime.date(2028, 2, 29),
    16: datetime.date(2029, 2, 28),
    17: datetime.date(2030, 2, 28),
}


def _first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    return value[0] if isinstance(value, list) and value else value


class PostgresStandardSupport(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="PostgreSQL major version is still under RDS standard support",
            id="CKV_LOONO_14",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if _first(conf, "engine") != "postgres":
            return CheckResult.UNKNOWN
        version = str(_first(conf, "engine_version") or "")
        major = version.split(".")[0]
        if not major.isdigit():
            return CheckResult.UNKNOWN
        ends = STANDARD_SUPPORT_ENDS.get(int(major))
        if ends is None:
            return CheckResult.PASSED if int(major) > max(STANDARD_SUPPORT_ENDS) else \
                CheckResult.FAILED
        return CheckResult.PASSED if datetime.date.today() <= ends else CheckResult.FAILED


check = PostgresStandardSupport()
