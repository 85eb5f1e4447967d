"""Audit records of emergency applies, written next to the Terraform state (S3)."""

from __future__ import annotations

import datetime
import getpass
import json
import os

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings


def who() -> str:
    """The person or automation applying: GitHub's actor, else the local user."""
    return os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def audit_key(settings: Settings, digest: str, when: datetime.datetime) -> str:
    """`<state key>.audit/<UTC time>-<digest prefix>.json`."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    return f"{settings.state.key}.audit/{stamp}-{digest.removeprefix('sha256:')[:16]}.json"


def write_emergency_record(settings: Settings, digest: str, reason: str,
                           endpoint: AwsEndpoint, missing: list[str]) -> str:
    """Writes the record to the state bucket; an apply without it does not happen."""
    from botocore.exceptions import BotoCoreError, ClientError

    when = datetime.datetime.now(datetime.UTC)
    record = {"who": who(), "when": when.isoformat(), "environment": settings.environment,
              "digest": digest, "reason": reason, "missing_approvals": missing}
    s3 = endpoint.client("s3")
    key = audit_key(settings, digest, when)
    try:
        s3.put_object(Bucket=settings.state.bucket, Key=key, ServerSideEncryption="AES256",
                      Body=json.dumps(record, indent=2).encode(), ContentType="application/json")
    except (BotoCoreError, ClientError) as error:
        raise LoonoError(f"the emergency audit record could not be written: {error}") from None
    return key
