"""CKV_LOONO_15: an inline role policy grants named reads of named things only.

(The log-reader role's inline policy is judged by CKV_LOONO_13 instead: log reads only.)
The ECS execution role reads exactly the database's secret and its host parameter
(secretsmanager:GetSecretValue, ssm:GetParameters, kms:Decrypt for a customer key):
no wildcard action, no resource "*", no other action.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

READS = frozenset({"secretsmanager:GetSecretValue", "ssm:GetParameters", "kms:Decrypt"})


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]


def _document(conf: dict[str, Any]) -> dict[str, Any] | None:
    policy = conf.get("policy")
    policy = policy[0] if isinstance(policy, list) and policy else policy
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    return policy if isinstance(policy, dict) else None


def _statement_ok(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return True
    actions, resources = _listed(statement.get("Action")), _listed(statement.get("Resource"))
    return (bool(actions) and set(actions) <= READS and bool(resources)
            and not any(r == "*" or r.endswith(":*") or r.endswith("/*") for r in resources))


def _is_log_reader(conf: dict[str, Any]) -> bool:
    """The same test as CKV_LOONO_13's is_log_reader (Checkov loads each check file alone, so
    it is written in both): address or holder name with log_reader / log-reader."""
    role = conf.get("role")
    role = role[0] if isinstance(role, list) and role else role
    words = (str(conf.get("__address__", "")), str(role or ""))
    return any(marker in word for word in words for marker in ("log_reader", "log-reader"))


class InlinePolicyReadsNamedThings(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Inline role policies grant only reads of named secrets and parameters",
            id="CKV_LOONO_15",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_role_policy"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if _is_log_reader(conf):
            return CheckResult.UNKNOWN  # judged by CKV_LOONO_13 (log reads only)
        document = _document(conf)
        if document is None:
            return CheckResult.UNKNOWN
        statements = document.get("Statement") or []
        statements = statements if isinstance(statements, list) else [statements]
        ok = statements and all(isinstance(s, dict) and _statement_ok(s) for s in statements)
        return CheckResult.PASSED if ok else CheckResult.FAILED


check = InlinePolicyReadsNamedThings()
