"""How long each test file took in a whole run, so pytest-xdist can start the longest first.

With `--dist loadfile` a file runs on one worker, and xdist's own order (most tests first)
left the long fault files (one to three tests, minutes each) to the end: four workers, then
one or two finishing them alone. `tests/durations.json` holds each file's seconds from a whole
run (`make durations`: the suite with a JUnit report, summed per file by
`python -m tests.durations REPORT`). On xdist workers conftest sorts the collection by it,
longest first, and the Makefile keeps that order (`--no-loadscope-reorder`). A missing or
unreadable record only costs time; a renamed or deleted test file fails the record's own unit
test until its entry is removed (by hand, or by `make durations`).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
    """The recorded seconds per file ({} without a readable record of that shape)."""
    try:
        loaded = json.loads(DURATIONS.read_text(encoding="utf-8"))
        return {str(name): float(seconds) for name, seconds in loaded.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def expected_seconds(path: str, recorded: dict[str, float], integration: bool) -> float:
    """How long the file at path will likely take: as recorded, else a guess by its kind."""
    if path in recorded:
        return recorded[path]
    return UNKNOWN_INTEGRATION_SECONDS if integration else 0.0


class Collected(Protocol):
    """What the order needs of a collected test (a pytest.Item has it)."""

    @property
    def nodeid(self) -> str: ...

    def get_closest_marker(self, name: str) -> Any: ...


ItemT = TypeVar("ItemT", bound=Collected)


def file_path(item: Collected) -> str:
    """'tests/unit/test_x.py::test_y[1]' -> 'tests/unit/test_x.py' (xdist's loadfile scope)."""
    return item.nodeid.split("::", 1)[0]


def longest_first(items: Sequence[ItemT], recorded: dict[str, float]) -> list[ItemT]:
    """items with the longest files first (ties by path); each file's tests together, in their
    order."""
    by_file: dict[str, list[ItemT]] = {}
    for item in items:
        by_file.setdefault(file_path(item), []).append(item)
    seconds = {path: expected_seconds(path, recorded, any(
        item.get_closest_marker("integration") for item in in_file))
        for path, in_file in by_file.items()}
    return [item for path in sorted(by_file, key=lambda path: (-seconds[path], path))
            for item in by_file[path]]


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
