"""Rows 1 and 2 of the fault matrix: an apply stopped part way, gently and hard."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest

from tests.faults.conftest import ENV, Sandboxed, kill_hard, wait_until

pytestmark = pytest.mark.integration
FIRST_RESOURCES_SECONDS = 180


def _planned_changes(sandboxed: Sandboxed) -> int:
    planned = sandboxed.checkout.run("plan", "--json")
    assert planned.returncode == 2, planned.stderr
    report = json.loads(planned.stdout)
    assert report["decision"]["passed"], report["decision"]
    assert report["dangling"] == []  # nothing made outside the state (apply would refuse)
    return sum(1 for change in report["changes"]
               if change["action"] in ("create", "update", "delete", "replace"))


def _converges(sandboxed: Sandboxed) -> None:
    applied = sandboxed.checkout.run("apply")
    assert applied.returncode == 0, applied.stderr
    again = sandboxed.checkout.run("plan", "--json")
    assert again.returncode == 0, f"LOST: changes left after converging: {again.stderr}"
    assert json.loads(again.stdout)["decision"]["passed"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_apply_saves_what_it_finished_and_a_replan_continues(
        sandboxed: Sandboxed, signum: int) -> None:
    total = _planned_changes(sandboxed)
    apply = sandboxed.checkout.start("apply")
    wait_until(lambda: sandboxed.vpcs() >= 1, FIRST_RESOURCES_SECONDS, "the first resources")
    os.kill(apply.pid, signum)
    _, stderr = apply.communicate(timeout=300)
    assert apply.returncode == 130, stderr
    told = re.search(r"interrupted: (\d+) of (\d+) changes applied", stderr)
    assert told is not None, stderr
    applied = int(told.group(1))
    assert int(told.group(2)) == total and 0 < applied < total
    assert f"Re-plan to continue: loono-infra plan --env {ENV}" in stderr
    assert len(sandboxed.state_resources()) == applied, "LOST: a finished resource not in state"
    remaining = _planned_changes(sandboxed)  # the lock is released: a plan runs at once
    assert remaining == total - applied
    if signum == signal.SIGINT:  # the rest of the apply (minutes) once: SIGTERM's re-plan
        _converges(sandboxed)    # above is the same plan of the same state


def test_a_killed_apply_leaves_a_lock_the_next_plan_names_and_unlock_releases(
        sandboxed: Sandboxed) -> None:
    _planned_changes(sandboxed)
    apply = sandboxed.checkout.start("apply")
    wait_until(lambda: sandboxed.vpcs() >= 1, FIRST_RESOURCES_SECONDS, "the first resources")
    kill_hard(apply)
    refused = sandboxed.checkout.run("plan")
    assert refused.returncode == 4, refused.stderr
    named = re.search(r"locked by (\S+) \(Apply, (\d+) min \d+ s ago\), lock ID ([0-9a-f-]{36})",
                      refused.stderr)
    assert named is not None, refused.stderr
    lock_id = named.group(3)
    assert f"loono-infra unlock --env {ENV} --lock-id {lock_id}" in refused.stderr
    wrong = sandboxed.checkout.run("unlock", "--lock-id", "00000000-0000-0000-0000-000000000000",
                                   "--force")
    assert wrong.returncode == 1 and f"under another lock ID, {lock_id}" in wrong.stderr, \
        wrong.stderr
    young = sandboxed.checkout.run("unlock", "--lock-id", lock_id)
    assert young.returncode == 1 and "its run may still be going on" in young.stderr, young.stderr
    assert sandboxed.checkout.run("plan").returncode == 4  # still held
    released = sandboxed.checkout.run("unlock", "--lock-id", lock_id, "--force")
    assert released.returncode == 0, released.stderr
    assert f"state lock {lock_id}" in released.stdout + released.stderr
    in_state = set(sandboxed.state_resources())
    replan = sandboxed.checkout.run("plan", "--json")
    assert replan.returncode == 2, replan.stderr
    found = [line.split(" ", 1)[0] for line in json.loads(replan.stdout)["dangling"]]
    # what the killed run created but never saved is listed, not made twice
    assert found and not set(found) & in_state, "LOST: a leftover resource was not listed"
    refused = sandboxed.checkout.run("apply")
    assert refused.returncode == 1 and "--adopt" in refused.stderr, refused.stderr
    adopting = sandboxed.checkout.run("plan", "--json", "--adopt")
    assert adopting.returncode == 2, adopting.stderr
    report = json.loads(adopting.stdout)
    assert [line.split(" ", 1)[0] for line in report["adopted"]] == found
    assert report["summary"]["imported"] == len(found) and not report["dangling"]
    assert report["decision"]["passed"]
    vpcs_before = sandboxed.vpcs()
    _converges(sandboxed)
    assert sandboxed.vpcs() == vpcs_before == 1, "LOST: a second VPC was made"
