"""The fault matrix (issue 16): every row injected for real, one line per row, then the bar.

Runs tests/faults (real Terraform, provider, sandbox, Checkov; signals, killed processes,
two checkouts, a restarted sandbox, a corrupted mirror, a hanging Checkov) and reads each
row's outcome from pytest's JUnit report. A row survives when its test passes; it is *lost*
when its test failed on a "LOST:" assertion (state or resources lost or made twice). Rows
without a test yet are printed as such and do not count as survived.

Last line, machine-readable: faults survived=N/M lost=K

Usage: python bench/faults.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = {
    1: ("SIGINT / SIGTERM mid-apply", ["interrupted_apply_saves"]),
    2: ("SIGKILL of everything mid-apply", ["killed_apply_leaves_a_lock"]),
    3: ("the AWS endpoint stops answering", ["endpoint_that_stops_answering"]),
    4: ("throttling and 5xx on 30 % of calls", ["throttling_and_5xx"]),
    5: ("two applies from two checkouts", ["two_applies_from_two_checkouts"]),
    6: ("plan while an apply runs", ["plan_while_an_apply_runs"]),
    7: ("the disk fills while saving the plan", ["full_disk_while_saving"]),
    8: ("a corrupted provider mirror", ["corrupted_provider_mirror"]),
    9: ("Checkov hangs", ["checkov_that_hangs"]),
    10: ("GitHub down during report and apply", ["github_down_the_report", "api_down_refuses"]),
    11: ("deploy SIGKILLed after UpdateService", ["deploy_killed_after_update_service"]),
    12: ("the sandbox restarted between plan and apply", ["sandbox_restarted_between"]),
}


def _outcomes(report: Path) -> dict[str, str]:
    """Test name -> passed / failed / LOST."""
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        problem = failure if failure is not None else error
        text = "" if problem is None else (problem.get("message", "") + (problem.text or ""))
        outcomes[case.get("name", "")] = ("passed" if problem is None
                                          else "LOST" if "LOST:" in text else "failed")
    return outcomes


def _row_outcome(fragments: list[str], outcomes: dict[str, str]) -> str:
    if not fragments:
        return "no test yet"
    mine = [o for name, o in outcomes.items() if any(f in name for f in fragments)]
    if not mine:
        return "not run"
    return "LOST" if "LOST" in mine else "survived" if set(mine) == {"passed"} else "failed"


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faults-") as scratch:
        report = Path(scratch) / "faults.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--basetemp={scratch}/tmp", f"--junitxml={report}",
                        str(ROOT / "tests" / "faults"),
                        str(ROOT / "tests" / "integration" / "test_approvals.py") +
                        "::test_api_down_refuses"], cwd=ROOT, check=False)
        outcomes = _outcomes(report)
    results = {row: _row_outcome(fragments, outcomes) for row, (_, fragments) in ROWS.items()}
    for row, (fault, _) in ROWS.items():
        print(f"row {row:2d}  {fault:45s} {results[row]}")
    survived = sum(result == "survived" for result in results.values())
    lost = sum(result == "LOST" for result in results.values())
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"faults survived={survived}/{len(ROWS)} lost={lost}")
    return 0 if survived == len(ROWS) and lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
