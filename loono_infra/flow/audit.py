"""The emergency (break-glass) apply, made loud.

Who: in GitHub Actions, the claims of the run's OIDC token (actor, workflow, run id, ref, sha)
— the runner cannot make those up; elsewhere the local user and host. Where: the audit bucket
(object lock, compliance mode: the credentials that apply cannot delete or overwrite the record).
Who is told: the alarm SNS topic (everyone subscribed to alarms) and, in Actions, the job summary
(the CLI writes it from the returned record).
"""

from __future__ import annotations

import base64
import datetime
import getpass
import json
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings

OIDC_AUDIENCE = "loono-infra-audit"
_CLAIMS = ("actor", "workflow", "run_id", "run_attempt", "ref", "sha", "repository", "sub",
           "event_name", "environment")


@dataclass(frozen=True)
class EmergencyRecord:
    """What was written, where, and who was told."""

    record: dict[str, Any]
    bucket: str
    key: str
    version_id: str
    topic_arn: str | None
    message_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "bucket": self.bucket, "key": self.key,
                "version_id": self.version_id, "topic_arn": self.topic_arn,
                "message_id": self.message_id}


def actions_identity(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """The OIDC token's claims when running in GitHub Actions (with `id-token: write`)."""
    env = os.environ if environ is None else environ
    url, token = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not token:
        return None
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(f"{url}{separator}audience={OIDC_AUDIENCE}",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            jwt = str(json.loads(answer.read())["value"])
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError) as error:
        raise LoonoError(f"the Actions OIDC token could not be read ({error}): an emergency "
                         "apply in Actions needs `permissions: id-token: write`") from None
    return {"source": "github-actions-oidc",
            **{name: str(claims[name]) for name in _CLAIMS if name in claims}}


def who() -> dict[str, str]:
    """The person or automation applying."""
    return actions_identity() or {"source": "local", "user": getpass.getuser(),
                                  "host": socket.gethostname()}


def audit_key(settings: Settings, digest: str, when: datetime.datetime) -> str:
    """`<state key>.audit/<UTC time>-<digest prefix>.json`."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    return f"{settings.state.key}.audit/{stamp}-{digest.removeprefix('sha256:')[:16]}.json"


def write_emergency_record(settings: Settings, digest: str, reason: str, endpoint: AwsEndpoint,
                           missing: list[str], topic_arn: str | None) -> EmergencyRecord:
    """Writes the locked record and tells the alarm topic; an apply without it does not happen."""
    from botocore.exceptions import BotoCoreError, ClientError

    when = datetime.datetime.now(datetime.UTC)
    record = {"who": who(), "when": when.isoformat(), "environment": settings.environment,
              "digest": digest, "reason": reason, "missing_approvals": missing}
    body = json.dumps(record, indent=2, sort_keys=True)
    key = audit_key(settings, digest, when)
    bucket = settings.state.audit_bucket
    try:
        # The bucket's default retention (COMPLIANCE) locks it: no s3:PutObjectRetention needed.
        written = endpoint.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json",
            ServerSideEncryption="AES256")
    except (BotoCoreError, ClientError) as error:
        raise LoonoError(f"the emergency audit record could not be written to {bucket} "
                         f"(run `loono-infra bootstrap`): {error}") from None
    message_id = _tell(endpoint, topic_arn, settings, body) if topic_arn else None
    return EmergencyRecord(record, bucket, key, str(written.get("VersionId", "")), topic_arn,
                           message_id)


def _tell(endpoint: AwsEndpoint, topic_arn: str, settings: Settings, body: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = endpoint.client("sns").publish(
            TopicArn=topic_arn, Subject=f"EMERGENCY APPLY to {settings.environment}"[:100],
            Message=body)
    except (BotoCoreError, ClientError) as error:
        raise LoonoError(f"the emergency apply could not be announced on {topic_arn}: "
                         f"{error}") from None
    return str(answer["MessageId"])
