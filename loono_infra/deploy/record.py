"""The JSON record each deploy leaves: what was pushed, what ran, what was checked and what
happened."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loono_infra.core.files import write_atomically
from loono_infra.core.who import who_runs


@dataclass
class DeployRecord:
    """Everything a reader needs to know about one deploy, in the order it happened."""

    environment: str
    service: str
    image: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    who: str = field(default_factory=who_runs)
    outcome: str = "running"
    repository: str = ""
    digest: str = ""
    pushed: bool = False
    layers_uploaded: int = 0
    previous_task_definition: str = ""
    task_definition: str = ""
    timeline: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    post_deploy: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    rollback: dict[str, Any] | None = None
    seconds: float = 0.0
    _started: float = field(default_factory=time.monotonic, repr=False)

    def note(self, event: str, at: float | None = None, **details: Any) -> None:
        """Adds a step to the timeline, stamped with seconds since the deploy began."""
        moment = time.monotonic() - self._started if at is None else at
        self.timeline.append({"at": round(moment, 3), "event": event, **details})

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self.seconds = round(time.monotonic() - self._started, 3)
        self.note(outcome)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_started")
        return data

    def path_in(self, directory: Path) -> Path:
        """<directory>/<UTC start time>-<digest>.json"""
        stamp = self.started_at.replace(":", "").replace("-", "").split(".")[0]
        digest = self.digest.removeprefix("sha256:")[:12] or "nodigest"
        return directory / f"{stamp}-{digest}.json"

    def write(self, directory: Path) -> Path:
        """Writes the record and <directory>/latest.json; returns the record's path."""
        text = json.dumps(self.as_dict(), indent=2, default=str) + "\n"
        path = self.path_in(directory)
        write_atomically(path, text)
        write_atomically(directory / "latest.json", text)
        return path
