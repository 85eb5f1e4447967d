"""The files a GitHub Actions step talks through: the event payload (GITHUB_EVENT_PATH), step
outputs (GITHUB_OUTPUT) and the job summary (GITHUB_STEP_SUMMARY). Outside Actions they are
absent and every method does nothing."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loono_infra.core.errors import LoonoError


@dataclass(frozen=True)
class ActionsRun:
    """One workflow step's view of its run."""

    event_name: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    output_path: Path | None = None
    summary_path: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ActionsRun:
        env = os.environ if environ is None else environ
        event_path = env.get("GITHUB_EVENT_PATH")
        event: Mapping[str, Any] = {}
        if event_path:
            try:
                event = json.loads(Path(event_path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise LoonoError(f"GITHUB_EVENT_PATH {event_path}: unreadable ({error})") from None
        return cls(env.get("GITHUB_EVENT_NAME", ""), event,
                   _path(env.get("GITHUB_OUTPUT")), _path(env.get("GITHUB_STEP_SUMMARY")))

    @property
    def pull_number(self) -> int | None:
        """The pull request of a pull_request event, else None."""
        pull = self.event.get("pull_request") or {}
        number = pull.get("number") or self.event.get("number")
        return int(number) if number else None

    def set_output(self, name: str, value: str) -> None:
        """Appends name=value (multi-line safe, with a random delimiter) to GITHUB_OUTPUT."""
        if self.output_path is None:
            return
        delimiter = f"loono_{uuid.uuid4().hex}"
        with self.output_path.open("a", encoding="utf-8") as outputs:
            outputs.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def add_summary(self, markdown: str) -> None:
        """Appends Markdown to the job summary."""
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as summary:
            summary.write(markdown.rstrip() + "\n\n")


def run_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The web address of this workflow run, inside GitHub Actions."""
    env = os.environ if environ is None else environ
    server, repository, run_id = (env.get(name) for name in (
        "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repository and run_id:
        return f"{server}/{repository}/actions/runs/{run_id}"
    return None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def read_outputs(path: Path) -> dict[str, str]:
    """Parses a GITHUB_OUTPUT file back (name<<delimiter blocks and name=value lines)."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs
