"""The work areas a checkout must never commit: what they hold (a saved plan record with its
decisions, a cache of trusted policies, a Checkov, a Python) would answer for the gates.

Cheap to import: the CLI's client asks before it starts anything of the checkout's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

WORK_AREAS = (".loono", ".venv-checkov", ".venv")


def committed_work_areas(root: Path) -> list[str] | None:
    """The files git's HEAD in root commits under the work areas; None where git cannot list
    them (no repository, no commit)."""
    completed = subprocess.run(
        ["git", "-C", str(root), "ls-tree", "-r", "--name-only", "HEAD", "--", *WORK_AREAS],
        capture_output=True, check=False, timeout=60)
    return completed.stdout.decode().split() if completed.returncode == 0 else None
