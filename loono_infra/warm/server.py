"""The CLI server: `loono-infra` imported once, forked for each command (warm/client.py).

`python -m loono_infra.warm.server SOCKET IDLE`, started by a client that found none. It takes
the socket's lock (one server per socket), binds, imports the CLI and the flow, and serves one
connection at a time until IDLE seconds pass without one, or until a module it imported has
changed on disk (it answers "stale" and leaves). Each connection is checked to be this user's,
then forked; the fork becomes the command:

- it takes the client's stdin, stdout and stderr (passed with the request), its folder, whole
  environment and umask, and its arguments;
- it sends its process id (the client passes its signals on to it), runs the CLI, and sends
  the exit code;
- it dies at once when the client's end of the socket closes (the client was killed), as the
  command would have died with it.

The server runs no thread and no command itself: every fork starts from the same imported,
unused state.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

from loono_infra.clients._checkov_worker import listen, lock_socket
from loono_infra.core import user_sockets
from loono_infra.warm.client import FORWARDED_SIGNALS, GO

# What every command imports before its first Terraform run, or soon after.
PRELOADED = ("loono_infra.cli", "loono_infra.flow.pipeline", "loono_infra.reports.progress",
             "loono_infra.core.secrets", "loono_infra.clients.aws", "typer.main")
INTERRUPTED = 130
_REQUEST_SECONDS = 10.0
_OWN_NAMESPACES = user_sockets.namespaces()


@dataclass(frozen=True)
class Request:
    """One command as the client sent it."""

    argv: list[str]
    prog: str
    cwd: str
    env: dict[str, str]
    umask: int
    ignored: list[int]
    streams: list[int]


Stamp = tuple[int, int, int, int]


def stamp(name: str) -> Stamp:
    """What changes when a file is written or replaced (a tool may set mtime back; not ctime)."""
    found = os.stat(name)
    return (found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino)


def module_files() -> dict[str, Stamp]:
    """Each imported module's file and its stamp, as loaded."""
    files = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str):
            with contextlib.suppress(OSError):
                files[name] = stamp(name)
    return files


def changed(files: Mapping[str, Stamp], since_ns: int = 0) -> bool:
    """Whether a module file changed (or went) since it was imported, or was written while
    the server imported (since_ns: when it began): the server is stale."""
    for name, loaded in files.items():
        try:
            if stamp(name) != loaded or loaded[1] >= since_ns > 0:
                return True
        except OSError:
            return True
    return False


def serve(listener: socket.socket, idle: float, lock: int, since_ns: int) -> None:
    """Forks a command for each connection of this user until idle or stale (a module written
    after since_ns, when the imports began, may have been imported half old)."""
    loaded = module_files()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forks are nobody's to wait for
    listener.settimeout(idle)
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return
        if changed(loaded, since_ns) and _users(conn):
            with conn, contextlib.suppress(OSError):
                conn.sendall(b'{"stale": true}\n')
            return
        _forked(conn, listener, lock)


def _users(conn: socket.socket) -> bool:
    """The connection is this user's, from this machine as this server sees it: the same
    namespaces (a container sharing the user's home would otherwise run its commands out here,
    with its own PATH). A client gone already is no one's."""
    try:
        pid, uid, _ = user_sockets.peer_credentials(conn)
    except OSError:
        return False
    return uid == os.getuid() and user_sockets.namespaces(pid) == _OWN_NAMESPACES


def _forked(conn: socket.socket, listener: socket.socket, lock: int) -> None:
    """A fork of this server runs the connection's command; the server keeps no part of it
    (a client left without an answer runs its command itself)."""
    with contextlib.suppress(OSError):  # no fork (too many processes): the client runs it
        if _users(conn) and os.fork() == 0:
            try:
                _command(conn, listener, lock)
            finally:
                os._exit(1)  # whatever escaped the command: never back into the server's loop
    conn.close()


def _command(conn: socket.socket, listener: socket.socket, lock: int) -> None:
    """In the fork: becomes the client's command, reports its exit code, and ends."""
    listener.close()
    os.close(lock)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        conn.settimeout(_REQUEST_SECONDS)  # a client that connects and says nothing
        request = _request(conn)
        _become(request)
        conn.sendall((json.dumps({"pid": os.getpid()}) + "\n").encode())
        if conn.recv(1) != GO:
            raise ValueError("the client did not say go")
        conn.settimeout(None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        os._exit(1)  # the command never began: the client runs it itself
    threading.Thread(target=_die_with_client, args=(conn,), daemon=True).start()
    code = run_cli(request.argv, request.prog)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command is over: its code goes out
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps({"exit": code}) + "\n").encode())
    os._exit(code)


def _request(conn: socket.socket) -> Request:
    """The client's request: its three standard streams, then one JSON line."""
    _, streams, _, _ = socket.recv_fds(conn, 1, 3)
    if len(streams) != 3:
        raise ValueError("the request did not carry three standard streams")
    with conn.makefile("rb") as lines:
        fields = json.loads(lines.readline())
    return Request(argv=[str(arg) for arg in fields["argv"]], prog=str(fields["prog"]),
                   cwd=str(fields["cwd"]),
                   env={str(k): str(v) for k, v in fields["env"].items()},
                   umask=int(fields["umask"]) & 0o777,
                   ignored=[int(n) for n in fields["ignored"] if int(n) in FORWARDED_SIGNALS],
                   streams=streams)


def _become(request: Request) -> None:
    """This process takes the client's streams, folder, environment and umask."""
    for target, fd in enumerate(request.streams):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = _text_stream(1)
    sys.stderr = _text_stream(2, errors="backslashreplace")
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    time.tzset()
    os.umask(request.umask)
    for number in request.ignored:  # as the client's were (nohup, a background job)
        signal.signal(number, signal.SIG_IGN)


def _text_stream(fd: int, errors: str = "strict") -> io.TextIOWrapper:
    terminal = os.isatty(fd)
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors=errors,
                            line_buffering=terminal, write_through=not terminal)


def _die_with_client(conn: socket.socket) -> None:
    """The client sends nothing more: its end closing means it is gone. The signals the client
    passes on are the command's: the kernel gives them to a thread that does not block them,
    and Python acts on them only in the main thread, which may be waiting in a read."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    with contextlib.suppress(OSError):
        conn.recv(1)
    os.kill(os.getpid(), signal.SIGKILL)


def run_cli(argv: list[str], prog: str) -> int:
    """The CLI run on argv, as the console script would run it; its exit code."""
    from loono_infra.cli import main as cli_main

    sys.argv = [prog, *argv]
    try:
        cli_main(prog_name=prog)
    except SystemExit as ended:
        return exit_status(ended.code)
    except KeyboardInterrupt:  # before the command's own handler: as Python ends on it
        traceback.print_exc()
        return INTERRUPTED
    except BaseException:  # as Python itself would end: a traceback, exit code 1
        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    return 0


def exit_status(code: object) -> int:
    """What Python's exit makes of SystemExit's code: None 0, an int itself, else printed, 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def main(socket_path: str, idle: float) -> None:
    lock = lock_socket(socket_path + ".lock", socket_path)
    if lock is None:
        return  # another server serves it
    with contextlib.suppress(OSError):
        os.ftruncate(2, 0)  # its log (stderr, appended to): a new server, a new log
    listener = listen(socket_path)
    since_ns = time.time_ns()
    for name in PRELOADED:
        importlib.import_module(name)
    try:
        serve(listener, idle, lock, since_ns)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(socket_path)  # new clients start another server from here on


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
