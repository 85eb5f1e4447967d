"""The ownership gate end to end: production rehearsed on the sandbox, approvals from GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loono_infra import apply, load_settings, plan
from loono_infra.core.errors import GateRefusedError, LoonoError, PlanFileError
from loono_infra.core.settings import Settings
from loono_infra.flow.pipeline import review_owners
from loono_infra.reports.terminal import decision_text
from loono_infra.sandbox.control import (
    SandboxInfo,
    require_sandbox,
)
from tests.github_fake import REPO, FakeGitHub, github_server
from tests.integration.conftest import project_sharing_sandbox, project_with_sandbox

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


def test_emergency_apply_is_audited_next_to_the_state(
        own_sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "LOONO_PULL_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_ACTOR", "on-call-olga")
    project = project_sharing_sandbox(tmp_path / "p", own_sandbox)
    settings = load_settings(_production(project))
    planned = plan(settings, sandbox=True, refresh=False)
    assert planned.owners is not None and not planned.owners.passed
    s3 = _s3(require_sandbox(own_sandbox))
    with pytest.raises(LoonoError, match="written reason"):
        apply(planned, emergency_reason="because")
    apply(planned, emergency_reason="database is down, restoring the parameter group by hand")
    objects = s3.list_objects_v2(Bucket=settings.state.bucket,
                                        Prefix="owners-e2e/terraform.tfstate.audit/")
    keys = [o["Key"] for o in objects.get("Contents", [])]
    assert len(keys) == 1 and planned.digest.removeprefix("sha256:")[:16] in keys[0]
    record = json.loads(s3.get_object(Bucket=settings.state.bucket, Key=keys[0])[
        "Body"].read())
    assert record["who"] == "on-call-olga" and record["digest"] == planned.digest
    assert record["reason"].startswith("database is down") and record["missing_approvals"]


def _with_alarm(settings: Settings) -> Settings:
    data = settings.model_dump()
    data["alarms"]["cpu_percent"] = 70
    changed = Settings.model_validate(data)
    changed._source = settings.source
    return changed


def _s3(sandbox: SandboxInfo) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=sandbox.url, region_name="eu-central-1",
                        aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
