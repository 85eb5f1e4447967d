"""CKV_LOONO_13: the team's log-reader role and group get read-only policies only."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

READ_ONLY_POLICIES = frozenset({
    "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
    "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
})
ATTACHMENTS = ["aws_iam_role_policy_attachment", "aws_iam_group_policy_attachment"]


def _first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    return value[0] if isinstance(value, list) and value else value


class LogReaderReadOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="The log-reader role and group are given read-only policies only",
            id="CKV_LOONO_13",
            categories=[CheckCategories.IAM],
            supported_resources=ATTACHMENTS,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        address = str(conf.get("__address__", ""))
        holder = str(_first(conf, "role") or _first(conf, "group") or "")
        if "log_reader" not in address and "log-reader" not in holder:
            return CheckResult.UNKNOWN
        policy = _first(conf, "policy_arn")
        return CheckResult.PASSED if policy in READ_ONLY_POLICIES else CheckResult.FAILED


check = LogReaderReadOnly()
