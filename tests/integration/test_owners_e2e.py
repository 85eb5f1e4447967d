"""The ownership gate end to end: production rehearsed on the sandbox, approvals from GitHub."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from loono_infra import apply, destroy, load_settings, plan
from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import GateRefusedError, LoonoError, PlanFileError
from loono_infra.core.settings import Settings
from loono_infra.flow.pipeline import review_owners
from loono_infra.reports.terminal import decision_text
from loono_infra.sandbox.control import (
    SandboxInfo,
    require_sandbox,
)
from tests.conftest import PROJECT_ROOT
from tests.github_fake import REPO, FakeGitHub, github_server
from tests.integration.conftest import project_sharing_sandbox, project_with_sandbox

pytestmark = pytest.mark.integration

HEAD = "c" * 40


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with github_server() as fake:
        fake.add_pull(7, "alice", HEAD)
        fake.teams |= {"@loono/infrastructure": ["ivan"], "@loono/database-owners": ["dora"],
                       "@loono/infrastructure-leads": ["lee"]}
        for name, value in {"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "test-token",
                            "GITHUB_API_URL": fake.base_url, "LOONO_PULL_REQUEST": "7"}.items():
            monkeypatch.setenv(name, value)
        yield fake


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with a sandbox of its own: these tests apply production's whole stack."""
    yield from project_with_sandbox(tmp_path_factory.mktemp("owners"))


def _production(project: Path) -> Path:
    path = project / "environments" / "production.toml"
    path.write_text(path.read_text().replace('key = "production/terraform.tfstate"',
                                             'key = "owners-e2e/terraform.tfstate"'))
    return path


def test_rds_change_waits_for_database_owners_and_binds_to_the_plan(
        own_sandbox: Path, github: FakeGitHub, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_sharing_sandbox(tmp_path / "p", own_sandbox)
    settings = load_settings(_production(project))
    github.review(7, "ivan", "APPROVED", HEAD)

    first = plan(settings, sandbox=True, refresh=False)
    assert first.owners is not None and not first.owners.passed
    missing = [f.message for f in first.owners.failures]
    assert missing and all("@loono/database-owners" in m for m in missing), missing
    with pytest.raises(GateRefusedError) as refused:
        apply(first)
    assert "@loono/database-owners" in " ".join(refused.value.details())

    github.review(7, "dora", "APPROVED", HEAD)
    approved = review_owners(settings, sandbox=True)
    assert approved.owners is not None and approved.owners.passed, decision_text(approved.owners)
    assert approved.owners.digest == first.approval_digest
    assert any("approved by dora" in note for note in approved.owners.notes)

    with monkeypatch.context() as offline:
        for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN"):
            offline.delenv(name)
        same = plan(settings, sandbox=True, refresh=False)
        assert same.approval_digest == approved.approval_digest
        assert same.owners is not None and same.owners.passed
        assert "kept: an identical re-plan" in same.owners.notes[-1]
        other = plan(_with_alarm(settings), sandbox=True, refresh=False)
        assert other.approval_digest != approved.approval_digest
        assert other.owners is not None and not other.owners.passed
    with pytest.raises(PlanFileError):
        apply(approved)
    forged = type(other)(**{**other.__dict__, "owners": approved.owners})
    with pytest.raises(GateRefusedError, match="no ownership decision"):
        apply(forged)

    final = plan(settings, sandbox=True, refresh=False)
    assert final.owners is not None and final.owners.passed
    result = apply(final)
    assert result.outputs["cluster_name"] == "loono-prod"


CLAIMS = {"actor": "on-call-olga", "workflow": "Emergency apply", "run_id": "777",
          "ref": "refs/heads/main", "sha": "f" * 40, "repository": REPO,
          "sub": "repo:loono/infrastructure:environment:production"}


@contextmanager
def oidc_token_server(claims: dict[str, str]) -> Iterator[str]:
    """Plays the Actions OIDC token endpoint: a JWT whose payload holds claims."""
    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    token = f"{segment({'alg': 'RS256'})}.{segment(claims)}.signature"

    class Token(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == "Bearer runtime-token" and \
                "audience=loono-infra-audit" in self.path
            body = json.dumps({"value": token} if ok else {"message": "no"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Token)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    finally:
        server.shutdown()
        server.server_close()


def test_emergency_apply_is_loud_locked_and_attributed(
        own_sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "LOONO_PULL_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    project = project_sharing_sandbox(tmp_path / "p", own_sandbox)
    settings = load_settings(_production(project))
    endpoint = AwsEndpoint("eu-central-1", require_sandbox(own_sandbox).url,
                           {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"})
    summary = tmp_path / "summary.md"
    with oidc_token_server(CLAIMS) as url:
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runtime-token")
        planned = plan(_with_alarm(settings, 70), sandbox=True, refresh=False)
        assert planned.has_changes
        assert planned.owners is not None and not planned.owners.passed
        with pytest.raises(LoonoError, match="written reason"):
            apply(planned, emergency_reason="because")
        first = apply(planned, emergency_reason="database is down, restoring by hand")
        assert first.digest == planned.digest and first.emergency is not None
        queue = _subscribe_queue(endpoint, "loono-prod-alarms")
        changed = plan(_with_alarm(settings, 60), sandbox=True, refresh=False)
        assert changed.has_changes and changed.owners is not None and not changed.owners.passed
        updates = {c.address: c.action for c in changed.changes if c.changes_something}
        assert updates == {"module.cloudwatch.aws_cloudwatch_metric_alarm.service_cpu": "update",
                           "module.cloudwatch.aws_cloudwatch_metric_alarm.database_cpu": "update"}
        result = _cli_apply(project, {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
                            "alarms page nobody at night: raising the CPU threshold now")
    record = result["emergency"]
    assert result["digest"] == changed.digest
    assert result["applied"] == {"add": 0, "change": 2, "destroy": 0, "imported": 0}
    assert record["record"]["who"] == {"source": "github-actions-oidc", **CLAIMS}
    assert record["record"]["digest"] == changed.digest and record["record"]["missing_approvals"]
    s3 = endpoint.client("s3")
    stored = json.loads(s3.get_object(Bucket=settings.state.audit_bucket, Key=record["key"])[
        "Body"].read())
    assert stored == record["record"]
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=settings.state.audit_bucket, Key=record["key"],
                         VersionId=record["version_id"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=settings.state.audit_bucket, Key=record["key"],
                         VersionId=record["version_id"])["Body"].read()
    messages = endpoint.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=2,
                                                      MaxNumberOfMessages=10)["Messages"]
    announced = [json.loads(m["Body"]) for m in messages]
    assert any("raising the CPU threshold" in a["Message"] and "on-call-olga" in a["Message"]
               and a["Subject"] == "EMERGENCY APPLY to production" for a in announced)
    text = summary.read_text()
    assert "EMERGENCY APPLY to production" in text and "on-call-olga" in text
    assert record["key"] in text
    alarms = endpoint.client("cloudwatch").describe_alarms(AlarmNamePrefix="loono-prod")[
        "MetricAlarms"]
    assert {a["Threshold"] for a in alarms if a["AlarmName"].endswith("cpu-high")} == {60.0}
    _destroy_without_approvals_is_refused(settings, endpoint)


def _destroy_without_approvals_is_refused(settings: Settings, endpoint: AwsEndpoint) -> None:
    """Production rehearsed: a destroy nobody approved stops at the ownership gate."""
    with pytest.raises(GateRefusedError) as refused:
        destroy(settings, sandbox=True)
    assert "@loono/" in " ".join(refused.value.details()), refused.value.details()
    clusters = endpoint.client("ecs").describe_clusters(clusters=["loono-prod"])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]  # nothing was destroyed
    databases = endpoint.client("rds").describe_db_instances()["DBInstances"]
    assert any(d["DBInstanceIdentifier"].startswith("loono-prod") for d in databases)


def _subscribe_queue(endpoint: AwsEndpoint, topic_name: str) -> str:
    sqs, sns = endpoint.client("sqs"), endpoint.client("sns")
    queue = sqs.create_queue(QueueName="on-call")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                 if t["TopicArn"].endswith(f":{topic_name}"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(queue)


def _cli_apply(project: Path, env: dict[str, str], reason: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "loono_infra.cli", "apply", "--env", "production", "--sandbox",
         "--emergency-reason", reason, "--json"], cwd=project, capture_output=True, text=True,
        check=False, env={**env, "PYTHONPATH": str(PROJECT_ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert "EMERGENCY APPLY" in completed.stderr
    return dict(json.loads(completed.stdout))


def _with_alarm(settings: Settings, cpu_percent: int = 70) -> Settings:
    data = settings.model_dump()
    data["alarms"]["cpu_percent"] = cpu_percent
    changed = Settings.model_validate(data)
    changed._source = settings.source
    return changed


def _s3(sandbox: SandboxInfo) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=sandbox.url, region_name="eu-central-1",
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
