"""Typed views of a plan, read from Terraform's JSON only.

Two sources give the same types: the `plan -json` message stream (fast: it is
already there when the plan ends) and the `show -json` plan document (complete:
values before and after, used by the gates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["create", "update", "delete", "replace", "read", "noop", "move", "import",
                 "forget", "remove"]
_CHANGING: frozenset[str] = frozenset({"create", "update", "delete", "replace"})


@dataclass(frozen=True)
class ResourceChange:
    """One resource instance the plan would touch."""

    address: str
    module_address: str | None
    resource_type: str
    name: str
    action: Action
    reason: str | None = None

    @property
    def changes_something(self) -> bool:
        """Whether applying would create, update, delete or replace this resource."""
        return self.action in _CHANGING

    @property
    def module_name(self) -> str | None:
        """The first-level module that declares it, e.g. "rds" for module.rds.aws_db_instance.x."""
        if not self.module_address:
            return None
        return self.module_address.split(".")[1].split("[")[0]


@dataclass(frozen=True)
class ChangeSummary:
    """Counts of a plan's changes."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    imported: int = 0

    @property
    def total(self) -> int:
        """How many resources would change in any way."""
        return self.add + self.change + self.destroy + self.imported


@dataclass(frozen=True)
class OutputChange:
    """A root output and what the plan does to it."""

    name: str
    action: str
    sensitive: bool


@dataclass(frozen=True)
class StreamPlan:
    """What a `plan -json` stream said: the changes, the summary, the outputs, the drift."""

    changes: tuple[ResourceChange, ...]
    summary: ChangeSummary
    outputs: tuple[OutputChange, ...]
    drift: tuple[ResourceChange, ...]


def _action_from_actions(actions: list[str]) -> Action:
    """show -json action lists -> one action (["delete", "create"] is a replace)."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    single = actions[0] if actions else "no-op"
    return "noop" if single == "no-op" else single  # type: ignore[return-value]


def _change_from_stream(change: dict[str, Any]) -> ResourceChange:
    resource = change["resource"]
    return ResourceChange(
        address=str(resource["addr"]),
        module_address=resource.get("module") or None,
        resource_type=str(resource["resource_type"]),
        name=str(resource["resource_name"]),
        action=change["action"],
        reason=change.get("reason"),
    )


def parse_plan_stream(messages: list[dict[str, Any]]) -> StreamPlan:
    """Reads planned changes, drift, the change summary and outputs from `plan -json` messages."""
    changes: list[ResourceChange] = []
    drift: list[ResourceChange] = []
    summary = ChangeSummary()
    outputs: list[OutputChange] = []
    for message in messages:
        kind = message.get("type")
        if kind == "planned_change":
            changes.append(_change_from_stream(message["change"]))
        elif kind == "resource_drift":
            drift.append(_change_from_stream(message["change"]))
        elif kind == "change_summary":
            counts = message["changes"]
            summary = ChangeSummary(
                add=int(counts.get("add", 0)), change=int(counts.get("change", 0)),
                destroy=int(counts.get("remove", 0)), imported=int(counts.get("import", 0)),
            )
        elif kind == "outputs":
            outputs = [
                OutputChange(name, str(raw.get("action", "noop")), bool(raw.get("sensitive")))
                for name, raw in sorted(message["outputs"].items())
            ]
    return StreamPlan(tuple(changes), summary, tuple(outputs), tuple(drift))


@dataclass(frozen=True)
class PlannedResource:
    """A resource change from `show -json`, with its values before and after."""

    change: ResourceChange
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class PlanDocument:
    """The `show -json` document of a saved plan, typed where loono-infra reads it."""

    format_version: str
    terraform_version: str
    resources: tuple[PlannedResource, ...]
    outputs: tuple[OutputChange, ...]
    raw: dict[str, Any]

    def find(self, address: str) -> PlannedResource | None:
        """The planned resource at an address, if the plan has one."""
        return next((r for r in self.resources if r.change.address == address), None)


def _planned_resource(raw: dict[str, Any]) -> PlannedResource:
    change = raw["change"]
    return PlannedResource(
        change=ResourceChange(
            address=str(raw["address"]),
            module_address=raw.get("module_address"),
            resource_type=str(raw["type"]),
            name=str(raw["name"]),
            action=_action_from_actions(list(change["actions"])),
            reason=raw.get("action_reason"),
        ),
        before=change.get("before"),
        after=change.get("after"),
    )


def parse_plan_document(raw: dict[str, Any]) -> PlanDocument:
    """Types a `show -json` plan document; raises ValueError if it is not one."""
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise ValueError("not a Terraform plan document (no format_version)")
    outputs = tuple(
        OutputChange(name, _action_from_actions(list(change["actions"])),
                     bool(change.get("after_sensitive") or change.get("before_sensitive")))
        for name, change in sorted((raw.get("output_changes") or {}).items())
    )
    return PlanDocument(
        format_version=str(raw["format_version"]),
        terraform_version=str(raw.get("terraform_version", "")),
        resources=tuple(_planned_resource(item) for item in raw.get("resource_changes") or []),
        outputs=outputs,
        raw=raw,
    )
