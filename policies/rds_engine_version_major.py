"""CKV_LOONO_16: an RDS engine version that cannot fight automatic minor upgrades.

With auto_minor_version_upgrade on (AWS's default), RDS moves the instance to new minor
versions by itself. A configuration that pins a minor (engine_version = "12.5") then asks to
go back once AWS upgraded: every apply fails ("cannot upgrade from 12.x to 12.5"). The major
version alone ("12") lets the provider ignore the minor it reads back. PostgreSQL 10 and
later name a major with one number. Advisory: the plan shows the minor AWS upgraded to once
it did, so the guard is the settings (database.engine_version refuses a minor).
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    return value[0] if isinstance(value, list) and value else value


class EngineVersionMajorOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="RDS PostgreSQL names its major version only while minor upgrades are automatic",
            id="CKV_LOONO_16",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if _first(conf, "engine") != "postgres":
            return CheckResult.UNKNOWN
        if _first(conf, "auto_minor_version_upgrade") is False:
            return CheckResult.PASSED  # the minor is the team's to move
        version = str(_first(conf, "engine_version") or "")
        if not version:
            return CheckResult.PASSED  # AWS's default version, upgraded by AWS
        if not re.fullmatch(r"[0-9.]+", version):
            return CheckResult.UNKNOWN  # a variable the module scan cannot resolve: the plan can
        return CheckResult.PASSED if version.isdigit() else CheckResult.FAILED


check = EngineVersionMajorOnly()
