"""What the checkout says about a change: its CODEOWNERS file and the files it changed (git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from loono_infra.core.errors import LoonoError
from loono_infra.gates.owners.codeowners import SEARCH_ORDER


def find_codeowners(root: Path) -> Path | None:
    """The CODEOWNERS file GitHub would use: .github/, then the root, then docs/."""
    return next((root / name for name in SEARCH_ORDER if (root / name).is_file()), None)


def changed_files(repository: Path, base: str, head: str = "HEAD") -> list[str]:
    """Files changed between base and head (merge-base diff); a missing base is an error."""
    command = ["git", "-C", str(repository), "diff", "--name-only", f"{base}...{head}"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise LoonoError(f"git cannot compare {base}...{head}: {completed.stderr.strip()}")
    return [line for line in completed.stdout.splitlines() if line]
