"""A saved plan and its record: what it changes, its digests and the gates' decisions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
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
    change_digests: dict[str, str] = field(default_factory=dict)
    adopted: tuple[str, ...] = ()  # resources a killed run left outside the state, imported
    dangling: tuple[str, ...] = ()  # such resources found and not adopted: apply refuses
    sandbox_started: float | None = None  # the sandbox instance planned against

    @property
    def service_rollout(self) -> str | None:
        """What the apply does to the running service beyond Terraform (None: nothing)."""
        return service_rollout_note(self.changes) if self.mode != "destroy" else None

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
        ) or self.summary.imported > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json and the plan record."""
        data = asdict(self)
        data["workdir"] = str(self.workdir)
        data["has_changes"] = self.has_changes
        data["service_rollout"] = self.service_rollout
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
            adopted=tuple(data.get("adopted", [])),
            dangling=tuple(data.get("dangling", [])),
            sandbox_started=data.get("sandbox_started"),
            content_digest=data.get("content_digest"),
            change_digests=dict(data.get("change_digests") or {}),
        )


@dataclass(frozen=True)
class PlanContent:
    """A saved plan's `show -json` document, redacted, and the digest of its content."""

    document: PlanDocument
    redacted: str
    digest: str
    changes: dict[str, str] = field(default_factory=dict)  # address -> change digest


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did."""

    environment: str
    sandbox: bool
    digest: str
    applied: ChangeSummary
    outputs: dict[str, Any] = field(default_factory=dict)
    emergency: dict[str, Any] | None = None  # the break-glass record, when approvals were bypassed
    # the service rolled onto the new configuration with the deployed image (deploy/flow.py)
    rollout: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TASK_CONFIGURATION = "aws_ecs_task_definition"
SERVICE = "aws_ecs_service"


def service_rollout_note(changes: Sequence[ResourceChange]) -> str | None:
    """The plan's word on the running service: Terraform's task definition is the template
    deploys copy, so a change to it (or a new service) is rolled out by apply with the image
    that runs now (deploy/flow.converge_service)."""
    touched = {c.resource_type: c.action for c in changes if c.changes_something
               and c.resource_type in (TASK_CONFIGURATION, SERVICE)}
    if touched.get(SERVICE) == "create":
        return ("the ECS service is created with no tasks: the first deploy starts it "
                "(`loono-infra status` says 'no image deployed yet' until then)")
    if touched.get(SERVICE) == "replace":
        return ("the ECS service is replaced: it has no tasks until apply rolls the image "
                "deployed now onto it (downtime until then), with health checks and rollback")
    if TASK_CONFIGURATION in touched:
        return ("the task configuration changes: after apply the service rolls onto it with "
                "the image deployed now (health checks, post-deploy tests, rollback on failure)")
    return None


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


def content_digest(redacted_text: str) -> str:
    """sha256 of the normalized redacted plan: identical re-plans share it."""
    return "sha256:" + hashlib.sha256(normalized_plan(redacted_text)).hexdigest()


def normalized_plan(redacted_text: str) -> bytes:
    """The redacted plan without the parts that change on every identical re-plan: its timestamp,
    and the order of lists whose order means nothing (relevant_attributes, and every list of
    resources or modules, which carry an address each)."""
    document = _by_address(json.loads(redacted_text))
    document.pop("timestamp", None)
    attributes = document.get("relevant_attributes") or []
    document["relevant_attributes"] = sorted(attributes,
                                             key=lambda item: json.dumps(item, sort_keys=True))
    return json.dumps(document, sort_keys=True).encode()


def _by_address(value: Any) -> Any:
    """value with every list of addressed objects sorted by address (recursively)."""
    if isinstance(value, dict):
        return {key: _by_address(item) for key, item in value.items()}
    if not isinstance(value, list):
        return value
    items = [_by_address(item) for item in value]
    if items and all(isinstance(item, dict) and "address" in item for item in items):
        return sorted(items, key=lambda item: (str(item["address"]), json.dumps(item,
                                                                               sort_keys=True)))
    return items


def change_digests(redacted_text: str) -> dict[str, str]:
    """Address -> a digest of what the plan does to it, for every resource it changes.

    Two plans that change the same resources in the same way give the same map; the
    addresses whose digests differ are what one plan changes that the other does not.
    """
    document = json.loads(redacted_text)
    digests = {}
    for change in document.get("resource_changes") or []:
        actions = (change.get("change") or {}).get("actions") or []
        if actions in (["no-op"], ["read"]):
            continue
        body = {key: (change.get("change") or {}).get(key)
                for key in ("actions", "before", "after", "after_unknown")}
        text = json.dumps(body, sort_keys=True).encode()
        digests[str(change["address"])] = hashlib.sha256(text).hexdigest()[:16]
    return digests
