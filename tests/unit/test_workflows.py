"""The GitHub Actions workflows and the composite action: actionlint, pinning, permissions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = PROJECT_ROOT / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).is_file():
        pytest.fail("actionlint is not installed (make setup installs it)")
    return found


def load(path: Path) -> dict[Any, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def uses_of(document: dict[Any, Any]) -> list[str]:
    steps = [step for job in (document.get("jobs") or {}).values() for step in
             job.get("steps", [])] + list((document.get("runs") or {}).get("steps", []))
    return [str(step["uses"]) for step in steps if "uses" in step]


def test_every_workflow_passes_actionlint() -> None:
    result = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_find_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-22.04\n    steps:\n"
                      "      - run: echo ${{ github.event.pull_request.title }}\n"
                      "      - uses: actions/checkout@v4\n        with: {nope: 1}\n")
    result = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True,
                            text=True, cwd=tmp_path, check=False)
    assert result.returncode == 1 and "nope" in result.stdout


def test_the_team_s_pipelines_exist_under_their_names() -> None:
    names = {load(path)["name"] for path in WORKFLOWS}
    assert {"Terraform Apply on Push", "Deploy backend to ECS", "Terraform Plan", "Drift",
            "CI"} <= names


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_a_full_sha(path: Path) -> None:
    for uses in uses_of(load(path)):
        assert uses.startswith("./") or PINNED.match(uses), f"{path.name}: {uses}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_declares_least_permissions(path: Path) -> None:
    document = load(path)
    assert document.get("permissions") == {"contents": "read"}
    for name, job in document["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{path.name} job {name} has no permissions"
        assert "write-all" not in str(permissions)
        assert set(permissions.values()) <= {"read", "write", "none"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_aws_access_is_oidc_without_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    if "configure-aws-credentials" in text:
        assert "role-to-assume" in text
        assert all("id-token" in str(job.get("permissions")) for job in load(path)["jobs"]
                   .values() if "configure-aws-credentials" in str(job))


def test_applies_queue_per_environment_and_are_never_cancelled() -> None:
    job = load(PROJECT_ROOT / ".github/workflows/terraform-apply.yml")["jobs"]["apply"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert "matrix.environment" in job["concurrency"]["group"]
    assert "matrix.environment" in str(job["environment"])


def test_deploy_workflow_is_reusable() -> None:
    document = load(PROJECT_ROOT / ".github/workflows/deploy-backend.yml")
    assert "workflow_call" in document[True]  # YAML reads the key `on` as True
    assert document[True]["workflow_call"]["inputs"]["image"]["required"] is True


def test_inputs_never_reach_a_shell_script_directly() -> None:
    for path in [*WORKFLOWS, ACTION]:
        for block in re.findall(r"run: \|?\n?((?:.*\n)+?)(?=\s*- |\Z)", path.read_text()):
            assert "${{ inputs." not in block and "${{ github.event." not in block, path.name


def test_no_artifact_or_pr_job_holds_a_secret() -> None:
    """Plan files and state hold variable values in clear text: no plan document is uploaded
    (a pull request's own code writes them); the job that runs that code never receives the
    database password."""
    for path in WORKFLOWS:
        for step in [s for job in load(path)["jobs"].values() for s in job.get("steps", [])]:
            if "upload-artifact" in str(step.get("uses", "")):
                uploaded = str(step.get("with", {}).get("path", ""))
                assert ".tfplan" not in uploaded and "tfstate" not in uploaded, path.name
                assert "plan" not in uploaded, path.name  # not even a redacted plan document
                kept = ("coverage", ".loono/applies/", ".loono/deploys/")
                assert any(part in uploaded for part in kept), path.name  # no values inside
    for path in WORKFLOWS:  # a pull request's own code runs there: no secret reaches it
        if "pull_request" in load(path)[True]:
            assert "secrets." not in path.read_text(), path.name
