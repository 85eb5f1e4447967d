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


CHECKOV_CONFIGS = (".checkov.yaml", ".checkov.yml")


def untrusted_gate_files(root: Path) -> list[str]:
    """Files in the checkout that would decide the policy gate instead of the trusted rules:
    anything under .loono/ that git tracks (a checked-in verdict cache would be read as the
    gate's own), and Checkov configuration files (they can skip checks). An error from git is
    one too: the gate cannot tell."""
    command = ["git", "-C", str(root), "ls-files", "--", ".loono"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        return [f"git cannot list the tracked files: {completed.stderr.strip()}"]
    tracked = [f"{line} (tracked by git)" for line in completed.stdout.splitlines() if line]
    return tracked + [f"{config} (a Checkov configuration)" for config in checkov_configs(root)]


def checkov_configs(root: Path) -> list[str]:
    """Checkov configuration files where Checkov reads them: the folder it runs in (the
    project root, or the current one) and the scanned modules."""
    folders = {root, Path.cwd()}
    found = {path for folder in folders for name in CHECKOV_CONFIGS
             if (path := folder / name).is_file()}
    modules = root / "terraform"
    found |= {path for name in CHECKOV_CONFIGS for path in modules.rglob(name)}
    return sorted(str(path) for path in found)
