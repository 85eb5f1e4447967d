"""Rows 5, 6 and 12 of the fault matrix: two runs of one environment, and a plan gone stale."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from loono_infra.sandbox.control import start_sandbox, stop_sandbox
from tests.faults.conftest import Sandboxed, second_checkout, wait_until
from tests.integration.conftest import sandbox_clients

pytestmark = pytest.mark.integration
HOLDER = re.compile(r"locked by (\S+) \((Apply|Plan), \d+ min \d+ s ago\), lock ID [0-9a-f-]{36}")


def test_two_applies_race_exactly_one_applies_and_a_plan_meanwhile_names_the_holder(
        sandboxed: Sandboxed, tmp_path: Path) -> None:
    """Rows 5 and 6 on one apply (each full apply of the stack costs minutes): two checkouts
    apply at once, and a third checkout's plan while the winner applies is refused by name."""
    first = sandboxed.checkout
    assert first.run("plan").returncode == 2  # (its first plan makes the sandbox's password)
    second = second_checkout(first.root, tmp_path / "colleague")
    third = second_checkout(first.root, tmp_path / "onlooker")
    for checkout in (second, third):  # (the onlooker's too: its init is done before the race)
        planned = checkout.run("plan")
        assert planned.returncode == 2, planned.stderr
    runs = [first.start("apply"), second.start("apply")]
    wait_until(lambda: sandboxed.vpcs() >= 1, 180, "the winning apply under way")
    meanwhile = third.run("plan")
    still_applying = any(run.poll() is None for run in runs)
    outcomes = [(run.returncode, stderr) for run in runs
                for _, stderr in [run.communicate(timeout=600)]]
    assert meanwhile.returncode == 4, (still_applying, meanwhile.stderr)
    assert HOLDER.search(meanwhile.stderr) and "(Apply," in meanwhile.stderr, meanwhile.stderr
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 4], [0, 1]), outcomes
    refused = next(stderr for code, stderr in outcomes if code != 0)
    # the loser is refused by the lock (naming the holder) or, if it came second, by
    # Terraform's own check that its saved plan is stale: never both applied
    assert HOLDER.search(refused) or "stale" in refused.lower(), refused
    assert sandboxed.vpcs() == 1, "LOST: both applied"
    for checkout in (first, second, third):
        again = checkout.run("plan", "--json")
        assert again.returncode == 0, again.stderr  # one apply made everything, once


def test_a_sandbox_restarted_between_plan_and_apply_refuses_the_stale_plan(
        sandboxed: Sandboxed) -> None:
    checkout = sandboxed.checkout
    assert checkout.run("plan").returncode == 2
    stop_sandbox(checkout.root)
    start_sandbox(checkout.root, ttl_seconds=600)  # a new sandbox: empty, as the old one was
    time.sleep(1)
    # the plan names the old sandbox's endpoint: our check refuses it first, with the reason
    stale = checkout.run("apply")
    assert stale.returncode == 1, stale.stderr
    assert "the sandbox was restarted since this plan was made" in stale.stderr
    assert "re-plan: loono-infra plan --env sandbox" in stale.stderr
    restarted = Sandboxed(checkout, sandbox_clients(checkout.root))
    assert restarted.vpcs() == 0  # nothing applied from the stale plan
    replan = checkout.run("plan", "--json")
    assert replan.returncode == 2 and json.loads(replan.stdout)["summary"]["add"] > 0
