"""The Checkov daemon (clients/checkov_daemon.py): a second warm Checkov only connects, gives
the cold verdict, and fails closed like the worker of one command (its server killed mid-scan,
a hung scan, garbage on the socket, another Checkov version); the daemon outlives each of those
and leaves when idle. Real Checkov throughout."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.clients import checkov_daemon
from loono_infra.clients.checkov_worker import WarmCheckov
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import daemons
from tests.integration.test_checkov_worker import (
    _alive,
    _children,
    _fake_interpreter,
    _outcomes,
    _plan_document,
    _sleeping_policies,
)

pytestmark = pytest.mark.integration
POLICIES = PROJECT_ROOT / "policies"


@pytest.fixture(scope="module")
def checkov() -> Path:
    return ck.find_checkov(PROJECT_ROOT)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _opened(checkov: Path, version: str | None = None) -> WarmCheckov:
    warm = WarmCheckov.open(checkov, version or ck.checkov_version(checkov))
    assert warm is not None
    return warm


def test_a_second_warm_checkov_connects_to_the_daemon_the_first_started(
        checkov: Path, daemon_on: Path, tmp_path: Path) -> None:
    plan = _plan_document(tmp_path)
    args = ck.plan_args(checkov, plan, POLICIES)
    cold = ck.run_checkov_process(args, "the plan")
    first = _opened(checkov)
    first_server = first.serving_pid()
    assert first_server is not None
    daemon = _parent(first_server)
    first_scan = first.scan(args, "the plan")
    first.close()
    second = _opened(checkov)
    second_server = second.serving_pid()
    assert second_server is not None and second_server != first_server
    assert _parent(second_server) == daemon, "the second connected to another daemon"
    second_scan = second.scan(args, "the plan")
    second.close()
    expected = _outcomes(ck.parse_report(cold[1], "the plan"))
    assert expected and _outcomes(first_scan) == expected == _outcomes(second_scan)
    assert _alive(daemon), "the daemon left with its first client"
    assert [p.suffix for p in sorted(daemon_on.iterdir())] == [".log", ".sock", ".lock"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in daemon_on.iterdir())


def test_concurrent_first_plans_share_one_daemon(checkov: Path, daemon_on: Path) -> None:
    opened: list[WarmCheckov] = []
    starters = [threading.Thread(target=lambda: opened.append(_opened(checkov)))
                for _ in range(3)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    servers = [warm.serving_pid() for warm in opened]
    assert len(opened) == 3 and None not in servers
    assert len({_parent(pid) for pid in servers if pid is not None}) == 1
    assert len(daemons(daemon_on.parent)) == 1
    for warm in opened:
        warm.close()


def test_a_server_killed_mid_scan_is_a_crash_and_the_daemon_serves_on(
        checkov: Path, daemon_on: Path, tmp_path: Path) -> None:
    warm = _opened(checkov)
    server = warm.serving_pid()
    assert server is not None
    args = ck.plan_args(checkov, _plan_document(tmp_path), _sleeping_policies(tmp_path))

    def kill_once_scanning() -> None:
        deadline = time.monotonic() + 60
        while not _children(server) and time.monotonic() < deadline:
            time.sleep(0.2)  # asked, forked, stuck in the sleeping policy
        os.kill(server, signal.SIGKILL)

    threading.Thread(target=kill_once_scanning, daemon=True).start()
    ended = r"Checkov crashed \(its connection to the Checkov daemon ended\) scanning the plan"
    with pytest.raises(ck.CheckovError, match=ended):
        warm.scan(args, "the plan")
    warm.close()
    again = _opened(checkov)
    (tmp_path / "again").mkdir()
    plan_args = ck.plan_args(checkov, _plan_document(tmp_path / "again"), POLICIES)
    assert again.scan(plan_args, "the plan").results
    again.close()


def test_a_hung_scan_stops_at_the_timeout_with_its_runs(
        checkov: Path, daemon_on: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ck.TIMEOUT_ENV, "8")
    warm = _opened(checkov)
    server = warm.serving_pid()
    assert server is not None
    daemon = _parent(server)
    args = ck.plan_args(checkov, _plan_document(tmp_path), _sleeping_policies(tmp_path))
    forked: list[int] = []
    threading.Thread(target=lambda: (time.sleep(4), forked.extend(_children(server))),
                     daemon=True).start()
    started = time.monotonic()
    with pytest.raises(ck.CheckovError, match="Checkov timed out after 8 s scanning the plan"):
        warm.scan(args, "the plan")
    assert time.monotonic() - started < 30
    time.sleep(1)
    assert forked, "the scan never forked a run"
    assert not [pid for pid in [server, *forked] if _alive(pid)], "a run outlived the timeout"
    assert _alive(daemon)


def test_another_checkov_version_is_refused(checkov: Path, daemon_on: Path,
                                            tmp_path: Path) -> None:
    warm = _opened(checkov, version="2.0.1")
    assert isinstance(warm.serving_pid(), int)  # the daemon answered, and said its version
    with pytest.raises(ck.CheckovError, match=r"warm Checkov is version 3\.3\.30, not 2\.0\.1"):
        warm.scan(ck.plan_args(checkov, _plan_document(tmp_path), POLICIES), "the plan")


def test_garbage_on_the_socket_is_refused(tmp_path: Path, daemon_on: Path) -> None:
    """A 'daemon' on the right socket that says it is ready, then answers garbage."""
    fake = _fake_interpreter(tmp_path, "unused")
    env = ck.checkov_environment()
    folder = checkov_daemon.private_folder(env)
    assert folder is not None
    path = folder / checkov_daemon.socket_name(fake.resolve().parent / "python", "3.3.30", env)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer_garbage() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rw") as stream:
            stream.readline()  # the hello
            stream.write(json.dumps({"ready": True, "version": "3.3.30", "pid": 1}) + "\n")
            stream.flush()
            stream.readline()  # the request
            stream.write("Segmentation fault (core dumped)\n")
            stream.flush()
            time.sleep(2)

    threading.Thread(target=answer_garbage, daemon=True).start()
    warm = WarmCheckov.open(fake, "3.3.30")
    assert warm is not None
    with pytest.raises(ck.CheckovError, match="not JSON scanning the plan"):
        warm.scan([str(fake), "-f", "plan.json"], "the plan")
    server.close()


def test_a_daemon_that_cannot_start_leaves_the_plan_its_own_worker(
        tmp_path: Path, daemon_on: Path) -> None:
    """The fake interpreter binds no socket: the plan starts a worker of its own, which fails
    closed as ever."""
    fake = _fake_interpreter(tmp_path, "Segmentation fault (core dumped)")
    warm = WarmCheckov.open(fake, "3.3.30")
    assert warm is not None and warm.process.pid is not None  # a child of this command
    with pytest.raises(ck.CheckovError, match="not JSON scanning the plan"):
        warm.scan([str(fake), "-f", "plan.json"], "the plan")


def test_an_idle_daemon_leaves_and_takes_its_socket(
        checkov: Path, daemon_on: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(checkov_daemon.IDLE_ENV, "2")
    warm = _opened(checkov)
    server = warm.serving_pid()
    assert server is not None
    daemon = _parent(server)
    warm.close()
    deadline = time.monotonic() + 30
    while _alive(daemon) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(daemon), "the idle daemon stayed"
    assert not list(daemon_on.glob("*.sock"))
