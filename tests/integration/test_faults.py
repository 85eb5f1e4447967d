"""Faults give one clear error naming what is wrong, and nothing is applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loono_infra import load_settings, plan
from loono_infra.core.errors import PlanFileError, TerraformError
from loono_infra.flow.pipeline import apply, load_saved_plan
from loono_infra.sandbox.control import SandboxInfo
from tests.integration.conftest import project_sharing_sandbox

pytestmark = pytest.mark.integration


def test_broken_module_names_the_file(sandbox_project: Path, sandbox: SandboxInfo,
                                      tmp_path: Path) -> None:
    broken = project_sharing_sandbox(tmp_path / "broken", sandbox_project)
    main = broken / "terraform" / "modules" / "ecr" / "main.tf"
    main.write_text(main.read_text().replace("scan_on_push = true", "scan_on_push = nope.x"))
    # A state of its own: the failing plan must not share a lock with the lifecycle test.
    toml = broken / "environments" / "sandbox.toml"
    toml.write_text(toml.read_text().replace('key = "sandbox/terraform.tfstate"',
                                             'key = "faults/terraform.tfstate"'))
    settings = load_settings(toml)
    with pytest.raises(TerraformError) as caught:
        plan(settings)
    diagnostics = caught.value.diagnostics
    assert any(d.filename and "ecr/main.tf" in d.filename for d in diagnostics), \
        [f"{d.summary}: {d.detail}" for d in diagnostics]
    assert _state_version(sandbox, settings.state.bucket, "faults/terraform.tfstate") is None
    assert not (broken / ".loono/sandbox/sandbox/plan.tfplan").exists()  # nothing to apply


def _state_version(sandbox: SandboxInfo, bucket: str, key: str) -> str | None:
    """The ETag of a state object in the sandbox's S3, None when no state was ever written."""
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", endpoint_url=sandbox.url, region_name="eu-central-1",
                      aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    try:
        return str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NoSuchBucket"):
            return None
        raise


def test_a_changed_plan_file_is_not_applied(sandbox_project: Path, sandbox: SandboxInfo) -> None:
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    planned = plan(settings, sandbox=True, refresh=False)
    state_before = _state_version(sandbox, settings.state.bucket, settings.state.key)
    with planned.plan_file.open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(PlanFileError, match="not the planned"):
        apply(planned)
    assert load_saved_plan(settings, sandbox=True).digest == planned.digest
    assert _state_version(sandbox, settings.state.bucket, settings.state.key) == state_before


def test_cli_plan_json_and_exit_code_2(sandbox_project: Path, sandbox: SandboxInfo) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "loono_infra.cli", "plan", "--env", "production", "--sandbox",
         "--json", "--no-refresh"],
        cwd=sandbox_project, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert completed.returncode == 2, completed.stderr
    report = json.loads(completed.stdout)
    assert report["has_changes"] and report["environment"] == "production"
    assert report["digest"].startswith("sha256:")
