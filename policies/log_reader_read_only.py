"""CKV_LOONO_13: the team's log-reader role and group read the service's logs, nothing more.

Attached policies must be AWS's read-only CloudWatch Logs policies; inline policies may allow
only log reads, on named log groups (their streams: `<group>:*`), and the listing of groups
(names only) on any resource. A log group pattern (`log-group:*`, `log-group:/aws/*`)
would reach the database's query logs.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

READ_ONLY_POLICIES = frozenset({
    "arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess",
    "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
})
READS_OF_A_GROUP = frozenset({"logs:DescribeLogStreams", "logs:GetLogEvents",
                              "logs:FilterLogEvents", "logs:StartQuery",
                              "logs:GetLogGroupFields"})
LISTINGS = frozenset({"logs:DescribeLogGroups"})
ATTACHMENTS = ["aws_iam_role_policy_attachment", "aws_iam_group_policy_attachment"]
INLINE = ["aws_iam_role_policy", "aws_iam_group_policy"]


def _first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    return value[0] if isinstance(value, list) and value else value


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]


def is_log_reader(conf: dict[str, Any]) -> bool:
    """The resource belongs to a log-reader role or group: by its address or its holder's
    name, either spelling. CKV_LOONO_15 uses the same test to leave these to this check, so
    whatever one skips the other judges."""
    words = (str(conf.get("__address__", "")),
             str(_first(conf, "role") or _first(conf, "group") or ""))
    return any(marker in word for word in words for marker in ("log_reader", "log-reader"))


def _named_group(resource: str) -> bool:
    """`...:log-group:<name>` or `...:log-group:<name>:*`, the name without a wildcard."""
    _, found, name = resource.partition(":log-group:")
    name = name.removesuffix(":*")
    return bool(found and name) and not any(wild in name for wild in "*?")


def _statement_reads(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return isinstance(statement, dict)
    actions, resources = set(_listed(statement.get("Action"))), _listed(statement.get("Resource"))
    if not actions or not resources or "NotAction" in statement or "NotResource" in statement:
        return False
    if actions <= LISTINGS:
        return True
    return actions <= READS_OF_A_GROUP | LISTINGS and all(map(_named_group, resources))


def _document_reads(conf: dict[str, Any]) -> CheckResult:
    policy = _first(conf, "policy")
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return CheckResult.UNKNOWN
    if not isinstance(document, dict):
        return CheckResult.UNKNOWN
    statements = document.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    ok = bool(statements) and all(map(_statement_reads, statements))
    return CheckResult.PASSED if ok else CheckResult.FAILED


class LogReaderReadOnly(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="The log-reader role and group read the service's logs only",
            id="CKV_LOONO_13",
            categories=[CheckCategories.IAM],
            supported_resources=ATTACHMENTS + INLINE,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not is_log_reader(conf):
            return CheckResult.UNKNOWN
        if _first(conf, "policy") is not None:
            return _document_reads(conf)
        policy = _first(conf, "policy_arn")
        return CheckResult.PASSED if policy in READ_ONLY_POLICIES else CheckResult.FAILED


check = LogReaderReadOnly()
