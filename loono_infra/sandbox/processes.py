"""The sandbox's background processes (server, registry): is one alive, stop one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

REGISTRY_RECORD = "registry.json"  # the sandbox registry's pid, address and password


def alive(pid: int) -> bool:
    """Whether pid runs; an exited child of ours is reaped first (a zombie is not alive)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, wait_seconds: float) -> None:
    """SIGTERM, wait up to wait_seconds for the process to end, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_recorded(record: Path, wait_seconds: float = 5.0) -> bool:
    """Stops the process whose pid a JSON record ({"pid": ...}) names; whether it was running."""
    try:
        pid = int(json.loads(record.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not alive(pid):
        return False
    terminate(pid, wait_seconds)
    return True
