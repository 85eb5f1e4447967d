"""How a deploy shows itself on a terminal: steps as lines, one progress bar per pushed layer."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from loono_infra.deploy import DeployHooks, DeployRecord
from loono_infra.deploy.status import ServiceStatus


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


def deploy_hooks(console: Console, bars: PushBars) -> DeployHooks:
    def step(message: str) -> None:
        bars.close()
        console.print(f"[bold]->[/] {message}", soft_wrap=True, highlight=False)

    return DeployHooks(step=step, push=bars)


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
