"""CKV_LOONO_17: an encrypted SNS topic uses a key CloudWatch alarms can use.

CloudWatch publishes to an encrypted topic only with a customer managed KMS key whose policy
lets cloudwatch.amazonaws.com use it. The AWS managed key alias/aws/sns cannot be given to it:
every alarm notification to such a topic fails (KMS AccessDenied) and nobody is told.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

AWS_MANAGED_SNS_KEY = "alias/aws/sns"


class AlarmTopicKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SNS topics are not encrypted with the AWS managed key CloudWatch cannot use",
            id="CKV_LOONO_17",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_sns_topic"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        key = conf.get("kms_master_key_id")
        key = key[0] if isinstance(key, list) and key else key
        if isinstance(key, str) and key.strip().lower() == AWS_MANAGED_SNS_KEY:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = AlarmTopicKey()
