"""Apply and deploy records kept per environment, and what `history` lists from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loono_infra.cli import app
from loono_infra.core.plans import ApplyResult
from loono_infra.core.settings import load_settings
from loono_infra.core.terraform.models import ChangeSummary
from loono_infra.core.workspace import Project
from loono_infra.deploy.record import DeployRecord
from loono_infra.flow.history import history, record_apply

SECRET = "s3cr3t-Output-Value"


def test_an_apply_record_says_who_what_and_how_and_holds_no_output(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    settings = load_settings(project_copy / "environments" / "sandbox.toml")
    result = ApplyResult("sandbox", True, "sha256:" + "a" * 64, ChangeSummary(3, 1, 0),
                         outputs={"database_password": SECRET})
    path = record_apply(settings, result)
    record = json.loads(path.read_text())
    assert path.parent == Project.of(settings).applies_dir(settings, True)
    assert (record["who"], record["digest"], record["outcome"]) == (
        "octocat (GitHub Actions run 4242)", result.digest, "applied")
    assert (record["add"], record["change"], record["destroy"]) == (3, 1, 0)
    assert SECRET not in path.read_text()


def test_history_lists_applies_and_deploys_oldest_first(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    settings = load_settings(project_copy / "environments" / "sandbox.toml")
    deploys = Project.of(settings).deploys_dir(settings, True)
    record = DeployRecord("sandbox", "loono-sbx/loono-sbx", "loono-backend:v1",
                          started_at="2026-01-01T10:00:00+00:00", outcome="succeeded",
                          digest="sha256:" + "d" * 64)
    record.write(deploys)
    (deploys / "20260101T090000-broken.json").write_text("{not json")
    record_apply(settings, ApplyResult("sandbox", True, "sha256:" + "a" * 64, ChangeSummary(2)))
    entries = history(settings, True)
    assert [(e.kind, e.result) for e in entries] == [
        ("deploy", "succeeded loono-backend:v1"), ("apply", "applied +2 ~0 -0")]
    assert "@" in entries[1].who  # user@host outside Actions

    monkeypatch.chdir(project_copy)
    listed = CliRunner().invoke(app, ["history", "--env", "sandbox", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [e["kind"] for e in json.loads(listed.stdout)] == ["deploy", "apply"]
    plain = CliRunner().invoke(app, ["history", "--env", "sandbox"])
    assert plain.exit_code == 0 and "dddddddddddd" in plain.stdout


def test_history_of_a_fresh_checkout_says_nothing_happened(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    listed = CliRunner().invoke(app, ["history", "--env", "sandbox"])
    assert listed.exit_code == 0 and "nothing applied or deployed" in listed.stdout
