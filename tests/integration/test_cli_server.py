"""`loono-infra` served by the warm CLI server (warm/client.py, warm/server.py), with real
processes: the client, the server it starts, and the fork that runs each command.

A command that waits is one whose settings file is a named pipe: it reads until the test
writes. So the test can look at the running command (its parent, folder and environment),
interrupt its client or kill it.
"""

from __future__ import annotations

import json
import os
import signal
import socket as socket_module
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import loono_infra.warm
from loono_infra.core import user_sockets
from loono_infra.warm import client

pytestmark = pytest.mark.integration

CLIENT = [sys.executable, "-m", "loono_infra"]
BAD_TOML = "environment = [\n"


@dataclass
class Served:
    """A project folder, the environment its commands run with, and their server's socket."""

    project: Path
    env: dict[str, str]
    socket: Path

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLIENT, *args], cwd=self.project, env={**self.env, **extra},
                              capture_output=True, text=True, timeout=120, check=False)

    def waiting(self) -> subprocess.Popen[str]:
        """A client whose command waits for its settings (the pipe environments/pipe.toml)."""
        return subprocess.Popen([*CLIENT, "validate", "--env", "pipe"], cwd=self.project,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def reading(self) -> int:
        """The pipe's write end, once a command has opened it to read (it then waits in
        the settings' read)."""
        pipe = self.project / "environments" / "pipe.toml"

        def opened() -> int | None:
            try:
                return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                return None

        return until(opened, "a command reading its settings")


def until(found: Callable[[], int | None], what: str, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")


def processes() -> dict[int, tuple[int, str]]:
    """Each process's parent and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if stat[0] != "Z":
                found[int(entry.name)] = (int(stat[1]), command)
    return found


def server_of(socket: Path) -> int | None:
    return next((pid for pid, (_, command) in processes().items()
                 if "loono_infra.warm.server" in command and str(socket) in command), None)


def children_of(parent: int) -> list[int]:
    return [pid for pid, (ppid, _) in processes().items() if ppid == parent]


def command_of(server: int, project: Path) -> int | None:
    """The server's fork that runs a command in project (not a probe's fork, still in /)."""
    for pid in children_of(server):
        try:
            if Path(f"/proc/{pid}/cwd").resolve() == project.resolve():
                return pid
        except OSError:
            continue
    return None


def answering(socket: Path) -> int | None:
    """The server's pid once it accepts connections."""
    pid = server_of(socket)
    if pid is None or not socket.exists():
        return None
    probe = user_sockets.connected(socket)
    if probe is None:
        return None
    probe.close()  # an empty connection: the server's fork ends at once
    return pid



@pytest.fixture
def served(tmp_path: Path, runtime: Path) -> Iterator[Served]:
    """A project whose first command started a server (it ran cold); the server is gone
    after the test."""
    project = tmp_path / "project"
    (project / "environments").mkdir(parents=True)
    os.mkfifo(project / "environments" / "pipe.toml")
    env = {k: v for k, v in os.environ.items() if k not in user_sockets.CI_MARKERS}
    env.update({"XDG_RUNTIME_DIR": str(runtime), "LOONO_CLI_SERVER": "on",
                "LOONO_CLI_SERVER_IDLE": "60"})
    socket = client.socket_path(env)
    assert socket is not None
    state = Served(project, env, socket)
    first = state.run("validate", "--env", "missing")
    assert first.returncode == 1, first.stderr
    try:
        until(lambda: answering(socket), "CLI server answering")
        yield state
    finally:
        for pid in filter(None, [server_of(socket)]):
            os.kill(pid, signal.SIGTERM)


def test_a_command_runs_in_a_fork_of_the_server_in_its_callers_folder(
        served: Served) -> None:
    server = until(lambda: answering(served.socket), "server")
    waiting = served.waiting()
    fork = until(lambda: command_of(server, served.project), "the server's fork")
    assert children_of(waiting.pid) == []  # the command does not run in the client
    pipe = served.reading()
    os.write(pipe, BAD_TOML.encode())
    os.close(pipe)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 1
    assert "environments/pipe.toml" in err and "not valid TOML" in err
    assert out == ""
    until(lambda: None if Path(f"/proc/{fork}").exists() else 1, "the fork ending", 10)
    assert server_of(served.socket) == server  # the server serves on


def test_a_served_command_says_and_exits_as_a_cold_one(served: Served) -> None:
    for args in (["validate", "--env", "missing"], ["plan", "--env", "Bad Name"],
                 ["plan", "--no-such-option"], ["schema"]):
        warm = served.run(*args)
        cold = served.run(*args, LOONO_CLI_SERVER="off")
        assert (warm.returncode, warm.stdout, warm.stderr) == \
            (cold.returncode, cold.stdout, cold.stderr), args


def test_a_served_command_reads_its_callers_environment(served: Served) -> None:
    """The help's width follows the caller's COLUMNS, read when the command runs."""
    narrow, wide = (served.run("plan", "--help", COLUMNS=width) for width in ("60", "150"))
    assert narrow.stdout != wide.stdout
    assert max(map(len, narrow.stdout.splitlines())) <= 60
    assert narrow.stdout == served.run("plan", "--help", COLUMNS="60",
                                       LOONO_CLI_SERVER="off").stdout
    assert served.run("plan", "--no-such-option").returncode == 2
    assert "Usage: python -m loono_infra plan" in served.run("plan", "--bad").stderr


def test_ctrl_c_reaches_the_command_through_its_client(served: Served) -> None:
    server = until(lambda: answering(served.socket), "server")
    waiting = served.waiting()
    fork = until(lambda: command_of(server, served.project), "the server's fork")
    pipe = served.reading()
    # A signal that comes between the pipe's open and its read is seen only once the read
    # returns (Python acts on signals between steps): wait for the read itself.
    until(lambda: fork if "pipe" in Path(f"/proc/{fork}/wchan").read_text() else None,
          "the command waiting in its read")
    waiting.send_signal(signal.SIGINT)
    _, err = waiting.communicate(timeout=60)
    os.close(pipe)
    assert waiting.returncode == 130, err
    assert "interrupted" in err.lower()
    until(lambda: None if Path(f"/proc/{fork}").exists() else 1, "the fork ending", 10)


def test_a_killed_client_takes_its_command_with_it(served: Served) -> None:
    server = until(lambda: answering(served.socket), "server")
    waiting = served.waiting()
    fork = until(lambda: command_of(server, served.project), "the server's fork")
    pipe = served.reading()
    waiting.kill()
    waiting.communicate(timeout=30)
    until(lambda: None if Path(f"/proc/{fork}").exists() else 1, "the fork ending", 10)
    os.close(pipe)
    assert server_of(served.socket) == server


def test_a_server_whose_code_changed_leaves_and_the_command_runs_cold(served: Served) -> None:
    old = until(lambda: answering(served.socket), "server")
    package = Path(loono_infra.warm.__file__)
    stamp = package.stat().st_mtime_ns
    os.utime(package, ns=(stamp, stamp + 1_000_000_000))
    try:
        result = served.run("validate", "--env", "missing")
    finally:
        os.utime(package, ns=(stamp, stamp))
    assert result.returncode == 1 and "environments/missing.toml" in result.stderr
    until(lambda: None if Path(f"/proc/{old}").exists() else 1, "the stale server leaving", 10)
    new = until(lambda: answering(served.socket), "a new server")
    assert new != old


def test_no_server_on_a_ci_runner(tmp_path: Path, runtime: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "LOONO_CLI_SERVER": "on",
           "CI": "true"}
    result = subprocess.run([*CLIENT, "validate", "--env", "missing"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and "environments/missing.toml" in result.stderr
    time.sleep(1)
    assert not (runtime / f"loono-cli-{os.getuid()}").exists()
    assert not [pid for pid, (_, command) in processes().items()
                if "loono_infra.warm.server" in command and str(runtime) in command]


def test_a_signal_the_client_ignores_is_ignored_by_its_command(served: Served) -> None:
    """nohup: the hang-up that ends the terminal must not end the command."""
    server = until(lambda: answering(served.socket), "server")
    waiting = subprocess.Popen(
        [*CLIENT, "validate", "--env", "pipe"], cwd=served.project, env=served.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    fork = until(lambda: command_of(server, served.project), "the server's fork")
    pipe = served.reading()
    waiting.send_signal(signal.SIGHUP)
    os.kill(fork, signal.SIGHUP)  # as a terminal's hang-up would reach the command itself
    time.sleep(0.5)
    assert waiting.poll() is None and Path(f"/proc/{fork}").exists()
    os.write(pipe, BAD_TOML.encode())
    os.close(pipe)
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 1 and "not valid TOML" in err


def test_a_command_begins_only_once_its_client_says_go(served: Served) -> None:
    """A client that gave up waiting runs its command itself: the fork it had asked for must
    then never run it."""
    server = until(lambda: answering(served.socket), "server")
    connection = user_sockets.connected(served.socket)
    assert connection is not None
    with connection, open(os.devnull, "r+b") as null:
        request = {"argv": ["validate", "--env", "pipe"], "prog": "loono-infra",
                   "cwd": str(served.project), "env": served.env, "umask": 0o022,
                   "ignored": []}
        socket_module.send_fds(connection, [b"R"], [null.fileno()] * 3)
        connection.sendall((json.dumps(request) + "\n").encode())
        answer = json.loads(connection.makefile("rb").readline())
        fork = answer["pid"]
        assert fork in children_of(server)
    # no go: the fork ends without opening the settings pipe
    until(lambda: None if Path(f"/proc/{fork}").exists() else 1, "the fork ending", 10)
    with pytest.raises(OSError):
        os.open(served.project / "environments" / "pipe.toml", os.O_WRONLY | os.O_NONBLOCK)


def test_a_client_in_another_mount_namespace_is_not_served(served: Served) -> None:
    """A container sharing the user's home (and so the socket's folder) must not have its
    commands run out here: the server refuses it, and it runs its command itself."""
    until(lambda: answering(served.socket), "server")
    probe = ("import sys; from pathlib import Path; from loono_infra.warm import client; "
             f"print(client.served(Path({str(served.socket)!r}), ['schema'], {{}}))")
    result = subprocess.run(["unshare", "--mount", sys.executable, "-c", probe],
                            cwd=served.project, env=served.env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
    assert served.run("schema").returncode == 0  # this namespace's clients are served still
