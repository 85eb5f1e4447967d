"""How a deploy shows itself: steps as lines, one progress bar per pushed layer (on a terminal),
and the rollout while it is awaited (a live status line on a terminal, timed lines in CI)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.status import Status

from loono_infra.deploy import DeployHooks, DeployRecord
from loono_infra.deploy.progress import RolloutProgress
from loono_infra.deploy.status import ServiceStatus

# In a CI log an unchanged rollout is repeated this often, so a long wait never looks hung.
HEARTBEAT_SECONDS = 30.0


class PushBars:
    """Feeds the push stream into rich bars (only on a terminal; plain lines otherwise)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Progress | None = None
        self._layers: dict[str, TaskID] = {}

    def __call__(self, item: dict[str, Any]) -> None:
        layer, status = item.get("id"), str(item.get("status", ""))
        if not layer or not self._console.is_terminal:
            return
        progress = self._start()
        if layer not in self._layers:
            self._layers[layer] = progress.add_task(layer, total=None)
        detail = item.get("progressDetail") or {}
        progress.update(self._layers[layer], description=f"{layer} {status}",
                        completed=detail.get("current"), total=detail.get("total"))

    def _start(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      DownloadColumn(), console=self._console, transient=True)
            self._progress.start()
        return self._progress

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class RolloutLines:
    """The rollout while a deploy waits: each new service event, and the state line (a live
    status on a terminal; in CI a timed line when it changes, or every HEARTBEAT_SECONDS)."""

    def __init__(self, console: Console, clock: Any = time.monotonic) -> None:
        self._console = console
        self._clock = clock
        self._status: Status | None = None
        self._last: tuple[str, float] = ("", 0.0)

    def __call__(self, progress: RolloutProgress) -> None:
        for event in progress.events:
            self._print(f"   ECS: {event}")
        line = progress.line()
        if self._console.is_terminal:
            if self._status is None:
                self._status = self._console.status(line)
                self._status.start()
            self._status.update(line)
            return
        shown, when = self._last
        state = line.split(" (", 1)[0]  # without the clock, which always changes
        if state != shown or self._clock() - when >= HEARTBEAT_SECONDS:
            self._last = (state, self._clock())
            self._print(f"{datetime.now():%H:%M:%S} {line}")

    def _print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        self._console.file.flush()

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def deploy_hooks(console: Console, bars: PushBars,
                 rollout: RolloutLines | None = None) -> DeployHooks:
    def step(message: str) -> None:
        bars.close()
        if rollout is not None:
            rollout.close()
        console.print(f"[bold]->[/] {message}", soft_wrap=True, highlight=False)

    return DeployHooks(step=step, push=bars, rollout=rollout)


def print_deploy(console: Console, record: DeployRecord) -> None:
    """The outcome of a successful deploy in a few lines."""
    console.print(f"[bold green]deployed[/] {record.image} to {record.service} in "
                  f"{record.seconds:.1f} s", highlight=False)
    pushed = f"pushed, {record.layers_uploaded} layers uploaded" if record.pushed \
        else "already in the repository, not pushed"
    console.print(f"  image    {record.repository}@{record.digest} ({pushed})", highlight=False)
    console.print(f"  revision {record.task_definition}", highlight=False)
    health = record.health
    console.print(f"  health   {health.get('passes')}/{health.get('required')} healthy answers "
                  f"from {health.get('url')}", highlight=False)
    console.print(f"  API docs {record.post_deploy.get('openapi_url')} valid, required paths "
                  "present", highlight=False)


def print_status(console: Console, status: ServiceStatus) -> None:
    """The service's state in a few lines."""
    colour = "green" if status.healthy else "red"
    console.print(f"[bold]{status.service}[/] ({status.environment}): {status.rollout_state}, "
                  f"{status.running}/{status.desired} running, [{colour}]{status.health}[/]",
                  highlight=False)
    console.print(f"  revision {status.task_definition}", highlight=False)
    console.print(f"  image    {status.image}", highlight=False)
    for deployment in status.deployments:
        console.print(f"  deployment {deployment}", highlight=False)
    if status.deploy_lock:
        console.print(f"  [yellow]deploy lock {status.deploy_lock}[/]", highlight=False)
    for event in status.events[:3]:
        console.print(f"  [dim]{event}[/]", highlight=False, soft_wrap=True)
