"""Plans are read from Terraform's JSON into typed values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loono_infra.core.errors import TerraformError
from loono_infra.core.terraform.models import parse_plan_document, parse_plan_stream
from loono_infra.core.terraform.output import json_lines, stream_diagnostics


def _change(addr: str, module: str | None, rtype: str, name: str, action: str,
            kind: str = "planned_change", reason: str | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {"resource": {"addr": addr, "module": module or "",
                                           "resource_type": rtype, "resource_name": name},
                              "action": action}
    if reason:
        change["reason"] = reason
    return {"type": kind, "change": change}


STREAM = [
    {"type": "version", "terraform": "1.15.5"},
    _change("module.rds.aws_db_instance.this", "module.rds", "aws_db_instance", "this", "replace",
            reason="cannot_update"),
    _change("module.ecr.aws_ecr_repository.this", "module.ecr", "aws_ecr_repository", "this",
            "create"),
    _change("module.ecs.aws_lb.this", "module.ecs", "aws_lb", "this", "update", "resource_drift"),
    {"type": "change_summary", "changes": {"add": 2, "change": 0, "remove": 1, "import": 0}},
    {"type": "outputs", "outputs": {"b": {"sensitive": True, "action": "create"},
                                    "a": {"sensitive": False, "action": "noop"}}},
    {"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "Deprecated"}},
]


def test_stream_gives_changes_summary_outputs_and_drift() -> None:
    plan = parse_plan_stream(STREAM)
    assert [(c.address, c.action) for c in plan.changes] == [
        ("module.rds.aws_db_instance.this", "replace"),
        ("module.ecr.aws_ecr_repository.this", "create")]
    assert plan.changes[0].module_name == "rds" and plan.changes[0].reason == "cannot_update"
    assert (plan.summary.add, plan.summary.destroy, plan.summary.total) == (2, 1, 3)
    assert [o.name for o in plan.outputs] == ["a", "b"] and plan.outputs[1].sensitive
    assert [d.address for d in plan.drift] == ["module.ecs.aws_lb.this"]


def test_json_lines_skip_noise_and_diagnostics_are_typed() -> None:
    text = "\n".join(["garbage", *map(json.dumps, STREAM), "{not json", "[1]"])
    messages = list(json_lines(text))
    assert len(messages) == len(STREAM)
    assert [d.severity for d in stream_diagnostics(messages)] == ["warning"]


DOCUMENT = {
    "format_version": "1.2", "terraform_version": "1.15.5",
    "resource_changes": [
        {"address": "module.rds.aws_db_instance.this", "module_address": "module.rds",
         "type": "aws_db_instance", "name": "this",
         "action_reason": "replace_because_cannot_update",
         "change": {"actions": ["delete", "create"], "before": {"allocated_storage": 20},
                    "after": {"allocated_storage": 30}}},
        {"address": "aws_s3_bucket.x", "type": "aws_s3_bucket", "name": "x",
         "change": {"actions": ["no-op"], "before": {}, "after": {}}},
    ],
    "output_changes": {"url": {"actions": ["create"], "after_sensitive": False}},
}


def test_show_document_is_typed() -> None:
    doc = parse_plan_document(DOCUMENT)
    rds = doc.find("module.rds.aws_db_instance.this")
    assert rds is not None and rds.change.action == "replace" and rds.after == {
        "allocated_storage": 30}
    bucket = doc.find("aws_s3_bucket.x")
    assert bucket is not None and bucket.change.action == "noop"
    assert not bucket.change.changes_something and bucket.change.module_name is None
    assert doc.outputs[0].action == "create"


def test_a_non_plan_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_plan_document({"hello": 1})


def test_terraform_error_shows_error_diagnostics_only() -> None:
    diagnostics = stream_diagnostics([
        {"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "Unsupported argument", "detail": "no x here",
            "range": {"filename": "main.tf", "start": {"line": 7}}}},
        {"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "meh"}},
    ])
    error = TerraformError("plan", diagnostics)
    assert error.message == "terraform plan failed: Unsupported argument"
    assert error.details() == ["error: Unsupported argument (main.tf:7)\n  no x here"]
