"""A saved plan and its record: what it changes, its digests and the gates' decisions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loono_infra.core.decision import Decision
from loono_infra.core.errors import PlanFileError
from loono_infra.core.files import sha256_of, write_atomically
from loono_infra.core.terraform.args import PLAN_FILE
from loono_infra.core.terraform.models import (
    ChangeSummary,
    OutputChange,
    PlanDocument,
    ResourceChange,
)

PLAN_RECORD = "plan.json"
REDACTED_PLAN = "plan.redacted.json"
JUDGED_PLAN = "plan.judged.json"  # the redacted plan as the policy gate judges it


@dataclass(frozen=True)
class Plan:
    """A saved plan: what it changes, and the digest that names exactly this plan file."""

    environment: str
    sandbox: bool
    workdir: Path
    digest: str
    changes: tuple[ResourceChange, ...]
    summary: ChangeSummary
    outputs: tuple[OutputChange, ...]
    drift: tuple[ResourceChange, ...] = ()
    # resources whose refresh read back only values the configuration does not set (not drift)
    read_back: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    engine: str = ""
    mode: str = "normal"
    settings_source: str | None = None
    decision: Decision | None = None
    owners: Decision | None = None
    content_digest: str | None = None

    @property
    def approval_digest(self) -> str:
        """What approvals bind to: the plan's content (shared by identical re-plans), else file."""
        return self.content_digest or self.digest

    @property
    def plan_file(self) -> Path:
        return self.workdir / PLAN_FILE

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything."""
        return any(change.changes_something for change in self.changes) or any(
            output.action not in ("noop", "no-op") for output in self.outputs
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json and the plan record."""
        data = asdict(self)
        data["workdir"] = str(self.workdir)
        data["has_changes"] = self.has_changes
        for name, decision in (("decision", self.decision), ("owners", self.owners)):
            if decision is not None:
                data[name] = decision.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The inverse of to_dict."""
        return cls(
            environment=data["environment"], sandbox=bool(data["sandbox"]),
            workdir=Path(data["workdir"]), digest=data["digest"],
            changes=tuple(ResourceChange(**c) for c in data["changes"]),
            summary=ChangeSummary(**data["summary"]),
            outputs=tuple(OutputChange(**o) for o in data["outputs"]),
            drift=tuple(ResourceChange(**c) for c in data.get("drift", [])),
            read_back=tuple(data.get("read_back", [])),
            warnings=tuple(data.get("warnings", [])), engine=data.get("engine", ""),
            mode=data.get("mode", "normal"), settings_source=data.get("settings_source"),
            decision=Decision.from_dict(data["decision"]) if data.get("decision") else None,
            owners=Decision.from_dict(data["owners"]) if data.get("owners") else None,
            content_digest=data.get("content_digest"),
        )


@dataclass(frozen=True)
class PlanContent:
    """A saved plan's `show -json` document, redacted, and the digest of its content."""

    document: PlanDocument
    redacted: str
    digest: str


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did."""

    environment: str
    sandbox: bool
    digest: str
    applied: ChangeSummary
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_digest(path: Path) -> str:
    """sha256 of a plan file, as "sha256:<hex>"."""
    try:
        return "sha256:" + sha256_of(path)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no saved plan; run `loono-infra plan` first") from None


def require_unchanged(plan_: Plan) -> None:
    """Refuses a plan whose file is no longer the one planned (and reviewed)."""
    actual = file_digest(plan_.plan_file)
    if actual != plan_.digest:
        raise PlanFileError(f"{plan_.plan_file}: digest {actual} is not the planned "
                            f"{plan_.digest}; the plan changed since it was reviewed: plan again")


def write_record(result: Plan) -> None:
    write_atomically(result.workdir / PLAN_RECORD, json.dumps(result.to_dict(), indent=2))


def read_record(workdir: Path) -> Plan:
    """The plan record saved in workdir; PlanFileError when there is none or it is unreadable."""
    path = workdir / PLAN_RECORD
    try:
        return Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no saved plan; run `loono-infra plan` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlanFileError(f"{path}: unreadable ({exc})") from None


def previous_plan(workdir: Path) -> Plan | None:
    """The record a new plan replaces, if a readable one is there."""
    try:
        return read_record(workdir)
    except PlanFileError:
        return None


