"""A major PostgreSQL upgrade is applied now or refused, never queued for the window."""

from __future__ import annotations

from typing import Any

import pytest

from loono_infra.core.database_upgrade import queued_major_upgrades
from loono_infra.core.terraform.models import parse_plan_document

ADDRESS = "module.rds.aws_db_instance.this"


def _plan(before: dict[str, Any], after: dict[str, Any], actions: list[str] | None = None,
          ) -> Any:
    return parse_plan_document({"format_version": "1.2", "resource_changes": [{
        "address": ADDRESS, "type": "aws_db_instance", "name": "this",
        "module_address": "module.rds",
        "change": {"actions": actions or ["update"], "before": before, "after": after}}]})


def test_a_major_upgrade_queued_for_the_window_is_refused() -> None:
    problems = queued_major_upgrades(_plan({"engine_version": "12.22"},
                                           {"engine_version": "16", "apply_immediately": False}))
    assert len(problems) == 1
    assert problems[0].startswith(f"{ADDRESS}: PostgreSQL 12 -> 16")
    assert "database.apply_immediately = true" in problems[0]


@pytest.mark.parametrize(("before", "after"), [
    ({"engine_version": "12"}, {"engine_version": "16", "apply_immediately": True}),
    ({"engine_version": "12.5"}, {"engine_version": "12", "apply_immediately": False}),
    ({"engine_version": "16"}, {"engine_version": "16", "apply_immediately": None}),
])
def test_applied_now_or_within_a_major_passes(before: dict[str, Any],
                                             after: dict[str, Any]) -> None:
    assert queued_major_upgrades(_plan(before, after)) == []


def test_a_new_database_is_not_an_upgrade() -> None:
    assert queued_major_upgrades(_plan({}, {"engine_version": "16"}, ["create"])) == []
