"""A warm Checkov: started when a plan starts, it imports Checkov (about two seconds) while
Terraform plans, then forks a fresh copy of itself for each run asked of it: the list of check
ids and the module scan while the plan runs, the plan scan once the plan exists.

Fails closed exactly like a cold Checkov: a worker or run that dies, hangs past the timeout,
answers garbage or is another Checkov version than the one the verdicts are keyed by is a
CheckovError (the gate refuses, naming Checkov). Where no worker can run (a Checkov without its
own interpreter beside it), runs are cold processes.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from loono_infra.clients import _checkov_worker, checkov_daemon
from loono_infra.clients.checkov import (
    CheckovError,
    Scan,
    checkov_environment,
    checkov_timeout,
    parse_report,
)

_BROKEN = "broken"  # what a waiting run gets when the worker can no longer answer
RUNNING_DAEMON_READY_SECONDS = 3.0


def _interpreter(checkov: Path, expected_version: str | None) -> Path | None:
    """Checkov's own interpreter, beside its resolved executable; None where there is none, or
    no version to check a worker against."""
    return _beside(checkov) if expected_version is not None else None


def _beside(checkov: Path) -> Path | None:
    """The interpreter beside Checkov's resolved executable, if there is one."""
    python = checkov.resolve().parent / "python"
    return python if python.is_file() else None


def _worker_command(python: Path) -> list[str]:
    return [str(python), "-I", _checkov_worker.__file__]


def _spawned(python: Path) -> subprocess.Popen[str]:
    """A new worker process on python, with Checkov's environment as it is now."""
    return subprocess.Popen(
        _worker_command(python), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="replace", env=checkov_environment(), start_new_session=True)


class _Ahead:
    """A worker started before this command knew it would need one: by a cold `loono-infra
    plan` (warm/client.py) as its first step, so Checkov imports while the CLI does (about half
    a second on these machines) instead of after. WarmCheckov.start takes it only if it would
    have started that very worker (the same interpreter and environment); the plan stops it
    when it needs none (close()), and so does the command's end."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.env: dict[str, str] = {}

    def start(self, checkov: Path) -> None:
        python = _beside(checkov)
        if self.process is not None or python is None:
            return
        with contextlib.suppress(OSError):
            self.env = checkov_environment()
            self.process = _spawned(python)
            atexit.register(self.close)

    def take(self, python: Path) -> subprocess.Popen[str] | None:
        """The worker started ahead, if it is the one start() would start now and still runs."""
        process, self.process = self.process, None
        if process is None:
            return None
        if (process.args == _worker_command(python) and self.env == checkov_environment()
                and process.poll() is None):
            return process
        _Process(process).stop()
        return None

    def close(self) -> None:
        """Stops a worker started ahead and not taken."""
        process, self.process = self.process, None
        if process is not None:
            _Process(process).stop()


_AHEAD = _Ahead()


def start_ahead(checkov: Path) -> None:
    """Starts a Checkov worker for checkov now, ahead of the plan that will ask for one."""
    _AHEAD.start(checkov)


def close_ahead() -> None:
    """The plan needs no worker of its own (its verdicts are cached, or the daemon serves)."""
    _AHEAD.close()


class _Process:
    """A worker that is this command's child, on pipes."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.stdin, self.stdout, self.stderr = popen.stdin, popen.stdout, popen.stderr
        self.pid = popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def ending(self) -> str:
        try:
            return f"exit {self.popen.wait(timeout=5)}"
        except subprocess.TimeoutExpired:
            return "exit None"

    def stop(self) -> None:
        """Stops the worker and every run it forked (its whole process group) at once. Once:
        the group is never signalled after the worker was reaped (its id could be another's)."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def release(self) -> None:
        """Nothing to release: Popen's pipes close with it."""


class _Connection:
    """A connection to the Checkov daemon (clients/checkov_daemon.py): its server process and
    that server's runs end when the connection does; the daemon stays."""

    def __init__(self, connection: socket.socket, log: Path) -> None:
        self.socket = connection
        self.log = log
        self.stdin = connection.makefile("w", encoding="utf-8", errors="replace")
        self.stdout = connection.makefile("r", encoding="utf-8", errors="replace")
        self.stderr: TextIO | None = None  # the daemon's errors go to its log
        self.pid: int | None = None

    def ending(self) -> str:
        return (f"its connection to the Checkov daemon ended; the daemon's log: {self.log}; "
                f"{checkov_daemon.DAEMON_ENV}=off plans without it")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Closes the connection once nothing reads it any more."""
        for stream in (self.stdin, self.stdout, self.socket):
            with contextlib.suppress(OSError, ValueError):
                stream.close()


class WarmCheckov:
    """One imported Checkov whose runs are forks of it; stop it with close()."""

    def __init__(self, process: _Process | _Connection, expected_version: str | None) -> None:
        self.process = process
        self.expected_version = expected_version
        self._ready: queue.Queue[dict[str, Any] | str] = queue.Queue()
        self._answers: dict[int, queue.Queue[dict[str, Any] | str]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closing = threading.Lock()
        self._writing = threading.Lock()
        self._problem: str | None = None
        self._failure: str | None = None  # why the worker was stopped, said to every waiting run
        self._errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        if process.stderr is not None:
            threading.Thread(target=self._read_errors, daemon=True).start()

    @classmethod
    def open(cls, checkov: Path, expected_version: str | None) -> WarmCheckov | None:
        """The Checkov daemon where it is used and reachable, else a worker of this command's
        own (start()); None when neither can run."""
        python, env = _interpreter(checkov, expected_version), checkov_environment()
        if python is not None and expected_version is not None and checkov_daemon.enabled(env):
            reached = checkov_daemon.connect(checkov, python, expected_version, env)
            if reached is not None:
                warm = cls(_Connection(reached.connection, reached.log), expected_version)
                if reached.importing or warm._answers_within(RUNNING_DAEMON_READY_SECONDS):
                    return warm
                warm.close()  # accepts, never answers (stopped, stuck): not worth a time-out
        return cls.start(checkov, expected_version)

    def _answers_within(self, seconds: float) -> bool:
        """Whether the worker says it is ready within seconds (a running daemon's fork does at
        once; one just started imports Checkov first, and is not asked this)."""
        try:
            ready = self._ready.get(timeout=seconds)
        except queue.Empty:
            return False
        self._ready.put(ready)
        return isinstance(ready, dict)

    @classmethod
    def start(cls, checkov: Path, expected_version: str | None) -> WarmCheckov | None:
        """A worker on Checkov's own interpreter (the one started ahead, if it is that one), or
        None when there is none to start (no interpreter beside the resolved executable, or no
        version to check it against)."""
        python = _interpreter(checkov, expected_version)
        if python is None:
            return None
        try:
            process = _AHEAD.take(python) or _spawned(python)
        except OSError:
            return None
        return cls(_Process(process), expected_version)

    def serving_pid(self) -> int | None:
        """The process that forks this one's runs (once it is ready)."""
        ready = self._next(self._ready, time.monotonic() + checkov_timeout(), "the check list")
        self._ready.put(ready)
        pid = ready.get("pid")
        return pid if isinstance(pid, int) else None

    def scan(self, args: list[str], what: str) -> Scan:
        """Checkov's verdict for args (its command line, executable first); a CheckovError on
        any doubt."""
        code, printed = self.run(args, what)
        if code not in (0, 1):
            raise CheckovError(f"Checkov crashed (exit {code}) scanning {what}")
        return parse_report(printed, what)

    def run(self, args: list[str], what: str) -> tuple[int, str]:
        """One Checkov run of args (executable first) in a fork of the worker: its exit code
        and what it printed."""
        deadline = time.monotonic() + checkov_timeout()
        self._require_version(deadline, what)
        answers = self._send(args[1:])
        answer = self._next(answers, deadline, what)
        if "died" in answer:
            raise CheckovError(f"Checkov crashed (exit {answer['died']}) scanning {what}: "
                               f"{self._stderr_tail()}")
        code, printed = answer.get("exit"), answer.get("stdout")
        if not isinstance(code, int) or not isinstance(printed, str):
            raise CheckovError(f"unexpected Checkov answer scanning {what}")
        return code, printed

    def _require_version(self, deadline: float, what: str) -> None:
        ready = self._next(self._ready, deadline, what)
        self._ready.put(ready)  # every later run reads it again
        version = ready.get("version")
        if self.expected_version is not None and version != self.expected_version:
            self._stop_for(f"the warm Checkov is version {version}, not "
                           f"{self.expected_version} that the gate is keyed by")
            raise CheckovError(self._failure or "")

    def _send(self, argv: list[str]) -> queue.Queue[dict[str, Any] | str]:
        assert self.process.stdin is not None
        with self._lock:
            request_id = next(self._ids)
            answers: queue.Queue[dict[str, Any] | str] = queue.Queue()
            self._answers[request_id] = answers
            if self._problem is not None:
                answers.put(_BROKEN)
        # Written outside _lock: a full pipe must never keep the reader or a time-out waiting.
        with self._writing, contextlib.suppress(OSError, ValueError):  # died: its answer says so
            self.process.stdin.write(json.dumps({"id": request_id, "argv": argv}) + "\n")
            self.process.stdin.flush()
        return answers

    def _next(self, answers: queue.Queue[dict[str, Any] | str], deadline: float,
              what: str) -> dict[str, Any]:
        try:
            answer = answers.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self._stop_for(f"Checkov timed out after {checkov_timeout():.0f} s scanning {what}")
            raise CheckovError(f"Checkov timed out after {checkov_timeout():.0f} s scanning "
                               f"{what}") from None
        if isinstance(answer, str):
            answers.put(answer)
            raise CheckovError(self._broken_message(what))
        return answer

    def _stop_for(self, failure: str) -> None:
        """Stops the worker; runs still waiting are refused with the same reason."""
        with self._lock:
            self._failure = self._failure or failure
        self.close()

    def _broken_message(self, what: str) -> str:
        if self._failure is not None:
            return self._failure
        if self._problem == "garbage":
            return f"Checkov printed something that is not JSON scanning {what}"
        if self._problem == "shape":
            return f"unexpected Checkov answer scanning {what}"
        return (f"Checkov crashed ({self.process.ending()}) scanning {what}: "
                f"{self._stderr_tail()}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        with contextlib.suppress(OSError, ValueError):  # a connection shut while read
            for line in self.process.stdout:
                if not self._dispatch(line):
                    break
        self._break("crashed" if self._problem is None else self._problem)
        self.process.release()

    def _dispatch(self, line: str) -> bool:
        """Hands one answer to its waiting run; False when the worker cannot be trusted."""
        try:
            message = json.loads(line)
        except ValueError:
            self._problem = "garbage"
            return False
        if not isinstance(message, dict):
            self._problem = "shape"
            return False
        if message.get("ready") is True:
            self._ready.put(message)
            return True
        with self._lock:
            answers = self._answers.get(message.get("id"))  # type: ignore[arg-type]
        if answers is None:
            self._problem = "shape"
            return False
        answers.put(message)
        return True

    def _break(self, problem: str) -> None:
        with self._lock:
            self._problem = problem
            waiting = [self._ready, *self._answers.values()]
        for answers in waiting:
            answers.put(_BROKEN)
        self.close()

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors = [*self._errors[-2:], line.strip()]

    def _stderr_tail(self) -> str:
        return " | ".join(self._errors)

    def close(self) -> None:
        """Stops the worker (or the daemon's server of this connection) and every run it forked
        at once: it may still be importing, and finished runs are reaped already."""
        with self._closing:
            self.process.stop()
