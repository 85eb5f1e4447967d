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
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import selectors
import signal
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
    code, printed = _checkov_run(request["argv"])
    data = memoryview((json.dumps({"id": request["id"], "exit": code, "stdout": printed})
                       + "\n").encode())
    while data:
        data = data[os.write(answer_fd, data):]
    os._exit(0)


class Worker:
    """The imported process: reads requests, forks runs, relays their answers."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, tuple[int, int, list[bytes]]] = {}  # answer fd -> id, pid, chunks
        self.pending = b""
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


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import checkov.main  # noqa: F401 - the import every run then shares
        from checkov.version import version  # type: ignore[import-not-found,unused-ignore]
    with contextlib.suppress(ImportError, AttributeError):  # another Checkov: logs as it does
        _no_debug_log()
    _write_all(1, (json.dumps({"ready": True, "version": version}) + "\n").encode())
    Worker().serve()
    os._exit(0)  # no interpreter teardown: unloading Checkov's modules takes most of a second


if __name__ == "__main__":
    main()
