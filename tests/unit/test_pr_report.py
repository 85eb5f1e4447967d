"""The pull-request report against a golden file, with a secret planted in the plan."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from loono_infra.ci.actions import ActionsRun, read_outputs
from loono_infra.ci.comment_text import MARKER, render_report
from loono_infra.core.decision import Decision, Failure, Finding
from loono_infra.core.plans import Plan
from loono_infra.core.redact import REDACTED, scrub
from loono_infra.core.terraform.drift import changed_attributes, classify, configured_attributes
from loono_infra.core.terraform.models import ChangeSummary, ResourceChange
from tests.conftest import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "pr_report.md"
PLANTED = "hunter2-Planted-Secret"


def change(address: str, action: str) -> ResourceChange:
    module, kind, name = address.rsplit(".", 2)
    return ResourceChange(address, module, kind, name, action)  # type: ignore[arg-type]


def production_plan() -> Plan:
    changes = (
        change("module.rds.aws_db_instance.this", "replace"),
        change("module.ecs.aws_ecs_service.this", "update"),
        change("module.cloudwatch.aws_cloudwatch_metric_alarm.cpu", "delete"),
        change("module.ecr.aws_ecr_repository.this", "no-op"),
    )
    policy = Decision("policy", "sha256:" + "a" * 64, "production", failures=(
        Failure("check", f"user_data holds the password {PLANTED}", "CKV2_LOONO_1",
                "module.rds.aws_db_instance.this"),), findings=(
        Finding("CKV_LOONO_14", "PostgreSQL version", "module.rds.aws_db_instance.this",
                "hard-mandatory", "plan", overridden_by="until 2027-03-31: upgrade planned"),))
    owners = Decision("owners", "sha256:" + "a" * 64, "production", failures=(
        Failure("gate", "needs an approval from @loono/database-owners",
                resource="module.rds.aws_db_instance.this"),))
    return Plan(environment="production", sandbox=False, workdir=Path("/x"),
                digest="sha256:" + "a" * 64, changes=changes,
                summary=ChangeSummary(add=1, change=1, destroy=2), outputs=(),
                decision=policy, owners=owners)


def sandbox_plan() -> Plan:
    return Plan(environment="sandbox", sandbox=True, workdir=Path("/y"),
                digest="sha256:" + "b" * 64, changes=(), summary=ChangeSummary(), outputs=(),
                decision=Decision("policy", "sha256:" + "b" * 64, "sandbox"))


def test_the_report_matches_the_golden_file_and_hides_the_secret() -> None:
    text = render_report([production_plan(), sandbox_plan()], secrets=[PLANTED],
                         run_url="https://github.com/loono/infrastructure/actions/runs/1")
    if os.environ.get("LOONO_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert PLANTED not in text and REDACTED in text
    assert text.startswith(MARKER)
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_report_calls_out_replacements_and_missing_owners() -> None:
    text = render_report([production_plan()])
    assert "Replaced" in text and "`module.rds.aws_db_instance.this`" in text
    assert "@loono/database-owners" in text and "⏳ needed" in text


def test_scrub_replaces_longest_secrets_first_and_ignores_tiny_ones() -> None:
    assert scrub("pw=abcdef abcd", ["abcd", "abcdef", "x"]) == f"pw={REDACTED} {REDACTED}"
    assert scrub("a x b", ["x"]) == "a x b"


def test_outputs_and_summary_round_trip(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 7,
                                 "pull_request": {"number": 7}}))
    run = ActionsRun.from_environment({
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")})
    run.set_output("digests", '{"production": "sha256:a"}')
    run.set_output("report", "line one\nline two")
    run.add_summary("## Plan")
    assert run.pull_number == 7
    assert read_outputs(tmp_path / "out") == {"digests": '{"production": "sha256:a"}',
                                              "report": "line one\nline two"}
    assert (tmp_path / "sum").read_text() == "## Plan\n\n"


def test_outside_actions_nothing_is_written() -> None:
    run = ActionsRun.from_environment({})
    run.set_output("x", "y")
    run.add_summary("z")
    assert run.pull_number is None


def test_an_unreadable_event_is_an_error_naming_it(tmp_path: Path) -> None:
    from loono_infra.core.errors import LoonoError

    with pytest.raises(LoonoError, match="GITHUB_EVENT_PATH"):
        ActionsRun.from_environment({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")})


def test_drift_ignores_empty_value_read_backs() -> None:
    assert changed_attributes({"tags": None, "rules": []}, {"tags": {}, "rules": None}) == []
    assert changed_attributes({"retention_in_days": 7}, {"retention_in_days": 30}) == \
        ["retention_in_days"]
    real, normalised = classify([
        {"address": "a.b", "change": {"actions": ["update"], "before": {"x": None},
                                      "after": {"x": []}}},
        {"address": "c.d", "change": {"actions": ["update"], "before": {"n": 1},
                                      "after": {"n": 2}}},
        {"address": "e.f", "change": {"actions": ["delete"], "before": {}, "after": None}},
    ])
    assert [r.address for r in real] == ["c.d", "e.f"] and normalised == ["a.b"]


def test_only_configured_attributes_count_as_drift() -> None:
    configuration = {"resources": [], "module_calls": {"network": {"module": {"resources": [
        {"address": "aws_security_group.service", "expressions": {"name": {}, "vpc_id": {}}},
        {"address": "aws_security_group_rule.ingress", "expressions": {"from_port": {}}}]}}}}
    configured = configured_attributes(configuration)
    assert configured["module.network.aws_security_group.service"] >= {"name", "vpc_id"}
    real, other = classify([
        {"address": "module.network.aws_security_group.service",
         "change": {"actions": ["update"], "before": {"ingress": [], "name": "a"},
                    "after": {"ingress": [{"from_port": 80}], "name": "a"}}},
        {"address": 'module.network.aws_security_group_rule.ingress["80"]',
         "change": {"actions": ["update"], "before": {"from_port": 80},
                    "after": {"from_port": 8080}}},
    ], configured)
    assert [(r.address, r.attributes) for r in real] == [
        ('module.network.aws_security_group_rule.ingress["80"]', ("from_port",))]
    assert other == ["module.network.aws_security_group.service"]


def test_leftovers_and_imports_are_named_in_the_report() -> None:
    from dataclasses import replace

    left = "module.ecr.aws_ecr_repository.this already exists in AWS (loono-backend) but not in " \
           "the state"
    adopted = "module.logs.aws_cloudwatch_log_group.service exists in AWS but not in the state " \
              "(/ecs/x): imported"
    text = render_report([replace(production_plan(), dangling=(left,), adopted=(adopted,))])
    assert f"- {left}" in text and f"- {adopted}" in text
    assert "apply refuses; check, then re-plan with `--adopt`" in text
