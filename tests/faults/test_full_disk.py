"""Row 7 of the fault matrix: the disk fills while the plan is being saved."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loono_infra.core.plans import PLAN_RECORD, read_record
from tests.faults.conftest import Sandboxed

pytestmark = pytest.mark.integration
ROOM_LEFT = 48 * 1024  # less than a plan file of the whole stack
PARTIAL = re.compile(r"^\.[^/]+\.[A-Za-z0-9_]{8}$")


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
    assert _partial_files(small_disk) == []  # and no half-written file of ours left behind
    refused = checkout.run("apply")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert sandboxed.vpcs() == 0, "LOST: a plan saved on a full disk was applied"
    filler.unlink()
    freed = checkout.run("plan")  # room again: the plan is saved with its record, and the
    assert freed.returncode == 2, freed.stderr  # work goes on (applying the whole stack's plan,
    assert read_record(small_disk).environment == "sandbox"  # minutes, is the lifecycle tests')
    assert _partial_files(small_disk) == []


def _partial_files(workdir: Path) -> list[str]:
    """Temporary files of write_atomically (`.<name>.<8 random characters>`) left in workdir."""
    return [path.name for path in workdir.iterdir() if PARTIAL.match(path.name)]
