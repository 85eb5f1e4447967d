"""A plan's changes at attribute level, from its redacted `show -json` document. Pure.

Every changed resource becomes a ResourceDiff: its action, whether it holds state (a database,
a repository: replacing or deleting it loses data) and, for updates and replacements, the
attributes that change. Values the document redacted are shown as (sensitive); values Terraform
learns only while applying as (known after apply). Most important first: stateful resources
replaced or deleted, then other replacements and deletions, then updates, then creates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from loono_infra.core.redact import REDACTED

STATEFUL_TYPES = frozenset({
    "aws_db_instance", "aws_rds_cluster", "aws_s3_bucket", "aws_ecr_repository",
    "aws_cloudwatch_log_group", "aws_kms_key", "aws_dynamodb_table", "aws_secretsmanager_secret",
    "aws_efs_file_system", "aws_ebs_volume"})
_ACTIONS = {("create",): "create", ("update",): "update", ("delete",): "delete",
            ("create", "delete"): "replace", ("delete", "create"): "replace"}
SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
VALUE_CHARACTERS = 160


@dataclass(frozen=True)
class AttributeChange:
    """One attribute path whose value changes, with both values as short text."""

    path: str
    before: str
    after: str


@dataclass(frozen=True)
class ResourceDiff:
    """What a plan does to one resource."""

    address: str
    resource_type: str
    action: str  # create, update, delete, replace
    attributes: tuple[AttributeChange, ...] = ()

    @property
    def stateful(self) -> bool:
        return self.resource_type in STATEFUL_TYPES

    @property
    def rank(self) -> int:
        """0 = most important (a stateful resource lost), 3 = least (a create)."""
        if self.action in ("replace", "delete"):
            return 0 if self.stateful else 1
        return 2 if self.action == "update" else 3


def _shown(value: Any) -> str:
    if value == REDACTED:
        return SENSITIVE
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= VALUE_CHARACTERS else text[:VALUE_CHARACTERS - 1] + "…"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    else:
        yield path, value


def _holds_unknown(unknown: Any) -> bool:
    if isinstance(unknown, dict):
        return any(_holds_unknown(item) for item in unknown.values())
    if isinstance(unknown, list):
        return any(_holds_unknown(item) for item in unknown)
    return unknown is True


def _unknown_paths(unknown: Any, path: str = "") -> set[str]:
    """Paths whose value Terraform learns while applying; a list (a block such as
    load_balancer) holding any such value is unknown as a whole (its leaves are not split)."""
    if unknown is True or (isinstance(unknown, list) and _holds_unknown(unknown)):
        return {path}
    if isinstance(unknown, dict):
        return {p for key, item in unknown.items()
                for p in _unknown_paths(item, f"{path}.{key}" if path else str(key))}
    return set()


def attribute_changes(before: Any, after: Any, after_unknown: Any = None,
                      ) -> tuple[AttributeChange, ...]:
    """The attribute paths whose values differ (nested maps flattened to dotted paths)."""
    old, new = dict(_leaves(before or {}, "")), dict(_leaves(after or {}, ""))
    unknown = _unknown_paths(after_unknown)
    changes = []
    for path in sorted(set(old) | set(new) | unknown):
        later = UNKNOWN if path in unknown else _shown(new.get(path))
        earlier = _shown(old.get(path))
        if earlier != later:
            changes.append(AttributeChange(path, earlier, later))
    return tuple(changes)


def resource_diffs(document: dict[str, Any]) -> list[ResourceDiff]:
    """Every changed resource of a redacted plan document, most important first."""
    diffs = []
    for item in document.get("resource_changes") or []:
        change = item.get("change") or {}
        action = _ACTIONS.get(tuple(change.get("actions") or []))
        if action is None:
            continue
        attributes = attribute_changes(change.get("before"), change.get("after"),
                                       change.get("after_unknown")) \
            if action in ("update", "replace") else ()
        diffs.append(ResourceDiff(str(item["address"]), str(item.get("type", "")), action,
                                  attributes))
    return sorted(diffs, key=lambda diff: (diff.rank, diff.address))
