"""The warm Checkov of the plan scan: the same verdict as a cold one, and it fails closed
(killed mid-scan, hung past the timeout, garbage on its pipe, another Checkov version)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.clients import checkov_daemon, checkov_worker
from loono_infra.clients.checkov_worker import WarmCheckov
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration
POLICIES = PROJECT_ROOT / "policies"


def _plan_document(folder: Path) -> Path:
    bucket = {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket",
              "name": "logs", "provider_name": "registry.terraform.io/hashicorp/aws",
              "values": {"bucket": "loono-logs", "force_destroy": False, "tags": None}}
    path = folder / "plan.json"
    path.write_text(json.dumps({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {"resources": [bucket]}},
        "resource_changes": [{**{k: bucket[k] for k in ("address", "mode", "type", "name",
                                                       "provider_name")},
                              "change": {"actions": ["create"], "before": None,
                                         "after": bucket["values"], "after_unknown": {}}}],
        "configuration": {"root_module": {"resources": [{
            "address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket",
            "name": "logs", "provider_config_key": "aws",
            "expressions": {"bucket": {"constant_value": "loono-logs"}}}]}}}))
    return path


@pytest.fixture(autouse=True)
def own_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker of the plan's own, as on a CI runner: not the session's daemon (conftest)."""
    monkeypatch.setenv(checkov_daemon.DAEMON_ENV, "off")


@pytest.fixture(scope="module")
def checkov() -> Path:
    return ck.find_checkov(PROJECT_ROOT)


def _warm(checkov: Path, version: str | None = None) -> WarmCheckov:
    warm = WarmCheckov.start(checkov, version or ck.checkov_version(checkov))
    assert warm is not None, "no interpreter beside Checkov"
    return warm


def _outcomes(scan: ck.Scan) -> set[tuple[str, str, str]]:
    return {(r.check_id, r.resource, r.outcome) for r in scan.results}


def test_warm_runs_give_the_cold_verdicts_and_list(checkov: Path, tmp_path: Path) -> None:
    """Three runs of one imported Checkov (each a fork) answer as three cold processes do:
    the plan scan twice (no state carried from one run to the next) and the check list."""
    args = ck.plan_args(checkov, _plan_document(tmp_path), POLICIES)
    listing = [str(checkov), "--list", "--framework", "terraform", "terraform_plan"]
    cold = ck.run_checkov(args, "the plan")
    cold_list = ck.run_checkov_process(listing, "its list of checks")
    warm = _warm(checkov)
    try:
        first, second = warm.scan(args, "the plan"), warm.scan(args, "the plan")
        listed = warm.run(listing, "its list of checks")
    finally:
        warm.close()
    for scan in (first, second):
        assert _outcomes(scan) == _outcomes(cold) and scan.resource_count == cold.resource_count
    assert any(outcome == "failed" for _, _, outcome in _outcomes(first))  # a real verdict
    # The same checks: the warm run prints their ids alone, without Checkov's table.
    assert listed[0] == cold_list[0] == 0
    assert ck.listed_check_ids(listed[1]) == ck.listed_check_ids(cold_list[1])
    assert len(ck.listed_check_ids(listed[1])) > 1000
    assert "|" not in listed[1] and "|" in cold_list[1]  # ids alone: the table was not drawn


def test_close_stops_the_runs_it_forked(checkov: Path, tmp_path: Path) -> None:
    warm = _warm(checkov)
    args = ck.plan_args(checkov, _plan_document(tmp_path), _sleeping_policies(tmp_path))
    threading.Thread(target=_ignore_errors, args=(warm.scan, args), daemon=True).start()
    deadline = time.monotonic() + 60
    while not _children(warm.process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    forked = _children(warm.process.pid)
    assert forked, "the worker forked no run"
    warm.close()
    time.sleep(0.5)
    assert not [pid for pid in forked if _alive(pid)], "a run outlived close()"


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    """Still running (a zombie, killed and waiting for a reaper, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ignore_errors(scan: object, args: list[str]) -> None:
    with contextlib.suppress(ck.CheckovError):
        scan(args, "the plan")  # type: ignore[operator]


def _sleeping_policies(folder: Path) -> Path:
    policies = folder / "policies"
    policies.mkdir()
    (policies / "__init__.py").write_text("", encoding="utf-8")  # Checkov loads packages
    (policies / "sleeps.py").write_text("import time\ntime.sleep(600)\n", encoding="utf-8")
    return policies


def test_a_hung_scan_is_stopped_at_the_timeout(checkov: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ck.TIMEOUT_ENV, "8")
    warm = _warm(checkov)
    args = ck.plan_args(checkov, _plan_document(tmp_path), _sleeping_policies(tmp_path))
    started = time.monotonic()
    with pytest.raises(ck.CheckovError, match="Checkov timed out after 8 s scanning the plan"):
        warm.scan(args, "the plan")
    assert time.monotonic() - started < 30 and warm.process.poll() is not None


def test_a_worker_killed_mid_scan_is_a_crash(checkov: Path, tmp_path: Path) -> None:
    warm = _warm(checkov)
    args = ck.plan_args(checkov, _plan_document(tmp_path), _sleeping_policies(tmp_path))

    def kill_once_scanning() -> None:
        time.sleep(5)  # imported, asked, stuck in the sleeping policy
        with contextlib.suppress(ProcessLookupError):
            os.kill(warm.process.pid, signal.SIGKILL)

    threading.Thread(target=kill_once_scanning, daemon=True).start()
    with pytest.raises(ck.CheckovError, match=r"Checkov crashed \(exit -9\) scanning the plan"):
        warm.scan(args, "the plan")


def _fake_interpreter(folder: Path, answer: str) -> Path:
    """A 'Checkov' whose interpreter says it is ready, then answers `answer`."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "checkov").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python").write_text(
        '#!/bin/sh\necho \'{"ready": true, "version": "3.3.30"}\'\nread request\n'
        f"echo '{answer}'\n")
    for name in ("checkov", "python"):
        (bin_dir / name).chmod(0o755)
    return bin_dir / "checkov"


@pytest.mark.parametrize(("answer", "refusal"), [
    ("Segmentation fault (core dumped)", "not JSON scanning the plan"),  # garbage on the pipe
    ('{"id": 1, "exit": 0, "stdout": "[]"}', "unexpected Checkov report shape"),  # no report
    ('{"exit": 0, "stdout": "[]"}', "unexpected Checkov answer"),  # an answer to no request
])
def test_an_answer_that_is_not_a_report_is_refused(tmp_path: Path, answer: str,
                                                   refusal: str) -> None:
    fake = _fake_interpreter(tmp_path, answer)
    warm = WarmCheckov.start(fake, "3.3.30")
    assert warm is not None
    with pytest.raises(ck.CheckovError, match=refusal):
        warm.scan([str(fake), "-f", "plan.json"], "the plan")


def test_another_checkov_version_is_refused(checkov: Path, tmp_path: Path) -> None:
    warm = _warm(checkov, version="2.0.1")
    args = ck.plan_args(checkov, _plan_document(tmp_path), POLICIES)
    with pytest.raises(ck.CheckovError, match=r"warm Checkov is version 3\.3\.30, not 2\.0\.1"):
        warm.scan(args, "the plan")
    assert warm.process.poll() is not None


def test_no_interpreter_beside_checkov_means_no_worker(tmp_path: Path) -> None:
    lonely = tmp_path / "checkov"
    lonely.write_text("#!/bin/sh\nexit 0\n")
    assert WarmCheckov.start(lonely, None) is None


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_worker_started_ahead_is_the_one_the_plan_takes(checkov: Path, tmp_path: Path) -> None:
    """A cold `plan` starts Checkov's worker first (warm/client.py); the plan's worker is that
    process, already importing, and it scans as any worker does."""
    checkov_worker.start_ahead(checkov)
    ahead = checkov_worker._AHEAD.process
    assert ahead is not None and _running(ahead.pid)
    warm = _warm(checkov)
    try:
        assert warm.process.pid == ahead.pid
        assert checkov_worker._AHEAD.process is None  # taken: no one else stops it
        scan = warm.scan(ck.plan_args(checkov, _plan_document(tmp_path), POLICIES), "the plan")
        assert any(r.outcome == "failed" for r in scan.results)
    finally:
        warm.close()
    assert not _running(ahead.pid)


def test_a_worker_started_ahead_in_another_environment_is_stopped_not_taken(
        checkov: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkov reads its environment while it imports: a worker started before the
    environment changed is not the one the plan would start."""
    checkov_worker.start_ahead(checkov)
    ahead = checkov_worker._AHEAD.process
    assert ahead is not None
    monkeypatch.setenv("CKV_FRAMEWORK", "terraform")
    warm = _warm(checkov)
    try:
        assert warm.process.pid != ahead.pid
        assert not _running(ahead.pid)
    finally:
        warm.close()


def test_a_plan_that_needs_no_worker_stops_the_one_started_ahead(checkov: Path) -> None:
    checkov_worker.start_ahead(checkov)
    ahead = checkov_worker._AHEAD.process
    assert ahead is not None and _running(ahead.pid)
    checkov_worker.close_ahead()
    assert not _running(ahead.pid)
    assert checkov_worker._AHEAD.process is None
