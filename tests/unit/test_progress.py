"""Terraform's -json stream as typed progress events, shown live (a terminal) or as lines (CI)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

from rich.console import Console

from loono_infra.core.terraform.engine import run_process
from loono_infra.core.terraform.events import TerraformEvent, event_of, line_listener
from loono_infra.reports.progress import ProgressView
from tests.conftest import PROJECT_ROOT

RDS = {"addr": "module.rds.aws_db_instance.this", "module": "module.rds",
       "resource_type": "aws_db_instance", "resource_name": "this"}


def _message(kind: str, text: str, **fields: object) -> dict[str, object]:
    return {"@level": "info", "@message": text, "@module": "terraform.ui",
            "@timestamp": "2026-11-27T14:00:00.000000Z", "type": kind, **fields}


def test_apply_messages_become_events_with_address_action_and_time() -> None:
    start = event_of(_message("apply_start", "module.rds.aws_db_instance.this: Creating...",
                              hook={"resource": RDS, "action": "create"}))
    tick = event_of(_message("apply_progress", "module.rds.aws_db_instance.this: Still "
                             "creating... [10s elapsed]",
                             hook={"resource": RDS, "action": "create", "elapsed_seconds": 10}))
    assert start == TerraformEvent("apply_start", "module.rds.aws_db_instance.this: Creating...",
                                   "2026-11-27T14:00:00.000000Z",
                                   "module.rds.aws_db_instance.this", "create")
    assert tick is not None and tick.elapsed_seconds == 10.0


def test_plan_messages_and_the_summary() -> None:
    planned = event_of(_message("planned_change", "module.rds.aws_db_instance.this: Plan to "
                                "create", change={"resource": RDS, "action": "create"}))
    summary = event_of(_message("change_summary", "Plan: 1 to add, 0 to change, 0 to destroy.",
                                changes={"add": 1, "change": 0, "remove": 0,
                                         "operation": "plan"}))
    assert planned is not None and (planned.address, planned.action) == (RDS["addr"], "create")
    assert summary is not None and summary.counts == {"add": 1, "change": 0, "remove": 0}


def test_other_messages_and_other_lines_are_not_events() -> None:
    assert event_of(_message("version", "Terraform 1.15.5", terraform="1.15.5")) is None
    heard: list[TerraformEvent] = []
    listen = line_listener(heard.append)
    for line in ["not json\n", "{broken\n", "[1, 2]\n", json.dumps(_message(
            "outputs", "Outputs: 1", outputs={})) + "\n"]:
        listen(line)
    assert heard == []


def test_a_process_s_lines_arrive_while_it_runs(tmp_path: Path) -> None:
    """The child waits for a file the callback makes on its first line: only a live stream
    lets it finish early (else it gives up after 20 s and says so)."""
    marker = tmp_path / "heard"
    child = ("import sys, time, pathlib\nprint('first', flush=True)\n"
             f"p = pathlib.Path({str(marker)!r})\nfor _ in range(200):\n"
             "    if p.exists(): break\n    time.sleep(0.1)\n"
             "print('second' if p.exists() else 'late', flush=True)\n")
    lines: list[str] = []

    def heard(line: str) -> None:
        lines.append(line)
        marker.touch()

    completed = run_process([sys.executable, "-c", child], tmp_path, {}, on_line=heard)
    assert completed.returncode == 0 and lines == ["first\n", "second\n"]
    assert completed.stdout == "first\nsecond\n"


def test_a_failing_callback_never_stops_the_run(tmp_path: Path) -> None:
    def broken(line: str) -> None:
        raise RuntimeError("a display that broke")

    completed = run_process([sys.executable, "-c", "print('a'); print('b')"], tmp_path, {},
                            on_line=broken)
    assert (completed.returncode, completed.stdout) == (0, "a\nb\n")


def _plain_view(total: int = 2, secrets: tuple[str, ...] = ()) -> tuple[ProgressView, io.StringIO]:
    out = io.StringIO()
    return ProgressView(Console(file=out, force_terminal=False, width=200), "apply sandbox",
                        total, secrets), out


def test_ci_gets_one_timed_line_per_resource_event_with_the_count() -> None:
    view, out = _plain_view()
    view(TerraformEvent("apply_start", f"{RDS['addr']}: Creating...", address=RDS["addr"],
                        action="create"))
    view(TerraformEvent("refresh_start", "x: Refreshing state...", address="x"))
    view(TerraformEvent("apply_complete", f"{RDS['addr']}: Creation complete after 3s",
                        address=RDS["addr"], action="create", elapsed_seconds=3))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # refreshes are not shown in CI
    assert lines[0].endswith(f"apply sandbox: {RDS['addr']}: Creating...")
    assert lines[1].endswith("Creation complete after 3s [1/2]")
    assert lines[0][:2].isdigit() and lines[0][2] == ":"  # HH:MM:SS first


def test_the_live_view_lists_what_is_in_flight_and_counts_what_is_done() -> None:
    view, _ = _plain_view(total=3)
    for address in ("a.one", "a.two"):
        view(TerraformEvent("apply_start", f"{address}: Creating...", address=address,
                            action="create"))
    view(TerraformEvent("apply_errored", "a.one: error", address="a.one", action="create"))
    out = io.StringIO()
    Console(file=out, width=100).print(view.render())
    shown = out.getvalue()
    assert "apply sandbox: 1/3 done, 1 failed" in shown
    assert "create a.two" in shown and "a.one" not in shown


def test_known_secrets_are_scrubbed_from_every_line() -> None:
    view, out = _plain_view(secrets=("hunter2-Secret",))
    view(TerraformEvent("diagnostic", "Error: bad value hunter2-Secret"))
    assert "hunter2-Secret" not in out.getvalue() and "Error: bad value" in out.getvalue()


RECORDED = PROJECT_ROOT / "tests" / "fixtures" / "apply_stream.jsonl"
GOLDEN_LIVE = PROJECT_ROOT / "tests" / "golden" / "live_progress.txt"


def test_the_live_view_of_a_recorded_apply_matches_its_snapshot() -> None:
    """Terraform's recorded -json stream of an apply, fed line by line to the live view; the
    view is drawn after each line (at the stream's own times) as a terminal would show it."""
    moment = [0.0]
    view = ProgressView(Console(file=io.StringIO(), force_terminal=True, width=90),
                        "apply production", 3, clock=lambda: moment[0])
    listen = line_listener(view)
    frames = []
    for line in RECORDED.read_text(encoding="utf-8").splitlines():
        stamp = json.loads(line)["@timestamp"]
        moment[0] = float(stamp[14:16]) * 60 + float(stamp[17:26])  # minutes and seconds
        listen(line)
        out = io.StringIO()
        Console(file=out, width=90, color_system=None).print(view.render())
        frames.append(f"-- {stamp[11:19]} {json.loads(line)['type']}\n{out.getvalue()}")
    text = "".join(frames)
    if os.environ.get("LOONO_UPDATE_GOLDEN"):
        GOLDEN_LIVE.write_text(text, encoding="utf-8")
    assert text == GOLDEN_LIVE.read_text(encoding="utf-8")
    assert "  create module.rds.aws_db_instance.this  10s" in frames[4]  # from its own start
    assert "apply production: 3/3 done, 4m04s elapsed" in frames[-1]
