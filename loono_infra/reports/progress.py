"""Terraform's progress as it happens: a live view on a terminal, timestamped lines elsewhere.

On a terminal (rich Live): a line per resource in flight with its elapsed time, how many of the
run's changes are done, and the whole run's elapsed time. Not on a terminal (CI logs): one
plain line per resource event with the time, written and flushed as it happens, so a GitHub
Actions log shows progress live. Known secrets are scrubbed from every line shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from loono_infra.core.redact import scrub
from loono_infra.core.terraform.events import TerraformEvent

# What a CI log shows of a run: every resource's start, end and failure, Terraform's
# "still creating" ticks, each planned change, the summary and diagnostics.
PLAIN_KINDS = frozenset({"apply_start", "apply_progress", "apply_complete", "apply_errored",
                         "planned_change", "resource_drift", "change_summary", "diagnostic"})
_DONE = frozenset({"apply_complete", "apply_errored"})
_COUNTED = frozenset({"create", "update", "delete", "replace"})  # data source reads are not


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


class ProgressView:
    """Hears TerraformEvents (from Terraform's reading thread) and shows them."""

    def __init__(self, console: Console, what: str, total: int = 0,
                 secrets: Iterable[str] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.what = what
        self.total = total
        self.secrets = [secret for secret in secrets if secret]
        self.clock = clock
        self.started = clock()
        self.in_flight: dict[str, tuple[str, float]] = {}  # address -> (action, started)
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()

    def __call__(self, event: TerraformEvent) -> None:
        with self._lock:
            self._track(event)
            if not self.console.is_terminal and event.kind in PLAIN_KINDS:
                self._print_line(event)

    def _track(self, event: TerraformEvent) -> None:
        if event.address is None:
            return
        if event.kind == "apply_start":
            self.in_flight[event.address] = (event.action or "", self.clock())
        elif event.kind in _DONE:
            self.in_flight.pop(event.address, None)
            counted = event.action in _COUNTED
            self.done += counted
            self.failed += counted and event.kind == "apply_errored"

    def _print_line(self, event: TerraformEvent) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        count = f" [{self.done}/{self.total}]" if self.total and event.kind in _DONE else ""
        line = scrub(f"{stamp} {self.what}: {event.message}{count}", self.secrets)
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self.console.file.flush()

    def render(self) -> Group:
        """The live view: the run's line, then one line per resource in flight."""
        with self._lock:
            now = self.clock()
            of = f"/{self.total}" if self.total else ""
            head = Text(f"{self.what}: {self.done}{of} done"
                        f"{f', {self.failed} failed' if self.failed else ''}, "
                        f"{_elapsed(now - self.started)} elapsed", style="bold")
            lines = [Text(scrub(f"  {action or 'working'} {address}  {_elapsed(now - since)}",
                                self.secrets))
                     for address, (action, since) in sorted(self.in_flight.items())]
        return Group(head, *lines)


class _Renderable:
    """Asks the view for a fresh rendering each time Live refreshes (elapsed times tick)."""

    def __init__(self, view: ProgressView) -> None:
        self.view = view

    def __rich__(self) -> Group:
        return self.view.render()


@contextmanager
def terraform_progress(console: Console, what: str, total: int = 0,
                       secrets: Iterable[str] = ()) -> Iterator[ProgressView]:
    """A ProgressView for one run; on a terminal its live view runs for the with block."""
    view = ProgressView(console, what, total, secrets)
    if not console.is_terminal:
        yield view
        return
    with Live(_Renderable(view), console=console, refresh_per_second=4, transient=True):
        yield view
