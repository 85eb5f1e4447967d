"""Bootstrap creates only what is missing; concurrent runs on one environment queue up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from loono_infra import load_settings, plan
from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.settings import Settings
from loono_infra.flow.bootstrap import bootstrap_state_backend
from loono_infra.sandbox.control import SANDBOX_REGION_CREDENTIALS, SandboxInfo

pytestmark = pytest.mark.integration


def _fresh_backend_settings(project: Path) -> Settings:
    settings = load_settings(project / "environments" / "production.toml")
    data = settings.model_dump()
    data["state"] = {"bucket": "loono-bootstrap-test", "lock_table": "loono-bootstrap-locks",
                     "key": "x/terraform.tfstate"}
    return Settings.model_validate(data)


def test_bootstrap_creates_a_safe_bucket_and_table_once(sandbox_project: Path,
                                                        sandbox: SandboxInfo, aws: Any) -> None:
    settings = _fresh_backend_settings(sandbox_project)
    clients = AwsEndpoint(settings.region, sandbox.url, SANDBOX_REGION_CREDENTIALS).clients(
        "s3", "dynamodb")
    first = bootstrap_state_backend(settings, *clients)
    assert first.created == ["s3 bucket loono-bootstrap-test",
                             "s3 bucket loono-bootstrap-test-audit (object lock, compliance "
                             "365 days)", "dynamodb table loono-bootstrap-locks"]
    s3 = aws("s3")
    assert s3.get_bucket_versioning(Bucket="loono-bootstrap-test")["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket="loono-bootstrap-test")[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket="loono-bootstrap-test")[
        "PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                     "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    lock = s3.get_object_lock_configuration(Bucket="loono-bootstrap-test-audit")[
        "ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 365)
    second = bootstrap_state_backend(settings, *clients)
    assert second.created == [] and len(second.existing) == 3


def test_concurrent_plans_of_one_environment_both_finish(sandbox_project: Path,
                                                         sandbox: SandboxInfo) -> None:
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: plan(settings, sandbox=True, refresh=False), range(2)))
    assert all(r.has_changes for r in results)
    assert {c.address for c in results[0].changes} == {c.address for c in results[1].changes}
    assert results[1].plan_file.is_file()
