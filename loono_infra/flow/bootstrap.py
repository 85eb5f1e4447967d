"""Create an account's Terraform state bucket and lock table if missing; keep what exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import AUDIT_RETENTION_DAYS, Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass
class BootstrapReport:
    """What bootstrap created and what it found already there."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """The report as plain data (for --json)."""
        return {"created": self.created, "existing": self.existing}


def _bucket_exists(s3: S3Client, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def _create_bucket(s3: S3Client, bucket: str, region: str, *, locked: bool = False) -> None:
    options: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": locked}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**options)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if locked:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {
                "Mode": "COMPLIANCE", "Days": AUDIT_RETENTION_DAYS}}})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )


def _table_exists(dynamodb: DynamoDBClient, table: str) -> bool:
    try:
        dynamodb.describe_table(TableName=table)
    except dynamodb.exceptions.ResourceNotFoundException:
        return False
    return True


def _create_table(dynamodb: DynamoDBClient, table: str) -> None:
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table,
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _require_object_lock(s3: S3Client, bucket: str) -> None:
    """An existing audit bucket must lock what it holds, or emergency records could vanish."""
    from botocore.exceptions import ClientError

    try:
        lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError:
        lock = {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        raise LoonoError(f"s3 bucket {bucket} exists without object lock: emergency records "
                         "there could be deleted; it must be created with object lock")


def bootstrap_state_backend(settings: Settings, s3: S3Client,
                            dynamodb: DynamoDBClient) -> BootstrapReport:
    """Creates the state bucket (versioned, encrypted, public access blocked), the audit bucket
    (the same, with object lock in compliance mode) and the lock table."""
    from botocore.exceptions import BotoCoreError, ClientError

    report = BootstrapReport()
    bucket, table = settings.state.bucket, settings.state.lock_table
    try:
        if _bucket_exists(s3, bucket):
            report.existing.append(f"s3 bucket {bucket}")
        else:
            _create_bucket(s3, bucket, settings.region)
            report.created.append(f"s3 bucket {bucket}")
        audit = settings.state.audit_bucket
        if _bucket_exists(s3, audit):
            _require_object_lock(s3, audit)
            report.existing.append(f"s3 bucket {audit} (object lock)")
        else:
            _create_bucket(s3, audit, settings.region, locked=True)
            report.created.append(f"s3 bucket {audit} (object lock, compliance "
                                  f"{AUDIT_RETENTION_DAYS} days)")
        if _table_exists(dynamodb, table):
            report.existing.append(f"dynamodb table {table}")
        else:
            _create_table(dynamodb, table)
            report.created.append(f"dynamodb table {table}")
    except (BotoCoreError, ClientError) as error:
        raise LoonoError(f"bootstrap of the state backend failed: {error}") from None
    return report
