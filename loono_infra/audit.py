"""Audit records of emergency applies, written next to the Terraform state (S3)."""

from __future__ import annotations

import datetime
import getpass
import json
import os

from loono_infra.errors import LoonoError
from loono_infra.sandbox.control import SANDBOX_REGION_CREDENTIALS, SandboxInfo
from loono_infra.settings import Settings


def who() -> str:
    """The person or automation applying: GitHub's actor, else the local user."""
    return os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def audit_key(settings: Settings, digest: str, when: datetime.datetime) -> str:
    """`<state key>.audit/<UTC time>-<digest prefix>.json`."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    return f"{settings.state.key}.audit/{stamp}-{digest.removeprefix('sha256:')[:16]}.json"


def write_emergency_record(settings: Settings, digest: str, reason: str,
                           sandbox: SandboxInfo | None, missing: list[str]) -> str:
    """Writes the record to the state bucket; an apply without it does not happen."""
    from botocore.exceptions import BotoCoreError, ClientError

    from loono_infra.bootstrap import aws_clients

    when = datetime.datetime.now(datetime.UTC)
    record = {"who": who(), "when": when.isoformat(), "environment": settings.environment,
              "digest": digest, "reason": reason, "missing_approvals": missing}
    s3, _ = aws_clients(settings.region, sandbox.url if sandbox else None,
                        SANDBOX_REGION_CREDENTIALS if sandbox else None)
    key = audit_key(settings, digest, when)
    try:
        s3.put_object(Bucket=settings.state.bucket, Key=key, ServerSideEncryption="AES256",
                      Body=json.dumps(record, indent=2).encode(), ContentType="application/json")
    except (BotoCoreError, ClientError) as error:
        raise LoonoError(f"the emergency audit record could not be written: {error}") from None
    return key
