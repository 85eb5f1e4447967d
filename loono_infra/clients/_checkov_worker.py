"""Checkov imported once, then forked for every run asked of it (each run starts warm).

Run with Checkov's own interpreter (its virtualenv), isolated (-I: this folder holds a module
named checkov too), never importing loono_infra: ``python -I _checkov_worker.py``. Speaks JSON
lines on stdin/stdout:

- worker: ``{"ready": true, "version": "3.3.30"}`` once Checkov is imported;
- parent: ``{"id": N, "argv": [...]}``, one Checkov run (its arguments), as many as it likes,
  whenever it likes; the end of its input stops every run and the worker;
- worker: ``{"id": N, "exit": E, "stdout": "..."}`` for each run as it ends (Checkov's exit
  code and everything it printed), or ``{"id": N, "died": S}`` for a run that died (its wait
  status: a negative signal number or an exit code).

Each run is a fork of the process that imported Checkov: Checkov keeps global state
(registries, loaded external checks), so no run sees what another loaded, and none pays the
import again. A run dies with the worker (PR_SET_PDEATHSIG), and the parent stops the worker's
whole process group.

The daemon (``--daemon``, below) serves the same protocol to many commands; it is in this file
because both must run standalone on Checkov's interpreter, where loono_infra is not installed.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
import warnings
from typing import Any

PR_SET_PDEATHSIG = 1


def _checkov_run(argv: list[str]) -> tuple[int, str]:
    """One Checkov run in this (forked) process: its exit code and what it printed."""
    from checkov.main import Checkov  # imported already: the fork shares it

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = Checkov(argv=argv).run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    return 0 if code is None else int(code), printed.getvalue()


def _child(request: dict[str, Any], answer_fd: int, worker: int) -> None:
    """The forked run: never writes to the protocol's stdout, answers on its own pipe."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker:  # the worker died before the line above ran
        os._exit(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    gc.set_threshold(50_000)  # one short scan: young collections rarely, old ones as ever
    code, printed = _checkov_run(request["argv"])
    data = memoryview((json.dumps({"id": request["id"], "exit": code, "stdout": printed})
                       + "\n").encode())
    while data:
        data = data[os.write(answer_fd, data):]
    os._exit(0)


class Worker:
    """The imported process: reads requests, forks runs, relays their answers."""

    def __init__(self, pending: bytes = b"") -> None:
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, tuple[int, int, list[bytes]]] = {}  # answer fd -> id, pid, chunks
        self.pending = pending
        self.reading = True

    def start(self, request: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        worker = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                _child(request, write_fd, worker)
            except BaseException:
                traceback.print_exc()  # on the worker's stderr: the parent quotes its tail
            finally:
                os._exit(70)
        os.close(write_fd)
        self.runs[read_fd] = (int(request["id"]), pid, [])
        self.selector.register(read_fd, selectors.EVENT_READ, "run")

    def take_input(self, fd: int) -> None:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.reading = False
            self.selector.unregister(fd)
            self.stop_runs()
            return
        self.pending += chunk
        self.take_lines()

    def take_lines(self) -> None:
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            if line.strip():
                self.start(json.loads(line))

    def take_answer(self, fd: int) -> None:
        request_id, pid, chunks = self.runs[fd]
        chunk = os.read(fd, 1 << 16)
        if chunk:
            chunks.append(chunk)
            return
        self.selector.unregister(fd)
        os.close(fd)
        del self.runs[fd]
        _, status = os.waitpid(pid, 0)
        answer = b"".join(chunks)
        if os.waitstatus_to_exitcode(status) != 0 or not answer.endswith(b"\n"):
            answer = (json.dumps({"id": request_id,
                                  "died": os.waitstatus_to_exitcode(status)}) + "\n").encode()
        _write_all(1, answer)

    def stop_runs(self) -> None:
        """The end of input: every run, and whatever a run started, stops with the worker (the
        leader of its process group)."""
        if self.runs:
            os.killpg(0, signal.SIGKILL)

    def serve(self) -> None:
        self.take_lines()
        self.selector.register(0, selectors.EVENT_READ, "input")
        while self.reading or self.runs:
            for key, _ in self.selector.select():
                if key.data == "input":
                    self.take_input(key.fd)
                else:
                    self.take_answer(key.fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _no_debug_log() -> None:
    """Checkov keeps every debug message of a run, formatted, in memory (for its --support
    bundle, which no run here asks for): a seventh of a plan scan. Its console handler keeps
    its own level (LOG_LEVEL), so nothing Checkov would print is lost."""
    import logging

    from checkov import logging_init  # type: ignore[import-not-found,unused-ignore]

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "stream", None) is logging_init.log_stream:
            root.removeHandler(handler)
    root.setLevel(logging_init.LOG_LEVEL)  # the console's level, from LOG_LEVEL


def _ids_without_table() -> None:
    """`checkov --list` formats its checks as a table (tabulate, thousands of rows): half of
    the run, and the caller reads only the ids. Runs here list the same checks, chosen by the
    same arguments (Checkov's own get_checks), one id per line."""
    import checkov.main as checkov_main
    from checkov.docs_generator import (  # type: ignore[import-not-found,unused-ignore]
        get_checks,
    )

    def print_ids(frameworks: list[str] | None = None, use_bc_ids: bool = False,
                  include_all_checkov_policies: bool = True,
                  filtered_policy_ids: list[str] | None = None,
                  filtered_exception_policy_ids: list[str] | None = None) -> None:
        for row in get_checks(frameworks or ["all"], use_bc_ids=use_bc_ids,
                              include_all_checkov_policies=include_all_checkov_policies,
                              filtered_policy_ids=filtered_policy_ids or [],
                              filtered_exception_policy_ids=filtered_exception_policy_ids or []):
            print(row[0])

    checkov_main.print_checks = print_ids  # type: ignore[attr-defined,unused-ignore]


def _import_checkov() -> str:
    """Imports Checkov once (what every run then shares); its version.

    The collector is off while Checkov imports (a quarter of the import was collections of
    objects that all live on), then everything imported is frozen: no run's collection walks
    it again, nor writes to its pages (a fork would copy them). Measured in forks: a plan scan
    0.72 -> 0.31 s, the module scan 0.89 -> 0.66 s, the check list 0.29 -> 0.07 s."""
    gc.disable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import checkov.main  # noqa: F401 - the import every run then shares
        from checkov.version import version  # type: ignore[import-not-found,unused-ignore]
    with contextlib.suppress(ImportError, AttributeError):  # another Checkov: logs as it does
        _no_debug_log()
    with contextlib.suppress(ImportError, AttributeError):  # another Checkov: lists as it does
        _ids_without_table()
    gc.freeze()
    gc.enable()
    return str(version)


def _ready(version: str) -> bytes:
    return (json.dumps({"ready": True, "version": version, "pid": os.getpid()}) + "\n").encode()


def main() -> None:
    version = _import_checkov()
    _write_all(1, _ready(version))
    Worker().serve()
    os._exit(0)  # no interpreter teardown: unloading Checkov's modules takes most of a second


# The daemon: one imported Checkov that outlives the command that started it. It listens on a
# unix socket (in a folder only its user can enter); each connection gets a fork of it that
# speaks the protocol above on the connection, after a first line from the client:
# {"hello": {"cwd": ..., "env": {...}}}, the folder and environment its runs see. The
# connection's runs are its process group: they stop when the connection ends. The daemon
# leaves after IDLE seconds without a connection.


def lock_socket(lock_path: str, socket_path: str) -> int | None:
    """The lock that makes one daemon per socket: None when another daemon serves it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + 3
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if _answers(socket_path) or time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.05)  # a daemon leaving: its socket is gone, its lock not yet


def _answers(socket_path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)  # a stuck daemon's full backlog is no answer
        try:
            probe.connect(socket_path)
        except OSError:
            return False
        probe.sendall(b"\n")  # an empty hello: that connection ends at once
        return True


def listen(socket_path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)  # a daemon that died left it
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o077)  # the socket is its user's alone (its folder is too)
    try:
        server.bind(socket_path)
    finally:
        os.umask(umask)
    server.listen(64)
    return server


def _connection(conn: socket.socket, version: str, daemon: int) -> None:
    """A fork serving one connection: its hello, then the worker protocol on the socket."""
    os.setpgid(0, 0)  # its runs are its group: Worker.stop_runs stops them together
    os.dup2(conn.fileno(), 0)
    os.dup2(conn.fileno(), 1)
    conn.close()
    pending = b""
    while b"\n" not in pending:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            os._exit(0)
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    if not line.strip():
        os._exit(0)  # a probe
    asked = json.loads(line)
    if asked.get("stop") is True:  # `loono-infra checkov stop`: the daemon leaves as when idle
        if os.getppid() == daemon:  # not whoever adopted this fork after the daemon left
            _write_all(1, b'{"stopping": true}\n')
            os.kill(daemon, signal.SIGTERM)
        os._exit(0)
    hello = asked["hello"]
    os.environ.clear()
    os.environ.update(hello["env"])
    os.chdir(hello["cwd"])
    _write_all(1, _ready(version))
    Worker(pending).serve()


class Daemon:
    """Accepts connections (of its own user only), forks one server for each, leaves when
    idle or when its socket is no longer at its path (removed: no client can reach it)."""

    def __init__(self, server: socket.socket, socket_path: str, idle: float, lock: int) -> None:
        self.server = server
        self.lock = lock
        self.stopping = False
        signal.signal(signal.SIGTERM, self.stop)
        self.socket_path = socket_path
        self.inode = os.stat(socket_path).st_ino
        self.idle = idle
        self.serving: set[int] = set()
        self.last_seen = time.monotonic()

    def stop(self, signum: int, frame: object) -> None:
        self.stopping = True  # leaves at the next turn of its loop, as when idle

    def reachable(self) -> bool:
        try:
            return os.stat(self.socket_path).st_ino == self.inode
        except OSError:
            return False

    def serve(self, version: str) -> None:
        while not self.stopping and self.reachable() and (
                self.serving or time.monotonic() - self.last_seen < self.idle):
            self.server.settimeout(1.0)
            with contextlib.suppress(TimeoutError, socket.timeout):
                conn, _ = self.server.accept()
                self.fork(conn, version)
            self.reap()
        if self.reachable():
            os.unlink(self.socket_path)  # new clients start another daemon from here on
        self.server.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:  # connections that arrived before the unlink are still served
                self.fork(self.server.accept()[0], version)

    def fork(self, conn: socket.socket, version: str) -> None:
        self.last_seen = time.monotonic()
        if peer_uid(conn) != os.getuid():
            conn.close()  # the folder is the user's alone; this is a second lock on the door
            return
        conn.setblocking(True)
        daemon = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                self.server.close()
                os.close(self.lock)  # a leaving daemon's runs never hold off the next daemon
                _connection(conn, version, daemon)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(70)
        conn.close()
        self.serving.add(pid)

    def reap(self) -> None:
        for pid in list(self.serving):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == 0:
                    continue
            self.serving.discard(pid)
            self.last_seen = time.monotonic()


def peer_uid(conn: socket.socket) -> int:
    """The user the process at the other end of a unix socket runs as (SO_PEERCRED)."""
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


def daemon_main(socket_path: str, idle: float) -> None:
    """Started by a client that found no daemon: binds the socket, then leaves the client (its
    starter waits for this process only) while the fork imports Checkov and serves."""
    lock = lock_socket(socket_path + ".lock", socket_path)
    if lock is None:
        os._exit(0)
    with contextlib.suppress(OSError):
        os.ftruncate(2, 0)  # its log (stderr, appended to): a new daemon, a new log
    server = listen(socket_path)
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    os.chdir("/")  # holds no project folder; each connection goes to its caller's
    version = _import_checkov()
    Daemon(server, socket_path, idle, lock).serve(version)
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--daemon"]:
        daemon_main(sys.argv[2], float(sys.argv[3]))
    else:
        main()
