"""Row 3 of the fault matrix: the AWS endpoint stops answering mid-plan (sandbox paused)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from loono_infra.sandbox.control import require_sandbox
from tests.faults.conftest import Sandboxed

pytestmark = pytest.mark.integration
LIMIT, GRACE = 20, 5


def test_a_plan_against_an_endpoint_that_stops_answering_ends_in_bounded_time(
        sandboxed: Sandboxed) -> None:
    checkout = sandboxed.checkout
    settings = checkout.root / "environments" / "sandbox.toml"
    settings.write_text(settings.read_text() + f"\n[terraform]\ncommand_timeout_seconds = "
                                               f"{LIMIT}\nstop_grace_seconds = {GRACE}\n")
    sandbox = require_sandbox(checkout.root)
    assert checkout.run("plan").returncode == 2  # initialised; the next plan refreshes nothing
    os.kill(sandbox.pid, signal.SIGSTOP)  # the endpoint accepts connections, answers none
    started = time.monotonic()
    plan = checkout.start("plan")
    try:
        _, stderr = plan.communicate(timeout=180)
        elapsed = time.monotonic() - started
    finally:
        os.kill(sandbox.pid, signal.SIGCONT)
    assert plan.returncode == 1, stderr
    # Terraform stopped at its limit, or a lookup of ours gave up on the endpoint: named
    assert f"the AWS endpoint {sandbox.url}" in stderr, stderr
    assert f"Terraform did not finish within {LIMIT} s" in stderr or "did not answer" in stderr
    assert "Traceback" not in stderr
    assert elapsed < 180  # bounded (a command: LIMIT + GRACE; a lookup: 5 x (2 + 10) s)
    again = checkout.run("plan")
    if again.returncode == 4:  # the lock the stopped plan could not release is named
        lock_id = again.stderr.split("lock ID ", 1)[1].split(".", 1)[0]
        assert checkout.run("unlock", "--lock-id", lock_id, "--force").returncode == 0
        again = checkout.run("plan")
    assert again.returncode == 2, again.stderr
