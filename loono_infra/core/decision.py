"""A gate's Decision: every finding and every failure, for one plan digest (drawn by reports/)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["advisory", "soft-mandatory", "hard-mandatory"]
LEVELS: tuple[Level, ...] = ("advisory", "soft-mandatory", "hard-mandatory")


@dataclass(frozen=True)
class Finding:
    """One failed (or skipped) check on one resource, mapped to its address and module file."""

    check_id: str
    check_name: str
    resource: str
    level: Level
    source: str  # "plan" or "modules"
    file: str | None = None
    lines: tuple[int, int] | None = None
    overridden_by: str | None = None  # the override's reason, when one applies


@dataclass(frozen=True)
class Failure:
    """Why the gate refuses: a blocking finding, a bad override, or the gate itself failing."""

    kind: str  # "check", "override", "inline-skip", "gate"
    message: str
    check_id: str | None = None
    resource: str | None = None


@dataclass(frozen=True)
class Decision:
    """The policy gate's verdict for exactly one plan (named by its digest)."""

    gate: str
    digest: str
    environment: str
    findings: tuple[Finding, ...] = ()
    failures: tuple[Failure, ...] = ()
    checked: int = 0
    notes: tuple[str, ...] = field(default=())
    rules: str | None = None  # which revision's rules judged (CODEOWNERS, policies, gate settings)

    @property
    def passed(self) -> bool:
        """Whether the gate lets an apply of this plan through."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for --json and the plan record)."""
        data = asdict(self)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """The inverse of to_dict."""
        findings = tuple(
            Finding(**{**f, "lines": tuple(f["lines"]) if f.get("lines") else None})
            for f in data.get("findings", []))
        return cls(gate=data["gate"], digest=data["digest"], environment=data["environment"],
                   findings=findings,
                   failures=tuple(Failure(**f) for f in data.get("failures", [])),
                   checked=int(data.get("checked", 0)), notes=tuple(data.get("notes", [])),
                   rules=data.get("rules"))

    def to_json(self) -> str:
        """Indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
