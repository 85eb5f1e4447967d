"""A warm Checkov for the plan scan: started when a plan starts, it imports Checkov (about two
seconds) while Terraform plans, then scans the plan once it exists.

Fails closed exactly like a cold Checkov: a worker that dies, hangs past the timeout, answers
garbage or is another Checkov version than the one the verdicts are keyed by is a
CheckovError (the gate refuses, naming Checkov). Where no worker can run (a Checkov without its
own interpreter beside it), scans run cold.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from loono_infra.clients import _checkov_worker
from loono_infra.clients.checkov import (
    CheckovError,
    Scan,
    checkov_environment,
    checkov_timeout,
    parse_report,
)


class WarmCheckov:
    """One Checkov process, importing while the plan runs; scan() uses it once."""

    def __init__(self, process: subprocess.Popen[str], expected_version: str | None) -> None:
        self.process = process
        self.expected_version = expected_version
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    @classmethod
    def start(cls, checkov: Path, expected_version: str | None) -> WarmCheckov | None:
        """A worker on Checkov's own interpreter, or None when there is none to start."""
        python = checkov.parent / "python"
        if not python.is_file():
            return None
        try:
            process = subprocess.Popen(
                [str(python), "-I", _checkov_worker.__file__], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                errors="replace", env=checkov_environment())
        except OSError:
            return None
        return cls(process, expected_version)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors = [*self._errors[-2:], line.strip()]

    def _next(self, deadline: float, what: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.close()
            raise CheckovError(f"Checkov timed out after {checkov_timeout():.0f} s scanning "
                               f"{what}") from None
        if line is None:
            raise CheckovError(f"Checkov crashed (exit {self._exit_code()}) scanning {what}: "
                               f"{self._stderr_tail()}")
        try:
            message = json.loads(line)
        except ValueError:
            raise CheckovError(f"Checkov printed something that is not JSON scanning "
                               f"{what}") from None
        if not isinstance(message, dict):
            raise CheckovError(f"unexpected Checkov answer scanning {what}")
        return message

    def scan(self, args: list[str], what: str) -> Scan:
        """Checkov's verdict for args (its command line, executable first); a CheckovError on
        any doubt."""
        deadline = time.monotonic() + checkov_timeout()
        try:
            ready = self._next(deadline, what)
            version = ready.get("version")
            if self.expected_version is not None and version != self.expected_version:
                raise CheckovError(f"the warm Checkov is version {version}, not "
                                   f"{self.expected_version} that the gate is keyed by")
            self._send({"argv": args[1:]})
            answer = self._next(deadline, what)
        finally:
            self.close()
        if answer.get("exit") not in (0, 1) or not isinstance(answer.get("stdout"), str):
            raise CheckovError(f"Checkov crashed (exit {answer.get('exit')}) scanning {what}")
        return parse_report(answer["stdout"], what)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # it died: the next read says so

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def _stderr_tail(self) -> str:
        self.close()
        return " | ".join(self._errors)

    def close(self) -> None:
        """Stops the worker if it still runs (an unused one exits on the end of its input)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
