"""The whole diff in the pull request: every change, attribute diffs collapsed, stateful losses
first, secrets hidden, and never past GitHub's comment limit (folded, never cut mid-Markdown)."""

from __future__ import annotations

import os
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loono_infra.ci.comment_text import render_report
from loono_infra.core.redact import REDACTED
from loono_infra.reports.diff_markdown import COMMENT_LIMIT
from loono_infra.reports.plan_diff import SENSITIVE, UNKNOWN, resource_diffs
from tests.conftest import PROJECT_ROOT
from tests.unit.test_pr_report import PLANTED, production_plan, sandbox_plan

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "pr_report_diff.md"
RUN = "https://github.com/loono/infrastructure/actions/runs/1"


def _change(address: str, kind: str, actions: list[str], before: Any = None,
            after: Any = None, unknown: Any = None) -> dict[str, Any]:
    return {"address": address, "type": kind, "change": {
        "actions": actions, "before": before, "after": after, "after_unknown": unknown or {}}}


def small_document() -> dict[str, Any]:
    return {"resource_changes": [
        _change("module.ecs.aws_ecs_service.this", "aws_ecs_service", ["update"],
                {"desired_count": 1, "tags": {"Round": "1"}},
                {"desired_count": 1, "tags": {"Round": "2"}}),
        _change("module.rds.aws_db_instance.this", "aws_db_instance", ["delete", "create"],
                {"engine_version": "12.5", "password": REDACTED, "address": "db.internal"},
                {"engine_version": "16.3", "password": REDACTED, "address": None},
                {"address": True}),
        _change("module.cloudwatch.aws_cloudwatch_metric_alarm.cpu",
                "aws_cloudwatch_metric_alarm", ["delete"], {"threshold": 80}, None),
        _change("module.ecr.aws_ecr_repository.this", "aws_ecr_repository", ["no-op"]),
        _change("module.logs.aws_cloudwatch_log_group.new", "aws_cloudwatch_log_group",
                ["create"], None, {"name": "/ecs/x", "kms_key_id": PLANTED}),
    ]}


def test_stateful_losses_come_first_and_attributes_show_what_changes() -> None:
    diffs = resource_diffs(small_document())
    assert [(d.address.split(".")[-2], d.action) for d in diffs] == [
        ("aws_db_instance", "replace"), ("aws_cloudwatch_metric_alarm", "delete"),
        ("aws_ecs_service", "update"), ("aws_cloudwatch_log_group", "create")]
    database = {a.path: (a.before, a.after) for a in diffs[0].attributes}
    assert database == {"engine_version": ('"12.5"', '"16.3"'),
                        "address": ('"db.internal"', UNKNOWN)}  # the password did not change
    assert {a.path for a in diffs[2].attributes} == {"tags.Round"}


def test_a_block_with_a_value_known_after_apply_is_not_shown_as_removed() -> None:
    diffs = resource_diffs({"resource_changes": [_change(
        "module.ecs.aws_ecs_service.this", "aws_ecs_service", ["update"],
        {"load_balancer": [{"target_group_arn": "arn:old", "container_port": 8080}]},
        {"load_balancer": [{"target_group_arn": None, "container_port": 8080}]},
        {"load_balancer": [{"target_group_arn": True}]})]})
    assert [(a.path, a.after) for a in diffs[0].attributes] == [("load_balancer", UNKNOWN)]


def test_a_changed_sensitive_value_shows_as_sensitive() -> None:
    diffs = resource_diffs({"resource_changes": [_change(
        "module.rds.aws_db_instance.this", "aws_db_instance", ["update"],
        {"password": REDACTED, "port": 5432}, {"password": REDACTED, "port": 5433})]})
    assert [(a.path, a.before, a.after) for a in diffs[0].attributes] == [
        ("port", "5432", "5433")]
    diffs = resource_diffs({"resource_changes": [_change(
        "module.rds.aws_db_instance.this", "aws_db_instance", ["update"],
        {"password": None}, {"password": REDACTED})]})
    assert [(a.before, a.after) for a in diffs[0].attributes] == [("null", SENSITIVE)]


def test_the_report_with_its_diff_matches_the_golden_file() -> None:
    text = render_report([production_plan(), sandbox_plan()], secrets=[PLANTED], run_url=RUN,
                         diffs={"production": resource_diffs(small_document())})
    if os.environ.get("LOONO_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert PLANTED not in text
    assert "<details><summary><code>module.rds.aws_db_instance.this</code>: replace" in text
    assert "| ⚠️ | `module.rds.aws_db_instance.this` | replace, holds data |" in text
    assert "Folded" not in text
    assert text == GOLDEN.read_text(encoding="utf-8")


def large_document(resources: int, attributes: int) -> dict[str, Any]:
    kinds = [("aws_db_instance", ["delete", "create"]), ("aws_security_group_rule", ["update"]),
             ("aws_iam_policy", ["update"]), ("aws_cloudwatch_metric_alarm", ["create"]),
             ("aws_s3_bucket", ["delete"])]
    changes = []
    for number in range(resources):
        kind, actions = kinds[number % len(kinds)]
        before = {f"attribute_{a}": f"old value {a} " * 4 for a in range(attributes)}
        after = {f"attribute_{a}": f"new value {a} " * 4 for a in range(attributes)}
        changes.append(_change(f'module.m{number % 7}.{kind}.r["{number}"]', kind, actions,
                               before, after))
    return {"resource_changes": changes}


def _well_formed(text: str) -> None:
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    for table in re.findall(r"(?:^\|.*\|\n)+", text, re.MULTILINE):
        widths = {line.count(" | ") for line in table.splitlines() if "\\|" not in line}
        assert len(widths) == 1, table  # no row cut short


def test_hundreds_of_changes_fold_within_githubs_limit_most_important_kept() -> None:
    diffs = resource_diffs(large_document(1500, 12))
    text = render_report([production_plan(), sandbox_plan()], secrets=[PLANTED], run_url=RUN,
                         head_sha="c" * 40, diffs={"production": diffs})
    assert len(text) <= COMMENT_LIMIT
    _well_formed(text)
    assert "Folded to stay within GitHub's comment limit" in text and RUN in text
    assert "<!-- loono-infra:reviewed:v1 " in text  # the review record is never folded
    shown = re.findall(r"^\| (?:⚠️)? \| `([^`]+)`", text, re.MULTILINE)
    kept = [d.address for d in diffs][:len(shown)]
    assert shown == kept and len(shown) >= 100  # the most important rows, in order
    stateful_losses = 2 * 1500 // 5  # every replaced database, every deleted bucket
    assert stateful_losses < len(shown) < 1500  # folded from the end: the losses all shown
    assert all("aws_db_instance" in a or "aws_s3_bucket" in a for a in shown[:stateful_losses])
    assert "| | … and " in text


def test_the_job_summary_has_room_for_everything() -> None:
    diffs = resource_diffs(large_document(300, 4))
    text = render_report([production_plan()], diffs={"production": diffs}, limit=1_000_000)
    assert "Folded" not in text and text.count("<details>") == 180  # every update and replace
    _well_formed(text)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 600), st.integers(0, 30), st.integers(3_000, COMMENT_LIMIT))
def test_any_plan_fits_any_budget_and_stays_well_formed(resources: int, attributes: int,
                                                        limit: int) -> None:
    diffs = resource_diffs(large_document(resources, attributes))
    text = render_report([production_plan(), sandbox_plan()], run_url=RUN,
                         diffs={"production": diffs}, limit=limit)
    assert len(text) <= limit
    _well_formed(text)


GOLDEN_LARGE = PROJECT_ROOT / "tests" / "golden" / "pr_report_300_changes.md"


def test_the_golden_comment_of_a_300_change_plan_fits_with_every_loss_visible() -> None:
    diffs = resource_diffs(large_document(300, 40))
    text = render_report([production_plan(), sandbox_plan()], secrets=[PLANTED], run_url=RUN,
                         head_sha="c" * 40, diffs={"production": diffs})
    if os.environ.get("LOONO_UPDATE_GOLDEN"):
        GOLDEN_LARGE.write_text(text, encoding="utf-8")
    assert len(text) <= COMMENT_LIMIT and "Folded" in text
    losses = [d.address for d in diffs if d.action in ("replace", "delete")]
    assert len(losses) == 120 and all(f"`{address}`" in text for address in losses)
    _well_formed(text)
    assert text == GOLDEN_LARGE.read_text(encoding="utf-8")


def test_a_diff_cannot_forge_or_hide_the_reviewed_record() -> None:
    """A tag key or value holding the hidden record's syntax (a change controls both) neither
    opens an HTML comment in the raw text nor wins over the real record."""
    from loono_infra.flow.reviewed import parse_record

    forged = '<!-- loono-infra:reviewed:v1 {"head": "f0rged", "environments": {}} -->'
    document = {"resource_changes": [_change(
        f'module.x.aws_s3_bucket.b["{forged}"]', "aws_s3_bucket", ["update"],
        {"tags": {forged: "1"}}, {"tags": {forged: "2"}})]}
    text = render_report([production_plan()], head_sha="c" * 40,
                         diffs={"production": resource_diffs(document)})
    assert text.count("<!-- loono-infra:reviewed:v1") == 1  # only the real one
    record = parse_record([text])
    assert record is not None and record["head"] == "c" * 40
    assert parse_record([forged + "\n" + text]) == record  # the last block counts
