"""What was applied and deployed, kept: one JSON record per apply (deploys keep their own,
deploy/record.py), and the list `loono-infra history` prints.

An apply record says when, who (the Actions actor and run, else user@host), which plan digest,
what it changed and how it ended. It holds no attribute values and no outputs (a sensitive
output would be in clear text), so it can be uploaded as a workflow artifact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loono_infra.core.files import write_atomically
from loono_infra.core.plans import ApplyResult
from loono_infra.core.settings import Settings
from loono_infra.core.who import who_runs
from loono_infra.core.workspace import Project


@dataclass(frozen=True)
class ApplyRecord:
    """One apply: when, who, which plan, what changed, how it ended."""

    environment: str
    sandbox: bool
    digest: str
    at: str
    who: str
    outcome: str  # applied, or why not
    add: int = 0
    change: int = 0
    destroy: int = 0
    emergency_record: str | None = None  # the audit bucket's key of a break-glass apply

    @classmethod
    def of(cls, result: ApplyResult, outcome: str = "applied") -> ApplyRecord:
        """The record of result; outcome says how it ended (the counts are the plan's when it
        did not end applied)."""
        summary = result.applied
        emergency = (result.emergency or {}).get("key")
        return cls(result.environment, result.sandbox, result.digest,
                   datetime.now(UTC).isoformat(timespec="seconds"), who_runs(), outcome,
                   summary.add, summary.change, summary.destroy,
                   str(emergency) if emergency else None)

    def write(self, directory: Path) -> Path:
        """<directory>/<UTC time>-<digest>.json; returns its path."""
        stamp = self.at.replace(":", "").replace("-", "").split("+")[0]
        path = directory / f"{stamp}-{self.digest.removeprefix('sha256:')[:12]}.json"
        write_atomically(path, json.dumps(asdict(self), indent=2) + "\n")
        return path


def record_apply(settings: Settings, result: ApplyResult, outcome: str = "applied") -> Path:
    """Keeps the apply's record in the environment's applies folder."""
    record = ApplyRecord.of(result, outcome)
    return record.write(Project.of(settings).applies_dir(settings, result.sandbox))


@dataclass(frozen=True)
class HistoryEntry:
    """One line of `history`: an apply or a deploy."""

    at: str
    kind: str  # apply, deploy
    who: str
    digest: str  # the plan's (apply) or the image's (deploy)
    result: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _apply_entry(path: Path, data: dict[str, Any]) -> HistoryEntry:
    changed = f"+{data.get('add', 0)} ~{data.get('change', 0)} -{data.get('destroy', 0)}"
    return HistoryEntry(str(data.get("at", "")), "apply", str(data.get("who", "")),
                        str(data.get("digest", "")), f"{data.get('outcome', '?')} {changed}",
                        str(path))


def _deploy_entry(path: Path, data: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(str(data.get("started_at", "")), "deploy", str(data.get("who", "")),
                        str(data.get("digest", "")),
                        f"{data.get('outcome', '?')} {data.get('image', '')}", str(path))


def history(settings: Settings, sandbox: bool) -> list[HistoryEntry]:
    """The environment's kept apply and deploy records, oldest first (unreadable ones skipped)."""
    project = Project.of(settings)
    entries = []
    for folder, entry in ((project.applies_dir(settings, sandbox), _apply_entry),
                          (project.deploys_dir(settings, sandbox), _deploy_entry)):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = _read(path)
            if path.name != "latest.json" and data is not None:
                entries.append(entry(path, data))
    return sorted(entries, key=lambda e: e.at)
