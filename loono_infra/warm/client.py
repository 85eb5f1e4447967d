"""The `loono-infra` console script: each command served by a warm process when one is up.

A command's own start, Python importing typer, pydantic, rich and the flow, costs about 0.4 s
on these machines, on every `loono-infra plan`. The CLI server (warm/server.py) has imported
all of that once. Each command is a fork of it that takes this process's arguments, folder,
environment, umask and standard streams (passed over a unix socket). So it prints straight to
this terminal and ends with the exit code this process then ends with.

- On unless `LOONO_CLI_SERVER=off`; never on a CI runner (core/user_sockets.py says why). Its
  socket lies in the user's own folder (`loono-cli-<uid>`, 0700); each side checks the other
  is this user.
- One server per interpreter, package and the variables read while Python and the libraries
  start (the socket's name is their digest). It leaves after `LOONO_CLI_SERVER_IDLE` seconds
  (900) unused, or when a module it imported has changed on disk (it answers "stale").
- A server that cannot be reached or is stale is no server: the command runs here, as it
  always did, and a new server starts beside it for the next command.
- Ctrl-C, SIGTERM and SIGHUP here are passed on to the command. If this process dies, even by
  SIGKILL, the command is killed too, as it would have died here.

Imports nothing heavy: it runs before every command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from loono_infra.core import user_sockets

SERVER_ENV = "LOONO_CLI_SERVER"
IDLE_ENV = "LOONO_CLI_SERVER_IDLE"
DEFAULT_IDLE_SECONDS = 900
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GO = b"G"  # the client has the fork's pid: the command may begin
BEGIN_SECONDS = 30.0  # a server that never forks (stopped, stuck) is no server
# What names a server: what Python and the libraries read once, at start or import (typer's
# TYPER_USE_RICH, pydantic's plugins, the locale); every command gets its caller's whole
# environment anyway.
_READ_AT_START = re.compile(r"^(PYTHON|TYPER_|_TYPER_|PYDANTIC_|LC_).*|^(LANG|TZ|HOME)$")
_ENDED_WITHOUT_CODE = 1


def main() -> None:
    """Console-script entry point: the command served warm, else run here."""
    env = dict(os.environ)
    path = socket_path(env) if user_sockets.switched_on(env, SERVER_ENV) else None
    code = served(path, sys.argv[1:], env) if path is not None else None
    if code is not None:
        sys.exit(code)
    if path is not None:
        start_server(path, env)
    start_checkov_ahead(sys.argv[1:], env)
    from loono_infra.cli import main as run_here

    run_here()


def start_checkov_ahead(argv: list[str], env: Mapping[str, str]) -> None:
    """A cold `plan` with its policy gate (as on a CI runner): Checkov's worker starts now, so
    it imports Checkov while this process imports the CLI (clients/checkov_worker.py). Not
    where the Checkov daemon serves, and only once git has shown that the checkout commits no
    work area (a committed Checkov would run with the job's secrets before the plan refuses
    it: flow/trusted.py). A plan that needs no worker stops it."""
    from loono_infra.clients import checkov, checkov_daemon, checkov_worker
    from loono_infra.core.work_areas import committed_work_areas

    if argv[:1] != ["plan"] or "--no-policy" in argv or checkov_daemon.enabled(env):
        return
    with contextlib.suppress(checkov.CheckovError, OSError, subprocess.SubprocessError):
        root = Path.cwd()
        if committed_work_areas(root) == []:
            checkov_worker.start_ahead(checkov.find_checkov(root))


def socket_path(env: Mapping[str, str]) -> Path | None:
    """Where the server for this interpreter, package and environment listens; None where no
    socket can be (no private folder, a path too long)."""
    folder = user_sockets.private_folder(env, "cli")
    if folder is None:
        return None
    path = folder / (server_name(env) + ".sock")
    return path if len(str(path).encode()) <= user_sockets.MAX_SOCKET_PATH else None


def server_name(env: Mapping[str, str]) -> str:
    """The digest of the interpreter, this package's folder, what is read at start and the
    namespaces this process lives in (a container sharing the home gets a server of its own)."""
    keyed = sorted((k, v) for k, v in env.items() if _READ_AT_START.match(k))
    named = [sys.executable, str(Path(__file__).resolve().parent.parent), keyed,
             user_sockets.namespaces()]
    return hashlib.sha256(json.dumps(named).encode()).hexdigest()[:24]


def served(path: Path, argv: list[str], env: Mapping[str, str]) -> int | None:
    """The exit code of the command as the server on path ran it; None where it did not run
    it (no server, a stale one, or a broken connection before the command began)."""
    connection = user_sockets.connected(path)
    if connection is None:
        return None
    with connection, connection.makefile("rb") as answers:
        command = _begun(connection, answers, argv, env)
        if command is None:
            return None
        with _signals_passed_to(command):
            return _exit_code(answers)


def _begun(connection: socket.socket, answers: BinaryIO, argv: list[str],
           env: Mapping[str, str]) -> int | None:
    """Sends the command; the process id of the fork that runs it, once it has begun (it
    begins only on this side's go: a client that gave up runs it itself, never twice)."""
    try:
        request = {"argv": argv, "prog": program_name(), "cwd": os.getcwd(), "env": dict(env),
                   "umask": _umask(), "ignored": _ignored_signals()}
        connection.settimeout(BEGIN_SECONDS)
        with _standard_streams() as streams:
            socket.send_fds(connection, [b"R"], streams)
        connection.sendall((json.dumps(request) + "\n").encode())
        answer = json.loads(answers.readline() or b"{}")
        pid = answer.get("pid") if isinstance(answer, dict) else None
        if not isinstance(pid, int) or pid <= 0:
            return None
        connection.sendall(GO)
        connection.settimeout(None)
    except (OSError, ValueError):
        return None
    return pid


def _ignored_signals() -> list[int]:
    """The signals this process ignores (nohup, a background job): the command ignores them
    too, and they are not passed on."""
    return [int(n) for n in FORWARDED_SIGNALS if signal.getsignal(n) == signal.SIG_IGN]


def program_name() -> str:
    """What usage lines call this command, as click names it run here."""
    name = Path(sys.argv[0]).name
    return "python -m loono_infra" if name == "__main__.py" else name


def _exit_code(answers: BinaryIO) -> int:
    """The exit code the command's fork sends when it ends; 1 with a message when it ended
    without one (it was killed)."""
    last = b""
    with contextlib.suppress(OSError):
        for line in answers:
            last = line
    try:
        code = json.loads(last)["exit"]
    except (ValueError, KeyError, TypeError):
        code = None
    if isinstance(code, int):
        return code
    sys.stderr.write("loono-infra: the command's process ended without an exit code "
                     "(killed?)\n")
    return _ENDED_WITHOUT_CODE


@contextlib.contextmanager
def _signals_passed_to(pid: int) -> Iterator[None]:
    """While the command runs, the signals that would have stopped it here go to its fork."""

    def pass_on(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    ignored = _ignored_signals()
    previous = {number: signal.signal(number, pass_on) for number in FORWARDED_SIGNALS
                if number not in ignored}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _standard_streams() -> Iterator[list[int]]:
    """This process's stdin, stdout and stderr descriptors; /dev/null for one that is closed."""
    opened = []
    streams = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            streams.append(fd)
        except OSError:
            opened.append(os.open(os.devnull, os.O_RDWR))
            streams.append(opened[-1])
    try:
        yield streams
    finally:
        for fd in opened:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def idle_seconds(env: Mapping[str, str]) -> int:
    """How long a server waits for its next command: LOONO_CLI_SERVER_IDLE, 1 s to a day."""
    chosen = env.get(IDLE_ENV, "")
    if not chosen.isdigit():
        return DEFAULT_IDLE_SECONDS
    return min(max(1, int(chosen)), 86_400)


def start_server(path: Path, env: Mapping[str, str]) -> None:
    """Starts a server on path in the background, for the next command: it imports while
    this command runs. Its errors go to <socket>.log."""
    server_env = {k: v for k, v in env.items() if _READ_AT_START.match(k) or k == "PATH"}
    with contextlib.suppress(OSError), open(path.with_suffix(".log"), "ab") as log:
        os.chmod(log.name, 0o600)
        subprocess.Popen(
            [sys.executable, "-m", "loono_infra.warm.server", str(path),
             str(idle_seconds(env))], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log, env=server_env, cwd="/", start_new_session=True)
