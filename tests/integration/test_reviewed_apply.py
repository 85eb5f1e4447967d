"""What is applied is what was reviewed: main moved between approval and merge, so the push
apply refuses, names the resources outside the reviewed plan, tells the pull request, and
applies nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loono_infra import load_settings
from loono_infra.ci.review_report import pull_request_report
from loono_infra.sandbox.control import SandboxInfo
from tests.conftest import PROJECT_ROOT, commit_all, git
from tests.github_fake import REPO, github_server
from tests.integration.conftest import project_sharing_sandbox

pytestmark = pytest.mark.integration

CPU_ALARMS = {"module.cloudwatch.aws_cloudwatch_metric_alarm.database_cpu",
              "module.cloudwatch.aws_cloudwatch_metric_alarm.service_cpu"}


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "environments" / "sandbox.toml"
    text = path.read_text()
    assert old in text or not old
    path.write_text(text.replace(old, new, 1) if old else text + new)


def _actions(tmp: Path, base_url: str, event_name: str, event: dict[str, Any],
             sha: str) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "event.json").write_text(json.dumps(event))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(tmp / "event.json"), "GITHUB_OUTPUT": str(tmp / "out"),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"), "GITHUB_REPOSITORY": REPO,
            "GITHUB_TOKEN": "test-token", "GITHUB_API_URL": base_url, "GITHUB_SHA": sha}


def test_moved_main_refuses_names_the_resources_and_tells_the_pr(
        sandbox_project: Path, sandbox: SandboxInfo, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    _edit(project, 'key = "sandbox/terraform.tfstate"', 'key = "reviewed/terraform.tfstate"')
    base = commit_all(project, "its own state")
    git(project, "checkout", "-q", "-b", "a")
    _edit(project, "[logs]\nretention_days = 7", "[logs]\nretention_days = 14")
    head_a = commit_all(project, "A: keep logs two weeks")
    with github_server() as fake:
        fake.add_pull(21, "alice", head_a)
        event = {"number": 21, "pull_request": {"number": 21, "head": {"sha": head_a}}}
        for name, value in _actions(tmp_path / "pr", fake.base_url, "pull_request", event,
                                    head_a).items():
            monkeypatch.setenv(name, value)
        report = pull_request_report([load_settings(project / "environments" / "sandbox.toml")])
        reviewed = report.plans[0].content_digest
        assert reviewed and f"{reviewed}" in fake.comments[21][0]["body"]

        git(project, "checkout", "-q", "main")  # B merged first, changing the same environment
        _edit(project, "", "\n[alarms]\ncpu_percent = 70\n")
        commit_all(project, "B: CPU alarms at 70 %")
        git(project, "merge", "-q", "--no-edit", "a")
        merge = git(project, "rev-parse", "HEAD")
        fake.merge(21, merge)
        env = {**os.environ, **_actions(tmp_path / "push", fake.base_url, "push",
                                        {"after": merge, "before": base}, merge),
               "PYTHONPATH": str(PROJECT_ROOT)}
        cli = [sys.executable, "-m", "loono_infra.cli"]
        planned = subprocess.run([*cli, "plan", "--env", "sandbox", "--json"], cwd=project,
                                 env=env, capture_output=True, text=True, check=False)
        assert planned.returncode == 2, planned.stderr
        assert json.loads(planned.stdout)["content_digest"] != reviewed
        applied = subprocess.run([*cli, "apply", "--env", "sandbox", "--require-reviewed"],
                                 cwd=project, env=env, capture_output=True, text=True,
                                 check=False)
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert "not the plan reviewed in pull request #21" in applied.stderr
    for address in CPU_ALARMS:
        assert address in applied.stderr
    told = fake.comments[21][-1]["body"]
    assert len(fake.comments[21]) == 2 and "Not applied" in told
    assert {line.strip("- `") for line in told.splitlines()} >= CPU_ALARMS
    assert "Not applied" in (tmp_path / "push" / "summary.md").read_text()
    state = aws("s3").list_objects_v2(Bucket="loono-terraform-state-sandbox",
                                      Prefix="reviewed/")
    assert state.get("KeyCount", 0) == 0, "nothing may be applied"
