"""The CLI as the workflows call it: realistic pull_request and push payloads, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, the local GitHub API server and a sandbox of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from loono_infra.ci.actions import read_outputs
from loono_infra.cli import app
from loono_infra.sandbox.control import require_sandbox
from tests.github_fake import REPO, FakeGitHub, github_server
from tests.integration.conftest import project_with_sandbox

pytestmark = pytest.mark.integration
HEAD = "3f2c1ab" + "0" * 33
runner = CliRunner()


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from project_with_sandbox(tmp_path_factory.mktemp("delivery"))


def in_actions(monkeypatch: pytest.MonkeyPatch, folder: Path, fake: FakeGitHub,
               event_name: str, event: dict[str, Any]) -> tuple[Path, Path]:
    """Sets the variables GitHub Actions sets for a step; returns (outputs, summary) files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "event.json").write_text(json.dumps(event), encoding="utf-8")
    outputs, summary = folder / "output", folder / "summary.md"
    for name, value in {
            "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(folder / "event.json"), "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": REPO,
            "GITHUB_TOKEN": "test-token", "GITHUB_API_URL": fake.base_url, "GITHUB_SHA": HEAD,
            "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "4242"}.items():
        monkeypatch.setenv(name, value)
    return outputs, summary


def pull_request_event(number: int) -> dict[str, Any]:
    return {"action": "synchronize", "number": number,
            "pull_request": {"number": number, "state": "open",
                             "head": {"sha": HEAD, "ref": "change"},
                             "base": {"sha": "0" * 40, "ref": "main"}},
            "repository": {"full_name": REPO}}


MERGE = "e" * 40


def push_event() -> dict[str, Any]:
    return {"ref": "refs/heads/main", "before": "0" * 40, "after": MERGE,
            "head_commit": {"id": MERGE, "message": "Merge pull request #7"},
            "repository": {"full_name": REPO}}


def invoke_json(*arguments: str, codes: tuple[int, ...] = (0,)) -> Any:
    result = runner.invoke(app, [*arguments, "--json"])
    assert result.exit_code in codes, result.output
    return json.loads(result.stdout)


def test_pull_request_report_keeps_one_comment_then_push_applies(
        delivery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(delivery)
    with github_server() as fake:
        fake.add_pull(7, "alice", HEAD)
        outputs, summary = in_actions(monkeypatch, tmp_path / "pr", fake, "pull_request",
                                      pull_request_event(7))
        first = invoke_json("report", "--env", "sandbox")
        second = invoke_json("report", "--env", "sandbox")
        assert (first["comment"], second["comment"]) == ("created", "edited")
        assert [kind for kind, _ in fake.writes] == ["create", "edit"]
        assert len(fake.comments[7]) == 1
        body = fake.comments[7][0]["body"]
        assert body.startswith("<!-- loono-infra:plan-report -->") and "| sandbox |" in body
        first_apply = second["environments"]["sandbox"]["summary"]["add"]
        assert f"#### Changes ({first_apply})" in body and len(body) <= 65_536
        assert "`module.rds.aws_db_instance.this` | create |" in body
        assert summary.read_text().count("## Terraform plan") == 2
        written = read_outputs(outputs)
        digest = json.loads(written["digests"])["sandbox"]
        assert digest == second["environments"]["sandbox"]["digest"]
        assert written["has_changes"] == "true" and written["ready"] == "true"
        secret = json.loads((delivery / ".loono/sandbox/secrets.json").read_text())["sandbox"]
        assert secret not in body and secret not in summary.read_text()

        assert "<!-- loono-infra:reviewed:v1 " in body and HEAD in body
        fake.merge(7, MERGE)
        in_actions(monkeypatch, tmp_path / "push", fake, "push", push_event())
        monkeypatch.setenv("GITHUB_SHA", MERGE)
        planned = invoke_json("plan", "--env", "sandbox", codes=(2,))
        applying = runner.invoke(app, ["apply", "--env", "sandbox", "--require-reviewed",
                                       "--json"])
        assert applying.exit_code == 0, applying.output
        applied = json.loads(applying.stdout)
        assert applied["digest"] == planned["digest"]
        assert applied["applied"]["add"] == planned["summary"]["add"] > 40
        progress = [line for line in applying.stderr.splitlines() if "apply sandbox: " in line]
        total = planned["summary"]["add"]
        assert sum("Creation complete" in line for line in progress) == total  # CI: a line each
        assert any(line.endswith(f"[{total}/{total}]") for line in progress)

def test_drift_is_nothing_after_apply_then_names_an_outside_change_in_an_issue(
        applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(applied)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    logs = boto3.client("logs", endpoint_url=require_sandbox(applied).url,
                        region_name="eu-central-1", aws_access_key_id="sandbox",
                        aws_secret_access_key="sandbox")
    group = "/ecs/loono-sbx"
    kept = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"]
    with github_server() as fake:
        for name, value in {"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "test-token",
                            "GITHUB_API_URL": fake.base_url}.items():
            monkeypatch.setenv(name, value)
        clean = invoke_json("drift", "--env", "sandbox", "--issue")
        assert (clean["drifted"], clean["issue"]) == ([], "none"), clean
        logs.put_retention_policy(logGroupName=group, retentionInDays=30)
        drifted = invoke_json("drift", "--env", "sandbox", "--issue", codes=(2,))
        assert [(d["address"], d["attributes"]) for d in drifted["drifted"]] == [
            ("module.cloudwatch.aws_cloudwatch_log_group.service", ["retention_in_days"])]
        assert drifted["issue"] == "opened"
        [issue] = fake.issues.values()
        assert "retention_in_days" in issue["body"] and issue["state"] == "open"
        assert "retention_in_days" in (tmp_path / "summary.md").read_text()
        assert read_outputs(tmp_path / "output")["drifted"] == "true"
        logs.put_retention_policy(logGroupName=group, retentionInDays=kept)  # put back
        healed = invoke_json("drift", "--env", "sandbox", "--issue")
        assert (healed["drifted"], healed["issue"]) == ([], "closed")
        assert issue["state"] == "closed"


GITHUB_STEP_VARIABLES = ("GITHUB_EVENT_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")


@pytest.fixture(scope="module")
def applied(delivery: Path) -> Iterator[Path]:
    """delivery with its stack applied as its settings say, whatever ran before (or nothing)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(delivery)
        for name in GITHUB_STEP_VARIABLES:
            patch.delenv(name, raising=False)
        planned = runner.invoke(app, ["plan", "--env", "sandbox", "--json"])
        assert planned.exit_code in (0, 2), planned.output  # 2: changes to apply
        if planned.exit_code == 2:
            invoke_json("apply", "--env", "sandbox")
        yield delivery


def _expect_render(document: Any) -> None:
    assert document["directory"].endswith("/.loono/sandbox/sandbox"), document
    assert "main.tf.json" in document["files"]


def _expect_validate(document: Any) -> None:
    assert document["valid"] is True and isinstance(document["warnings"], list), document


def _expect_schema(document: Any) -> None:
    assert document["title"] == "loono-infra environment settings"
    assert {"service", "database", "deploy"} <= set(document["properties"])


def _expect_sandbox_up(document: Any) -> None:
    assert document["url"].startswith("http://127.0.0.1:") and document["pid"] > 0, document


def _expect_sandbox_running(document: Any) -> None:
    assert document["running"] is True and document["url"].startswith("http://127.0.0.1:")


def _expect_history(document: Any) -> None:
    applies = [entry for entry in document if entry["kind"] == "apply"]
    assert applies and all(e["result"].startswith("applied +") for e in applies), document
    assert all(e["digest"].startswith("sha256:") and e["who"] for e in applies)


def _expect_log_lines(document: Any) -> None:
    assert isinstance(document, list)
    assert all({"time", "message"} <= set(line) for line in document), document[:3]


def _expect_decision(gate: str) -> Any:
    def expect(document: Any) -> None:
        assert (document["gate"], document["environment"], document["passed"]) == (
            gate, "sandbox", True), document
        assert document["digest"].startswith("sha256:") and document["failures"] == []
    return expect


def _expect_bootstrap(document: Any) -> None:
    assert document["created"] == []  # the fixture's plan made them; this run changes nothing
    assert sorted(document["existing"]) == [
        "dynamodb table loono-terraform-locks", "s3 bucket loono-terraform-state-sandbox",
        "s3 bucket loono-terraform-state-sandbox-audit (object lock)"], document


def _expect_status(document: Any) -> None:
    assert (document["environment"], document["deployed"], document["healthy"]) == (
        "sandbox", False, False), document
    assert document["running"] == 0  # Terraform's template revision, nothing deployed on it
    assert document["task_definition"].rsplit("/", 1)[-1].startswith("loono-sbx-config:")


JSON_ROUND: list[tuple[tuple[str, ...], Any]] = [
    (("render", "--env", "sandbox"), _expect_render),
    (("validate", "--env", "sandbox"), _expect_validate),
    (("policy", "--env", "sandbox"), _expect_decision("policy")),
    (("owners", "--env", "sandbox"), _expect_decision("owners")),
    (("schema",), _expect_schema),
    (("bootstrap", "--env", "sandbox"), _expect_bootstrap),
    (("sandbox", "up"), _expect_sandbox_up),
    (("sandbox", "status"), _expect_sandbox_running),
    (("status", "--env", "sandbox"), _expect_status),
    (("logs", "--env", "sandbox", "--since", "2h"), _expect_log_lines),
    (("history", "--env", "sandbox"), _expect_history),
]


@pytest.mark.parametrize(("arguments", "expect"), JSON_ROUND,
                         ids=[" ".join(arguments) for arguments, _ in JSON_ROUND])
def test_every_command_prints_json_a_machine_can_read(
        applied: Path, arguments: tuple[str, ...], expect: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(applied)
    for name in GITHUB_STEP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    expect(invoke_json(*arguments))  # exit 0: every gate passes, nothing is deployed yet


def test_destroy_and_sandbox_down_print_json_too(delivery: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(delivery)
    for name in ("GITHUB_EVENT_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    destroyed = invoke_json("destroy", "--env", "sandbox", "--yes")
    assert destroyed["applied"]["destroy"] > 40
    assert invoke_json("sandbox", "down") == {"stopped": True}
