"""Row 10 of the fault matrix: GitHub's API does not answer while the report is posted."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from loono_infra.ci.actions import ActionsRun
from loono_infra.ci.review_report import pull_request_report
from loono_infra.core.errors import LoonoError

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once it is closed


def test_github_down_the_report_stays_in_the_job_summary_and_says_the_comment_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "a" * 40}}}))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    for name, value in {"GITHUB_REPOSITORY": "loono/infra", "GITHUB_TOKEN": "t",
                        "GITHUB_API_URL": f"http://127.0.0.1:{_closed_port()}",
                        "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request",
                        "GITHUB_STEP_SUMMARY": str(summary),
                        "GITHUB_OUTPUT": str(outputs)}.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with pytest.raises(LoonoError, match="pull request #7 comment"):
        pull_request_report([], run=ActionsRun.from_environment())
    assert time.monotonic() - started < 60  # bounded retries, then the reason
    written = summary.read_text(encoding="utf-8")
    assert "The pull request comment could not be written" in written
    assert written.index("could not be written") > 0  # after the report itself
    assert "comment" in outputs.read_text(encoding="utf-8")
