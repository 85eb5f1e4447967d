"""A scratch copy of the project with a sandbox of its own, for benchmarks."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loono_infra.sandbox.control import start_sandbox, stop_sandbox

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ("terraform", "environments", "policies", ".github")


MIN_ROUNDS = 5


def rounds_argument(default: int) -> int:
    """`--rounds N` from the command line; medians need at least MIN_ROUNDS."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=default)
    return max(MIN_ROUNDS, parser.parse_args().rounds)


def _commit(project: Path) -> None:
    (project / ".gitignore").write_text(".loono/\n", encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=bench@loono.invalid", "commit", "-q",
                  "-m", "scratch"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


@contextmanager
def scratch_project() -> Iterator[Path]:
    """Copies the project into a temporary folder, runs its sandbox, removes both after."""
    scratch = Path(tempfile.mkdtemp(prefix="loono-bench-"))
    project = scratch / "project"
    for name in PROJECT_PARTS:
        shutil.copytree(ROOT / name, project / name,
                        ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    _commit(project)  # the gates judge with committed rules only
    start_sandbox(project, ttl_seconds=1800)
    try:
        yield project
    finally:
        stop_sandbox(project)
        shutil.rmtree(scratch, ignore_errors=True)
