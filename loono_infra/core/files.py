"""File helpers shared by modules: atomic writes and an inter-process lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loono_infra.core.errors import LoonoError


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileWriteError(LoonoError, OSError):
    """A file could not be written (a full disk, a quota): named, and nothing half written.
    Still an OSError, so code that tolerates a failed cache write goes on doing so."""


def write_atomically(path: Path, data: str | bytes, durable: bool = True) -> None:
    """Writes a file so readers see the old or the new content, never a part (also concurrently).
    A write that fails (disk full) leaves the old content and raises FileWriteError. Durable,
    it is on the disk when this returns (fsync); a file made again by every run need not be
    (after a power cut it may be empty: its readers treat that as unreadable)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(partial, path)
    except OSError as error:
        Path(partial).unlink(missing_ok=True)
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}; the previous "
                             "content is unchanged") from error
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


@contextmanager
def exclusive_lock(lock_file: Path, wait_seconds: float, holder: str) -> Iterator[None]:
    """Holds an flock on lock_file; waits up to wait_seconds, then refuses naming holder."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LoonoError(f"{holder}: another loono-infra run holds it") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
