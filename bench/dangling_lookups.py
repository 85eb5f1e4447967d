"""The existence lookups of a create plan (flow/dangling.py): one at a time against side by side.

Plans production rehearsed on a scratch sandbox (every resource is a create), then asks AWS,
played by the sandbox behind a proxy that holds each call --latency milliseconds (real AWS
answers in tens of milliseconds; the local sandbox in a few), whether each create already
exists: with one lookup thread, then with flow/dangling.py's LOOKUP_THREADS, alternating.
Last line: `dangling_lookups ratio=<side by side / one at a time, median>`.

Usage: python bench/dangling_lookups.py [--rounds N] (latency: LATENCY_MS below)
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

from _scratch import ROOT, rounds_argument, scratch_project  # bench/_scratch.py

from loono_infra import load_settings, plan
from loono_infra.core.plans import REDACTED_PLAN
from loono_infra.core.terraform.models import PlannedResource, parse_plan_document
from loono_infra.flow import dangling
from loono_infra.flow.targets import aws_endpoint, resolve_target

sys.path.insert(0, str(ROOT))
from tests.faults.flaky_proxy import FlakyProxy

LATENCY_MS = 40


class _SlowProxy(FlakyProxy):
    """Forwards every call after LATENCY_MS, as a far endpoint would answer."""

    def fault(self) -> tuple[int, bytes] | None:
        time.sleep(LATENCY_MS / 1000)
        return None


def _timed(clients: dangling.Clients, resources: list[PlannedResource], threads: int) -> float:
    dangling.LOOKUP_THREADS = threads
    started = time.perf_counter()
    found, problems = dangling.find_dangling(clients, resources)
    elapsed = time.perf_counter() - started
    if found or problems:
        raise SystemExit(f"unexpected lookups: {found} {problems}")
    return elapsed


def main() -> int:
    rounds = rounds_argument(default=5)
    threads = dangling.LOOKUP_THREADS
    with scratch_project() as project:
        settings = load_settings(project / "environments" / "production.toml")
        planned = plan(settings, sandbox=True, refresh=False, policy=False)
        raw = json.loads(Path(planned.workdir, REDACTED_PLAN).read_text(encoding="utf-8"))
        resources = list(parse_plan_document(raw).resources)
        endpoint = aws_endpoint(resolve_target(settings, sandbox=True))
        proxy = _SlowProxy(str(endpoint.url), share=0.0).start()
        try:
            clients = dangling.Clients.ready(dataclasses.replace(endpoint, url=proxy.url))
            asked = sum(r.change.resource_type in dangling.LOOKUPS for r in resources)
            serial, together = [], []
            for _ in range(rounds):
                serial.append(_timed(clients, resources, 1))
                together.append(_timed(clients, resources, threads))
        finally:
            proxy.stop()
    one, side = statistics.median(serial), statistics.median(together)
    print(f"{asked} lookups at {LATENCY_MS} ms: one at a time {one:.3f} s, "
          f"{threads} side by side {side:.3f} s (medians of {rounds})")
    print(f"dangling_lookups ratio={side / one:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
