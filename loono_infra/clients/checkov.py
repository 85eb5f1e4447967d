"""Running Checkov as a subprocess (its own virtualenv) and reading its JSON. Fails closed.

Checkov pins boto3 exactly and is not meant to be imported, so `make setup`
installs it into .venv-checkov and loono-infra runs its executable. Anything
but a clean JSON report (a crash, a timeout, no resources, parsing errors) is a
CheckovError, which the gate turns into a refusal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.core.errors import LoonoError
from loono_infra.core.files import write_atomically

CHECKOV_ENV = "LOONO_CHECKOV"
TIMEOUT_ENV = "LOONO_CHECKOV_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 180.0
_CHECK_ID = re.compile(r"\bCKV2?_[A-Z0-9]+_\d+\b")
NO_REASON = "No comment provided"
_CACHE_FORMAT = b"loono-checkov-cache-2"  # bump when what is cached changes shape or meaning


class CheckovError(LoonoError):
    """Checkov did not give a usable verdict (it crashed, timed out, or saw nothing)."""


@dataclass(frozen=True)
class CheckResult:
    """One check result from Checkov's JSON."""

    check_id: str
    check_name: str
    resource: str
    outcome: str  # "passed", "failed", "skipped"
    file: str | None
    lines: tuple[int, int] | None
    skip_reason: str | None = None


@dataclass(frozen=True)
class Scan:
    """What one Checkov run reported."""

    results: tuple[CheckResult, ...]
    resource_count: int


def find_checkov(project_dir: Path) -> Path:
    """$LOONO_CHECKOV, else a .venv-checkov of the project or of this checkout, else PATH's."""
    configured = os.environ.get(CHECKOV_ENV)
    checkout = Path(__file__).resolve().parents[2]
    candidates = [configured] if configured else [
        *(str(folder / ".venv-checkov" / "bin" / "checkov") for folder in (project_dir, checkout)),
        shutil.which("checkov")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise CheckovError("Checkov is not installed (run `make setup`, or set $LOONO_CHECKOV)")


def hcl_args(checkov: Path, modules_dir: Path, policies_dir: Path) -> list[str]:
    """Scan of the Terraform modules (HCL)."""
    return [str(checkov), "-d", str(modules_dir), "--framework", "terraform", "-o", "json",
            "--external-checks-dir", str(policies_dir), "--skip-download"]


def plan_args(checkov: Path, plan_json: Path, policies_dir: Path) -> list[str]:
    """Scan of a (redacted) `show -json` plan document."""
    return [str(checkov), "-f", str(plan_json), "--framework", "terraform_plan", "-o", "json",
            "--external-checks-dir", str(policies_dir), "--skip-download"]


def checkov_environment() -> dict[str, str]:
    # Offline: no guideline download (it prints a traceback without network).
    return {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
            "LOG_LEVEL": "ERROR"}


def checkov_timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_SECONDS))
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS


# One Checkov run: (its command line, executable first; what it scans) -> (exit code, stdout).
Runner = Callable[[list[str], str], tuple[int, str]]


def run_checkov_process(args: list[str], what: str) -> tuple[int, str]:
    """Runs Checkov as a process of its own: its exit code and what it printed (a crash is a
    CheckovError naming the last lines it wrote)."""
    try:
        completed = subprocess.run(args, capture_output=True, text=True,
                                   env=checkov_environment(), timeout=checkov_timeout(),
                                   check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CheckovError(f"Checkov timed out after {checkov_timeout():.0f} s scanning "
                           f"{what}") from None
    except OSError as exc:
        raise CheckovError(f"Checkov could not be started: {exc}") from None
    if completed.returncode not in (0, 1):
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise CheckovError(f"Checkov crashed (exit {completed.returncode}) scanning {what}: "
                           + " | ".join(tail))
    return completed.returncode, completed.stdout


def run_checkov(args: list[str], what: str) -> Scan:
    """Runs Checkov cold and parses its report; any doubt is a CheckovError."""
    return parse_report(run_checkov_process(args, what)[1], what)


def _report_of(stdout: str, what: str) -> dict[str, Any]:
    try:
        raw = json.loads(stdout)
    except ValueError:
        raise CheckovError(f"Checkov printed something that is not JSON scanning {what}") from None
    reports = raw if isinstance(raw, list) else [raw]
    if len(reports) != 1 or not isinstance(reports[0], dict):
        raise CheckovError(f"unexpected Checkov report shape scanning {what}")
    return reports[0]


def parse_report(stdout: str, what: str) -> Scan:
    """Checkov's JSON report -> a Scan; zero resources or parsing errors are refusals."""
    report = _report_of(stdout, what)
    summary = report.get("summary") or report
    if int(summary.get("parsing_errors", 0)):
        raise CheckovError(f"Checkov could not parse {summary['parsing_errors']} file(s) of {what}")
    count = int(summary.get("resource_count", 0))
    if count == 0 or "results" not in report:
        raise CheckovError(f"Checkov scanned no resources in {what}")
    results = report["results"]
    return Scan(tuple(_result(item, outcome) for outcome in ("passed", "failed", "skipped")
                      for item in results.get(f"{outcome}_checks", [])), count)


def _result(item: dict[str, Any], outcome: str) -> CheckResult:
    lines = item.get("file_line_range") or []
    suppress = (item.get("check_result") or {}).get("suppress_comment")
    return CheckResult(
        check_id=str(item["check_id"]), check_name=str(item.get("check_name", "")),
        resource=str(item["resource"]), outcome=outcome, file=item.get("file_path"),
        lines=(int(lines[0]), int(lines[1])) if len(lines) == 2 and lines[1] else None,
        skip_reason=suppress if outcome == "skipped" else None,
    )


def scan_to_json(scan: Scan) -> str:
    """A Scan as JSON (for the verdict cache)."""
    return json.dumps({"resource_count": scan.resource_count,
                       "results": [r.__dict__ for r in scan.results]})


def scan_from_json(text: str) -> Scan:
    """The inverse of scan_to_json."""
    raw = json.loads(text)
    results = tuple(CheckResult(**{**r, "lines": tuple(r["lines"]) if r["lines"] else None})
                    for r in raw["results"])
    return Scan(results, int(raw["resource_count"]))


ScanRunner = Callable[[list[str], str], Scan]  # (Checkov's command line, what it scans)


def cached_scan(cache_dir: Path, key: str, args: list[str], what: str,
                run: ScanRunner = run_checkov) -> Scan:
    """A scan's result, reused when the key (inputs' digest) was scanned before; else run
    (a cold Checkov, or a warm one) scans."""
    entry = cache_entry(cache_dir, key)
    try:
        return scan_from_json(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    scan = run(args, what)
    write_atomically(entry, scan_to_json(scan))
    return scan


def cache_entry(cache_dir: Path, key: str) -> Path:
    """Where the scan of key is cached (it exists once scanned)."""
    return cache_dir / f"{digest_of([_CACHE_FORMAT, key.encode()])}.json"


def digest_of(parts: Iterable[bytes]) -> str:
    """sha256 over several byte strings (each length-prefixed)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def tree_bytes(directory: Path, patterns: tuple[str, ...]) -> list[bytes]:
    """Names and contents of the files below directory matching patterns, in a stable order."""
    files = sorted({p for pattern in patterns for p in directory.rglob(pattern) if p.is_file()})
    return [part for p in files for part in (str(p.relative_to(directory)).encode(),
                                             p.read_bytes())]


def checkov_version(checkov: Path) -> str | None:
    """Checkov's version from its virtualenv's package metadata (no process started), if the
    executable sits in one."""
    venv = checkov.resolve().parent.parent
    found = sorted(venv.glob("lib/python*/site-packages/checkov-*.dist-info"))
    if not found:
        return None
    return found[-1].name.removeprefix("checkov-").removesuffix(".dist-info")


def checkov_identity(checkov: Path) -> str:
    """What Checkov's verdicts depend on: its version (the same on every fresh CI runner, so a
    restored cache serves), else the executable's path and modification time."""
    version = checkov_version(checkov)
    if version is not None:
        return f"checkov {version}"
    stat = checkov.stat()
    return f"{checkov.resolve()} {stat.st_mtime_ns}"


def known_check_ids(checkov: Path, cache_dir: Path, policies_dir: Path,
                    run: Runner | None = None) -> frozenset[str]:
    """Every check id Checkov knows (built-in and ours), cached per Checkov version and
    policies (computed once, then read: `checkov --list` takes seconds); run (a cold
    process unless given a warm Checkov's) lists them."""
    run = run or run_checkov_process
    entry = check_list_entry(checkov, cache_dir, policies_dir)
    try:
        return frozenset(json.loads(entry.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    code, printed = run([str(checkov), "--list", "--framework", "terraform", "terraform_plan"],
                        "its list of checks")
    ids = listed_check_ids(printed)
    if code != 0 or not ids:
        raise CheckovError(f"Checkov crashed listing its checks (exit {code})")
    ids |= own_check_ids(policies_dir)
    write_atomically(entry, json.dumps(sorted(ids)))
    return ids


def listed_check_ids(printed: str) -> frozenset[str]:
    """The check ids in what `checkov --list` printed (a table, or one id per line)."""
    return frozenset(_CHECK_ID.findall(printed))


def check_list_entry(checkov: Path, cache_dir: Path, policies_dir: Path) -> Path:
    """Where the list of check ids is cached, per Checkov version and policies."""
    key = digest_of([_CACHE_FORMAT, checkov_identity(checkov).encode(),
                     *tree_bytes(policies_dir, ("*.py", "*.yaml"))])
    return cache_dir / f"ids-{key}.json"


def own_check_ids(policies_dir: Path) -> frozenset[str]:
    """The ids our policies declare (YAML `id:` and Python `id="..."`)."""
    declared = re.compile(r"""^\s*id\s*[:=]\s*["']?(CKV2?_[A-Z0-9]+_\d+)""", re.MULTILINE)
    return frozenset(match for pattern in ("*.yaml", "*.py")
                     for path in policies_dir.glob(pattern)
                     for match in declared.findall(path.read_text(encoding="utf-8")))
