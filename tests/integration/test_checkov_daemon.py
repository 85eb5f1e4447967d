"""The Checkov daemon (clients/checkov_daemon.py): a second warm Checkov only connects, gives
the cold verdict, and fails closed like the worker of one command (its server killed mid-scan,
a hung scan, garbage on the socket, another Checkov version); the daemon outlives each of those
and leaves when idle. Real Checkov throughout."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.clients import checkov_daemon
from loono_infra.clients.checkov_worker import WarmCheckov
from tests.conftest import PROJECT_ROOT, daemons
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


def _uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _daemon_socket(checkov: Path, version: str) -> Path:
    """Where WarmCheckov.open looks for this Checkov's daemon, in this test's environment."""
    path = checkov_daemon.socket_path(checkov, checkov.resolve().parent / "python", version,
                                      ck.checkov_environment())
    assert path is not None
    return path


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
    ended = (r"Checkov crashed \(its connection to the Checkov daemon ended; the daemon's log: "
             rf"{re.escape(str(daemon_on))}/\w+\.log; LOONO_CHECKOV_DAEMON=off plans without it\)"
             r" scanning the plan")
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
    warm = _opened(checkov)
    server = warm.serving_pid()  # a daemon just started imports Checkov first: not timed here
    assert server is not None
    daemon = _parent(server)
    monkeypatch.setenv(ck.TIMEOUT_ENV, "8")  # read by each run: the scan's own limit
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
    actual = re.escape(str(ck.checkov_version(checkov)))
    with pytest.raises(ck.CheckovError, match=rf"warm Checkov is version {actual}, not 2\.0\.1"):
        warm.scan(ck.plan_args(checkov, _plan_document(tmp_path), POLICIES), "the plan")


def test_garbage_on_the_socket_is_refused(tmp_path: Path, daemon_on: Path) -> None:
    """A 'daemon' on the right socket that says it is ready, then answers garbage."""
    fake = _fake_interpreter(tmp_path, "unused")
    path = _daemon_socket(fake, "3.3.30")
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
    assert warm is not None and warm.process.pid is None  # the connection, not a worker
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


_ENV_POLICY = """
import os

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class BucketMarked(BaseResourceCheck):
    def __init__(self):
        super().__init__(name="The run sees its caller's LOONO_TEST_MARK", id="CKV_LOONO_901",
                         categories=[CheckCategories.GENERAL_SECURITY],
                         supported_resources=["aws_s3_bucket"])

    def scan_resource_conf(self, conf):
        marked = os.environ.get("LOONO_TEST_MARK") == "pass"
        return CheckResult.PASSED if marked else CheckResult.FAILED


check = BucketMarked()
"""


def test_each_connection_runs_with_its_callers_environment_and_folder(
        checkov: Path, daemon_on: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two callers of one daemon, in two folders and environments: each run reads its own
    caller's variable (a policy that judges by it) and a plan path relative to its folder."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "__init__.py").write_text("", encoding="utf-8")
    (policies / "marked.py").write_text(_ENV_POLICY, encoding="utf-8")
    outcomes, daemons_serving = {}, []
    for mark in ("pass", "fail"):
        folder = tmp_path / mark
        folder.mkdir()
        _plan_document(folder)
        monkeypatch.chdir(folder)
        monkeypatch.setenv("LOONO_TEST_MARK", mark)
        warm = _opened(checkov)
        server = warm.serving_pid()
        assert server is not None
        daemons_serving.append(_parent(server))
        scan = warm.scan([str(checkov), "-f", "plan.json", "--framework", "terraform_plan",
                          "-o", "json", "--external-checks-dir", str(policies),
                          "--skip-download"], "the plan")
        warm.close()
        outcomes[mark] = {r.outcome for r in scan.results if r.check_id == "CKV_LOONO_901"}
    assert outcomes == {"pass": {"passed"}, "fail": {"failed"}}
    assert len(set(daemons_serving)) == 1  # one daemon served both


@pytest.mark.skipif(os.getuid() != 0, reason="a socket of another user needs root to make")
def test_a_socket_of_another_user_is_not_trusted(checkov: Path, daemon_on: Path) -> None:
    """Whoever serves the daemon's socket must be this user: a socket another user listens on
    gets no hello (no environment); the plan is served by a daemon of its own user."""
    version = ck.checkov_version(checkov)
    assert version is not None
    path = _daemon_socket(checkov, version)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    listener = os.fork()
    if listener == 0:  # listens as nobody: its credentials are the socket's
        os.setgid(65534)
        os.setuid(65534)
        server.listen(4)
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(0.5)
        warm = WarmCheckov.open(checkov, version)
        assert warm is not None
        served = warm.serving_pid()
        assert served is not None and served != listener
        assert _uid(served) == os.getuid() == _uid(_parent(served))
        warm.close()
    finally:
        os.kill(listener, signal.SIGKILL)
        os.waitpid(listener, 0)
        server.close()


def test_a_daemon_that_never_answers_leaves_the_plan_its_own_worker(
        checkov: Path, daemon_on: Path, tmp_path: Path) -> None:
    """A daemon that accepts (its backlog does) but never says it is ready, e.g. stopped with
    SIGSTOP: the plan does not wait for Checkov's time-out, it takes a worker of its own."""
    version = ck.checkov_version(checkov)
    assert version is not None
    path = _daemon_socket(checkov, version)
    wedged = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    wedged.bind(str(path))
    wedged.listen(4)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))  # long running: a young one may be importing
    try:
        warm = WarmCheckov.open(checkov, version)
        assert warm is not None
        assert warm.process.pid is not None  # a child of this command, not a connection
        assert warm.serving_pid() == warm.process.pid
        plan = ck.plan_args(checkov, _plan_document(tmp_path), POLICIES)
        assert warm.scan(plan, "the plan").results
        warm.close()
    finally:
        wedged.close()


def test_the_cli_lists_and_stops_the_daemons(checkov: Path, daemon_on: Path) -> None:
    """`loono-infra checkov status|stop`: the daemon a plan left is listed, then leaves when
    asked (its socket with it), and none is listed after."""
    warm = _opened(checkov)
    server = warm.serving_pid()
    assert server is not None
    daemon = _parent(server)
    warm.close()

    def cli(*args: str) -> dict[str, list[str]]:
        completed = subprocess.run([sys.executable, "-m", "loono_infra.cli", "checkov", *args,
                                    "--json"], capture_output=True, text=True, check=False)
        assert completed.returncode == 0, completed.stderr
        return dict(json.loads(completed.stdout))

    listed = cli("status")["daemons"]
    assert len(listed) == 1 and listed[0].startswith(str(daemon_on))
    assert cli("stop")["stopped"] == listed
    deadline = time.monotonic() + 30
    while _alive(daemon) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(daemon), "the daemon stayed when asked to stop"
    assert not list(daemon_on.glob("*.sock"))
    assert cli("status")["daemons"] == []


def test_a_daemon_that_does_not_say_it_stops_is_not_reported_stopped(daemon_on: Path) -> None:
    """`checkov stop` lists only the daemons that said they would leave (an older or stuck one
    says nothing)."""
    env = ck.checkov_environment()
    folder = checkov_daemon.private_folder(env)
    assert folder is not None
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(folder / "silent.sock"))
    silent.listen(1)
    heard: list[bytes] = []

    def listen_only() -> None:
        conn, _ = silent.accept()
        with conn:
            heard.append(conn.recv(64))
            time.sleep(3)

    threading.Thread(target=listen_only, daemon=True).start()
    assert checkov_daemon.stop_daemons(env) == []
    assert heard == [b'{"stop": true}\n']
    silent.close()
