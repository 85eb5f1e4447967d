"""Row 7 of the fault matrix: the disk fills while the plan is being saved."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loono_infra.core.plans import PLAN_RECORD, read_record, require_unchanged
from tests.faults.conftest import Sandboxed

pytestmark = pytest.mark.integration
ROOM_LEFT = 48 * 1024  # less than a plan file of the whole stack


@pytest.fixture
def small_disk(sandboxed: Sandboxed) -> Iterator[Path]:
    """The environment's work directory on a tmpfs of its own (8 MB)."""
    workdir = sandboxed.checkout.root / ".loono" / "sandbox" / "sandbox"
    workdir.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(workdir)],
                   check=True)
    try:
        yield workdir
    finally:
        subprocess.run(["umount", "-l", str(workdir)], check=False)


def _fill(workdir: Path) -> Path:
    stats = os.statvfs(workdir)
    filler = workdir / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - ROOM_LEFT))
    return filler


def test_a_full_disk_while_saving_the_plan_leaves_nothing_apply_would_accept(
        sandboxed: Sandboxed, small_disk: Path) -> None:
    checkout = sandboxed.checkout
    first = checkout.run("plan")
    assert first.returncode == 2, first.stderr
    settings = checkout.root / "environments" / "sandbox.toml"
    settings.write_text(settings.read_text().replace('Project = "loono"', 'Project = "full"'))
    filler = _fill(small_disk)
    full = checkout.run("plan")
    assert full.returncode == 1, full.stderr
    assert "No space left on device" in full.stderr or "no space" in full.stderr.lower(), \
        full.stderr
    assert "Traceback" not in full.stderr
    assert not (small_disk / PLAN_RECORD).exists()  # no record: apply accepts no plan
    refused = checkout.run("apply")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert sandboxed.vpcs() == 0, "LOST: a plan saved on a full disk was applied"
    filler.unlink()
    freed = checkout.run("plan")  # room again: the plan is saved whole, with its record
    assert freed.returncode == 2, freed.stderr
    saved = read_record(small_disk)  # what apply checks first: the file it names, unchanged
    require_unchanged(saved)
    assert saved.decision is not None and saved.decision.passed and saved.has_changes
    # (applying a saved plan of the whole stack, minutes, is the lifecycle tests' part)
