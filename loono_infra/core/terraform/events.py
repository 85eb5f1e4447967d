"""Terraform's machine-readable UI stream (`plan -json`, `apply -json`) as typed progress events.

Each line Terraform prints with -json is one message; the ones that say how a run progresses
become TerraformEvents, handed to a callback as they arrive (`on_event=` of plan and apply).
They carry addresses, actions, timings and Terraform's one-line message, never attribute
values (Terraform puts none in these messages), so they can be shown and recorded as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loono_infra.core.terraform.output import json_lines

# Terraform's message types that say how a run progresses (its "machine-readable UI" docs).
PROGRESS_KINDS = frozenset({
    "apply_start", "apply_progress", "apply_complete", "apply_errored",
    "refresh_start", "refresh_complete", "planned_change", "resource_drift",
    "change_summary", "diagnostic", "provision_start", "provision_complete",
    "provision_errored",
})


@dataclass(frozen=True)
class TerraformEvent:
    """One step of a Terraform run, as its -json stream told it."""

    kind: str  # Terraform's message type, e.g. "apply_start"
    message: str  # Terraform's one-line @message
    timestamp: str = ""
    address: str | None = None  # the resource the step is about
    action: str | None = None  # create, update, delete, replace, read, ...
    elapsed_seconds: float | None = None
    counts: dict[str, int] = field(default_factory=dict)  # change_summary: add/change/remove

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for records and --json progress)."""
        return {key: value for key, value in self.__dict__.items() if value not in (None, {})}


EventCallback = Callable[[TerraformEvent], None]


def _resource_part(message: dict[str, Any]) -> dict[str, Any]:
    """The hook (apply/refresh) or change (plan) object of a message."""
    part = message.get("hook") or message.get("change") or {}
    return part if isinstance(part, dict) else {}


def event_of(message: dict[str, Any]) -> TerraformEvent | None:
    """The event a stream message carries, or None for messages that are not progress."""
    kind = message.get("type")
    if kind not in PROGRESS_KINDS:
        return None
    part = _resource_part(message)
    found = part.get("resource")
    resource: dict[str, Any] = found if isinstance(found, dict) else {}
    elapsed = part.get("elapsed_seconds")
    changes = message.get("changes") if kind == "change_summary" else None
    counts = {key: int(value) for key, value in (changes or {}).items()
              if key in ("add", "change", "remove", "import") and isinstance(value, int)}
    return TerraformEvent(
        kind=str(kind), message=str(message.get("@message", "")),
        timestamp=str(message.get("@timestamp", "")),
        address=str(resource["addr"]) if resource.get("addr") else None,
        action=str(part["action"]) if part.get("action") else None,
        elapsed_seconds=float(elapsed) if isinstance(elapsed, int | float) else None,
        counts=counts)


def line_listener(on_event: EventCallback) -> Callable[[str], None]:
    """A callback for a process's stdout lines that hands on the progress events among them."""
    def listen(line: str) -> None:
        for message in json_lines(line):  # the -json stream's reader: non-JSON lines skipped
            event = event_of(message)
            if event is not None:
                on_event(event)
    return listen
