"""Host programs copied into an image built FROM scratch (no base image can be pulled here).

A program is copied with every shared library `ldd` names, each at the path the host has
it, so the image runs the host's own (Debian-packaged) binaries.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from loono_infra.core.errors import SandboxError

_LIBRARY = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")
POSTGRES_ROOT = Path("/usr/lib/postgresql")


def libraries_of(program: Path) -> list[Path]:
    """The shared libraries (and the loader) program needs, as ldd resolves them."""
    try:
        listed = subprocess.run(["ldd", str(program)], capture_output=True, text=True,
                                check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxError(f"cannot list the libraries of {program}: {error}") from error
    if "not found" in listed:
        raise SandboxError(f"{program} misses a library:\n{listed}")
    return [Path(match.group(1)) for match in _LIBRARY.finditer(listed)]


def copy_programs(programs: Iterable[Path], root: Path) -> None:
    """Copies programs and their libraries under root at their host paths (links followed)."""
    for program in programs:
        for path in (program, *libraries_of(program)):
            copy_at_host_path(path, root)


def copy_at_host_path(path: Path, root: Path) -> None:
    """Copies a file or folder under root at the same absolute path."""
    target = root / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, target, dirs_exist_ok=True)
    elif not target.exists():
        shutil.copy2(path, target)


def postgres_bin() -> Path:
    """The bin folder of the newest PostgreSQL Debian installed (package postgresql)."""
    installed = sorted(POSTGRES_ROOT.glob("*/bin/postgres"),
                       key=lambda path: int(path.parent.parent.name))
    if not installed:
        raise SandboxError("PostgreSQL is not installed: apt-get install postgresql")
    return installed[-1].parent
