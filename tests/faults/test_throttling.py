"""Row 4 of the fault matrix: AWS throttles and fails 30 % of calls for a while."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Sandboxed
from tests.faults.flaky_proxy import FlakyProxy

pytestmark = pytest.mark.integration
SHARE = 0.3


@pytest.fixture
def flaky(sandboxed: Sandboxed) -> Iterator[FlakyProxy]:
    """Every AWS call of the checkout goes through the proxy (the sandbox's advertised URL)."""
    state = sandboxed.checkout.root / ".loono" / "sandbox" / "server.json"
    original = state.read_text(encoding="utf-8")
    data = json.loads(original)
    proxy = FlakyProxy(data["url"], SHARE).start()
    state.write_text(json.dumps(data | {"url": proxy.url}), encoding="utf-8")
    try:
        yield proxy
    finally:
        state.write_text(original, encoding="utf-8")
        proxy.stop()


def test_throttling_and_5xx_on_a_third_of_the_calls_apply_completes_or_fails_plainly(
        sandboxed: Sandboxed, flaky: FlakyProxy) -> None:
    checkout = sandboxed.checkout
    planned = checkout.run("plan")
    applied = checkout.run("apply") if planned.returncode == 2 else planned
    assert flaky.faults > 10, (flaky.faults, planned.stderr[-3000:])  # the faults were there
    assert "Traceback" not in planned.stderr + applied.stderr
    flaky.enabled = False
    if applied.returncode != 0:  # a clear message naming what failed, never a corrupt state
        assert applied.stderr.strip(), "a failure without a message"
        assert checkout.run("plan").returncode == 2
        assert checkout.run("apply").returncode == 0
    clean = checkout.run("plan", "--json")
    assert clean.returncode == 0, f"LOST: changes left after the faults: {clean.stderr}"
    assert sandboxed.vpcs() == 1, "LOST: a resource made twice under retries"
