"""Reading Terraform's machine-readable output: JSON lines and diagnostics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from loono_infra.core.errors import Diagnostic


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a `-json` stream, one a line; other lines are skipped."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def diagnostic_of(raw: dict[str, Any]) -> Diagnostic:
    """A diagnostic object (from a stream message or `validate -json`) as a Diagnostic."""
    rng = raw.get("range") or {}
    start = rng.get("start") or {}
    snippet = raw.get("snippet") or {}
    return Diagnostic(
        severity=str(raw.get("severity", "error")),
        summary=str(raw.get("summary", "")),
        detail=str(raw.get("detail", "")),
        filename=rng.get("filename"),
        line=start.get("line"),
        address=raw.get("address") or snippet.get("context"),
    )


def stream_diagnostics(messages: list[dict[str, Any]]) -> list[Diagnostic]:
    """The diagnostics carried by a `-json` stream."""
    return [
        diagnostic_of(message["diagnostic"])
        for message in messages
        if message.get("type") == "diagnostic" and isinstance(message.get("diagnostic"), dict)
    ]
