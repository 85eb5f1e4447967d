"""The trusted revision: what decides a gate is read from git, never from the change judged.

CODEOWNERS, `policies/` (the custom checks, Python included, and `enforcement.toml`) and the
gate sections of an environment's settings (`ownership`, `policy`) are read with git from a
revision the change under judgment cannot edit: in a pull request the base branch's tip (the
merge base with it), on a push to main the commit before the push, locally `HEAD` (committed
files; the working tree never decides) unless `--base REV` says otherwise.

A change that touches any of them is an owned change: the base CODEOWNERS names who approves it,
and only once they have do the change's own rules (read from its HEAD commit) judge it.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.core.errors import LoonoError
from loono_infra.core.files import exclusive_lock
from loono_infra.core.settings import Settings
from loono_infra.core.work_areas import WORK_AREAS, committed_work_areas
from loono_infra.core.workspace import Project
from loono_infra.gates.owners.codeowners import SEARCH_ORDER

BASE_ENV = "LOONO_GIT_BASE"
GATE_SECTIONS = ("ownership", "policy")
POLICIES = "policies"


class TrustError(LoonoError):
    """The trusted revision cannot be read: the gates refuse."""


@dataclass(frozen=True)
class TrustedRules:
    """The gate inputs of one revision: CODEOWNERS, the policies folder, the gate settings."""

    revision: str  # as named (HEAD, origin/main, a sha)
    commit: str  # the commit it resolved to
    codeowners_path: str | None
    codeowners_text: str
    policies_dir: Path  # the revision's policies/, laid out under .loono/trusted/<commit>/

    def describe(self) -> str:
        return f"rules of {self.revision} ({self.commit[:12]})"


@dataclass(frozen=True)
class Rules:
    """What judges a plan: the trusted revision's rules and the settings' gate sections."""

    settings: Settings  # the change's settings with the trusted gate sections
    trusted: TrustedRules | None
    base: str  # files changed since this revision are the change's own
    note: str  # which revision judged, and why
    problem: str | None = None  # why no trusted rules could be read: the gates refuse
    base_commit: str = ""  # what base and HEAD resolved to ("" when no rules could be read)
    head_commit: str = ""


def base_revision(explicit: str | None) -> str:
    """--base REV, else $LOONO_GIT_BASE (set by the workflows), else HEAD."""
    return explicit or os.environ.get(BASE_ENV) or "HEAD"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False,
                          timeout=60)


def resolve(root: Path, revision: str) -> str:
    """The commit a revision names; a TrustError when git cannot say."""
    completed = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if completed.returncode != 0:
        raise TrustError(f"the trusted revision {revision!r} cannot be read with git in {root}: "
                         "the gates judge only with rules from a committed revision")
    return completed.stdout.decode().strip()


def file_at(root: Path, commit: str, path: str) -> str | None:
    """A file's text at a commit, or None when the commit has no such file."""
    completed = _git(root, "show", f"{commit}:{path}")
    return completed.stdout.decode("utf-8") if completed.returncode == 0 else None


def _policies_at(project: Project, commit: str) -> Path:
    """The commit's policies/ folder, extracted once under .loono/trusted/<commit>/."""
    destination = project.work_area / "trusted" / commit
    done = destination / ".complete"
    with exclusive_lock(project.work_area / "trusted" / ".lock", 60, str(destination)):
        if not done.is_file():
            archive = _git(project.root, "archive", "--format=tar", commit, POLICIES)
            if archive.returncode != 0:
                raise TrustError(f"{POLICIES}/ cannot be read at {commit[:12]}: "
                                 f"{archive.stderr.decode(errors='replace').strip()}")
            destination.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(destination, filter="data")
            done.touch()
    return destination / POLICIES


def require_no_committed_work_area(root: Path) -> None:
    """A checkout that commits the work area (a saved plan record with its decisions, a cache
    of trusted policies, a Checkov) could answer for the gates: refused. Where git cannot list
    them, resolving the trusted revision refuses next."""
    committed = committed_work_areas(root) or []
    if committed:
        raise TrustError(f"{committed[0]} (and {len(committed) - 1} more) is committed under "
                         f"{', '.join(WORK_AREAS)}: the gates never read what a change commits "
                         "there")


def rules_at(project: Project, revision: str) -> TrustedRules:
    """Every gate input as the revision holds it."""
    require_no_committed_work_area(project.root)
    commit = resolve(project.root, revision)
    for path in SEARCH_ORDER:
        text = file_at(project.root, commit, path)
        if text is not None:
            return TrustedRules(revision, commit, path, text, _policies_at(project, commit))
    return TrustedRules(revision, commit, None, "", _policies_at(project, commit))


def gate_sections(project: Project, commit: str, settings_file: str) -> dict[str, Any]:
    """The ownership and policy tables of a settings file at a commit (empty when absent)."""
    text = file_at(project.root, commit, settings_file)
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TrustError(f"{settings_file} at {commit[:12]} is not valid TOML: {error}") from None
    return {name: data[name] for name in GATE_SECTIONS if name in data}


def settings_file_of(project: Project, settings: Settings) -> str:
    """The settings file's path inside the project (what git and CODEOWNERS call it)."""
    source = settings.source
    if source is not None and source.resolve().is_relative_to(project.root.resolve()):
        return str(source.resolve().relative_to(project.root.resolve()))
    return f"environments/{settings.environment}.toml"


def judged_settings(settings: Settings, sections: dict[str, Any]) -> Settings:
    """The change's settings with the gate sections the trusted revision holds."""
    data = settings.model_dump(mode="python")
    for name in GATE_SECTIONS:
        data.pop(name, None)
        if name in sections:
            data[name] = sections[name]
    judged = Settings.model_validate(data)
    judged._source = settings.source
    return judged


def gate_files_changed(project: Project, base_commit: str, head_commit: str,
                       settings_file: str) -> list[str]:
    """Which gate inputs differ between the trusted revision and the change's HEAD."""
    changed = []
    for path in SEARCH_ORDER:
        if file_at(project.root, base_commit, path) != file_at(project.root, head_commit, path):
            changed.append(path)
    diff = _git(project.root, "diff", "--name-only", base_commit, head_commit, "--", POLICIES)
    changed += [line for line in diff.stdout.decode().splitlines() if line]
    if (gate_sections(project, base_commit, settings_file)
            != gate_sections(project, head_commit, settings_file)):
        changed.append(settings_file)
    return changed
