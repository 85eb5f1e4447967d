"""The awslogs log driver of the sandbox: task containers' output into CloudWatch Logs (moto).

Streams are named as ECS names them: ``<awslogs-stream-prefix>/<container name>/<task id>``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import docker
import docker.errors
from moto.logs.models import logs_backends

from loono_infra.sandbox.server.tasks import SandboxTask


def log_target(container: dict[str, Any], task: SandboxTask) -> tuple[str, str] | None:
    """(group, stream) for a container definition with the awslogs driver, else None."""
    configuration = container.get("logConfiguration") or {}
    options = configuration.get("options") or {}
    if configuration.get("logDriver") != "awslogs" or "awslogs-group" not in options:
        return None
    prefix = options.get("awslogs-stream-prefix")
    name = f"{prefix}/{task.container.name}/{task.id}" if prefix else task.id
    return str(options["awslogs-group"]), name


class LogShipper:
    """Copies new lines of each task's container log into its CloudWatch stream."""

    def __init__(self, client: docker.DockerClient, every_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._shipped: dict[str, int] = {}
        self._next_read: dict[str, float] = {}
        self._every = every_seconds
        self._clock = clock

    def ship(self, task: SandboxTask, account: str, region: str,
             target: tuple[str, str], final: bool = False) -> None:
        """Ships new lines, reading the container's log at most once a second (or when final)."""
        now = self._clock()
        if task._docker_id is None or (not final and now < self._next_read.get(task.id, 0.0)):
            return
        self._next_read[task.id] = now + self._every
        lines = self._lines(task._docker_id)
        done = self._shipped.get(task.id, 0)
        if len(lines) <= done:
            return
        backend = logs_backends[account][region]
        group, stream = target
        if group not in backend.groups:
            return
        with contextlib.suppress(Exception):  # moto: the stream exists already
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [_event(line) for line in lines[done:]])
        self._shipped[task.id] = len(lines)

    def _lines(self, docker_id: str) -> list[str]:
        try:
            raw = self._client.containers.get(docker_id).logs(timestamps=True)
        except docker.errors.APIError:
            return []
        return [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]


def _event(line: str) -> dict[str, Any]:
    stamp, _, message = line.partition(" ")
    try:
        moment = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
        millis = int(moment.timestamp() * 1000)
    except ValueError:
        millis, message = int(datetime.now().timestamp() * 1000), line
    return {"timestamp": millis, "message": message}
