"""Rows 5, 6 and 12 of the fault matrix: two runs of one environment, and a plan gone stale."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from loono_infra.sandbox.control import start_sandbox, stop_sandbox
from tests.faults.conftest import Sandboxed, sandbox_clients, second_checkout, wait_until

pytestmark = pytest.mark.integration
HOLDER = re.compile(r"locked by (\S+) \((Apply|Plan), \d+ min \d+ s ago\), lock ID [0-9a-f-]{36}")


def test_two_applies_from_two_checkouts_exactly_one_applies(sandboxed: Sandboxed,
                                                           tmp_path: Path) -> None:
    first = sandboxed.checkout
    assert first.run("plan").returncode == 2  # (its first plan makes the sandbox's password)
    second = second_checkout(first.root, tmp_path / "colleague")
    planned = second.run("plan")
    assert planned.returncode == 2, planned.stderr
    runs = [first.start("apply"), second.start("apply")]
    outcomes = [(run.returncode, stderr) for run in runs
                for _, stderr in [run.communicate(timeout=600)]]
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 4], [0, 1]), outcomes
    refused = next(stderr for code, stderr in outcomes if code != 0)
    # the loser is refused by the lock (naming the holder) or, if it came second, by
    # Terraform's own check that its saved plan is stale: never both applied
    assert HOLDER.search(refused) or "stale" in refused.lower(), refused
    assert sandboxed.vpcs() == 1, "LOST: both applied"
    for checkout in (first, second):
        again = checkout.run("plan", "--json")
        assert again.returncode == 0, again.stderr  # one apply made everything, once


def test_a_plan_while_an_apply_runs_is_refused_naming_the_holder(sandboxed: Sandboxed,
                                                                 tmp_path: Path) -> None:
    first = sandboxed.checkout
    assert first.run("plan").returncode == 2
    colleague = second_checkout(first.root, tmp_path / "colleague")
    saved = next((first.root / ".loono").rglob("plan.tfplan")).read_bytes()
    apply = first.start("apply")
    wait_until(lambda: sandboxed.vpcs() >= 1, 180, "the apply under way")
    refused = colleague.run("plan")
    assert refused.returncode == 4, refused.stderr
    assert HOLDER.search(refused.stderr), refused.stderr
    assert "(Apply," in refused.stderr
    _, stderr = apply.communicate(timeout=600)
    assert apply.returncode == 0, stderr  # the running apply used its saved plan, untouched
    assert saved  # it was there to apply; a plan in another checkout never wrote over it
    waited = colleague.run("plan", "--json", "--lock-timeout", "60")
    assert waited.returncode == 0, waited.stderr


def test_a_sandbox_restarted_between_plan_and_apply_refuses_the_stale_plan(
        sandboxed: Sandboxed) -> None:
    checkout = sandboxed.checkout
    assert checkout.run("plan").returncode == 2
    assert checkout.run("apply").returncode == 0
    changed = checkout.root / "environments" / "sandbox.toml"
    changed.write_text(changed.read_text().replace('Project = "loono"', 'Project = "loono2"'))
    assert checkout.run("plan").returncode == 2
    stop_sandbox(checkout.root)
    start_sandbox(checkout.root, ttl_seconds=600)  # state and resources gone
    time.sleep(1)
    stale = checkout.run("apply")
    assert stale.returncode == 1, stale.stderr
    assert "the sandbox was restarted since this plan was made" in stale.stderr
    assert "re-plan: loono-infra plan --env sandbox" in stale.stderr
    restarted = Sandboxed(checkout, sandbox_clients(checkout.root))
    assert restarted.vpcs() == 0  # nothing applied from the stale plan
    replan = checkout.run("plan", "--json")
    assert replan.returncode == 2 and json.loads(replan.stdout)["summary"]["add"] > 0
