"""Rows 8 and 9 of the fault matrix: a corrupted provider mirror, a Checkov that hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from loono_infra.clients.checkov import TIMEOUT_ENV
from loono_infra.clients.checkov_daemon import DAEMON_ENV
from loono_infra.core.providers import prepare_provider
from tests.conftest import commit_all
from tests.faults.conftest import Sandboxed

pytestmark = pytest.mark.integration


def _plan_files(root: Path) -> list[Path]:
    return list((root / ".loono").rglob("plan.tfplan"))


def test_a_corrupted_provider_mirror_is_refused_by_its_checksum(sandboxed: Sandboxed) -> None:
    root = sandboxed.checkout.root
    supply = prepare_provider(root / ".loono" / "tooling")
    mirrored = next(supply.mirror_dir.rglob("*.zip"))
    data = bytearray(mirrored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped
    mirrored.write_bytes(bytes(data))
    refused = sandboxed.checkout.run("plan")
    assert refused.returncode == 1, refused.stderr
    assert "checksum" in refused.stderr.lower(), refused.stderr
    assert "Traceback" not in refused.stderr
    assert not _plan_files(root)  # nothing planned
    assert sandboxed.vpcs() == 0


def test_a_checkov_that_hangs_refuses_the_plan_within_the_timeout(
        sandboxed: Sandboxed, monkeypatch: pytest.MonkeyPatch) -> None:
    root = sandboxed.checkout.root
    (root / "policies" / "sleeps.py").write_text(
        "import time\ntime.sleep(600)\n", encoding="utf-8")
    commit_all(root, "a policy that hangs Checkov")  # the gate judges with committed rules
    monkeypatch.setenv(TIMEOUT_ENV, "20")
    monkeypatch.setenv(DAEMON_ENV, "off")  # the plan's own worker hangs, as on a CI runner
    refused = sandboxed.checkout.run("plan", timeout=300)
    assert refused.returncode == 3, refused.stderr + refused.stdout
    assert "Checkov timed out after 20 s" in refused.stdout + refused.stderr
    applied = sandboxed.checkout.run("apply")
    assert applied.returncode != 0 and sandboxed.vpcs() == 0  # a refused plan is never applied
