"""Which locks `unlock` releases: only the named one, and a young one only with --force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loono_infra.core.errors import LoonoError
from loono_infra.core.terraform.locks import LockInfo
from loono_infra.flow.unlocking import _releasable

ID = "3f1c2b7e-9d5a-4e0b-8c61-0a2b4c6d8e1f"


def _held(minutes: float) -> LockInfo:
    return LockInfo(ID, "runner@host", "Apply", datetime.now(UTC) - timedelta(minutes=minutes))


def test_an_old_lock_with_its_id_is_released() -> None:
    assert _releasable("production", _held(20), ID, force=False).lock_id == ID


@pytest.mark.parametrize(("minutes", "wanted", "said"), [
    (None, ID, "is not locked"),
    (20, "another-id", f"under another lock ID, {ID}"),
    (2, ID, "is 2 min old: its run may still be going on"),
])
def test_refused(minutes: float | None, wanted: str, said: str) -> None:
    held = None if minutes is None else _held(minutes)  # made now, not at collection
    with pytest.raises(LoonoError, match=said):
        _releasable("production", held, wanted, force=False)


def test_force_releases_a_young_lock_but_never_another_one() -> None:
    assert _releasable("production", _held(1), ID, force=True).lock_id == ID
    with pytest.raises(LoonoError, match="another lock ID"):
        _releasable("production", _held(1), "another-id", force=True)
