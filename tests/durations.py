"""How long each test file took in a whole run, so pytest-xdist can start the longest first.

With `--dist loadfile` a file runs on one worker, and xdist's own order (most tests first)
left the long one-test fault files to the end: four workers, then one worker finishing them
alone. `tests/durations.json` holds each file's seconds from a whole `make test`; conftest
sorts the collection by it (longest first) and the Makefile keeps that order
(`--no-loadscope-reorder`). A stale or missing entry only costs time, never a result.

Refresh it after a run: `python -m tests.durations junit.xml` (see `make durations`).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

DURATIONS = Path(__file__).with_name("durations.json")
# A file not measured yet: an integration file probably applies something; a unit file is quick.
UNKNOWN_INTEGRATION_SECONDS = 60.0


def file_of(classname: str) -> str:
    """'tests.integration.test_deploy' or 'tests.unit.test_x.TestClass' -> 'tests/.../x.py'."""
    parts = classname.split(".")
    while parts and not parts[-1].startswith("test_"):
        parts.pop()
    return "/".join(parts) + ".py"


def seconds_per_file(junit: Path) -> dict[str, float]:
    """Each test file's summed test time from a JUnit XML report (setup and teardown included)."""
    totals: defaultdict[str, float] = defaultdict(float)
    for case in ET.parse(junit).getroot().iter("testcase"):
        totals[file_of(case.get("classname", ""))] += float(case.get("time", "0"))
    return {name: round(seconds, 1) for name, seconds in sorted(totals.items())}


def known_seconds() -> dict[str, float]:
    """The recorded seconds per file ({} without a readable record)."""
    try:
        loaded = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(name): float(seconds) for name, seconds in loaded.items()}


def expected_seconds(path: str, recorded: dict[str, float], integration: bool) -> float:
    """How long the file at path will likely take: as recorded, else a guess by its kind."""
    if path in recorded:
        return recorded[path]
    return UNKNOWN_INTEGRATION_SECONDS if integration else 0.0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.durations JUNIT_XML", file=sys.stderr)
        return 2
    DURATIONS.write_text(json.dumps(seconds_per_file(Path(argv[0])), indent=1) + "\n",
                         encoding="utf-8")
    print(f"wrote {DURATIONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
