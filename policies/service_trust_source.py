"""CKV_LOONO_18: a role that an AWS service may assume names whose requests it serves.

A trust policy that lets a service principal (ecs-tasks.amazonaws.com...) assume the role
without an aws:SourceAccount or aws:SourceArn condition lets that service assume it on behalf
of anyone's resources (the confused deputy AWS warns of). Every Allow statement with a service
principal must carry one of those conditions.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"}


def _document(conf: dict[str, Any]) -> dict[str, Any] | None:
    raw = conf.get("assume_role_policy")
    raw = raw[0] if isinstance(raw, list) and raw else raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trusts_a_service(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return isinstance(principal, dict) and bool(principal.get("Service"))


def _names_the_source(statement: dict[str, Any]) -> bool:
    conditions = statement.get("Condition") or {}
    return any(str(key).lower() in SOURCE_KEYS
               for operator in conditions.values() if isinstance(operator, dict)
               for key in operator)


class ServiceTrustNamesSource(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Roles trusted by an AWS service carry aws:SourceAccount or aws:SourceArn",
            id="CKV_LOONO_18",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        document = _document(conf)
        if document is None:
            return CheckResult.UNKNOWN
        statements = [s for s in _listed(document.get("Statement")) if isinstance(s, dict)]
        services = [s for s in statements if s.get("Effect") == "Allow" and _trusts_a_service(s)]
        if not services:
            return CheckResult.PASSED
        return CheckResult.PASSED if all(_names_the_source(s) for s in services) else \
            CheckResult.FAILED


check = ServiceTrustNamesSource()
