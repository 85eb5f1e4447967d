"""The suite's order: each file's measured time, read from a JUnit report (tests/durations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import durations

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
 <testcase classname="tests.faults.test_killed_deploy" name="test_a" time="200.5"/>
 <testcase classname="tests.unit.test_cli" name="test_b" time="0.25"/>
 <testcase classname="tests.unit.test_cli" name="test_c" time="0.5"/>
 <testcase classname="tests.unit.test_props.TestCodeowners" name="test_d" time="1.0"/>
</testsuite></testsuites>
"""


@pytest.mark.parametrize(("classname", "path"), [
    ("tests.integration.test_deploy", "tests/integration/test_deploy.py"),
    ("tests.unit.test_props.TestCodeowners", "tests/unit/test_props.py"),
    ("tests.unit.test_props.TestCodeowners.Inner", "tests/unit/test_props.py"),
])
def test_a_classname_names_its_file(classname: str, path: str) -> None:
    assert durations.file_of(classname) == path


def test_each_file_sums_its_tests(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(REPORT, encoding="utf-8")
    assert durations.seconds_per_file(report) == {
        "tests/faults/test_killed_deploy.py": 200.5, "tests/unit/test_cli.py": 0.8,
        "tests/unit/test_props.py": 1.0}


def test_an_unmeasured_file_is_guessed_by_its_kind() -> None:
    recorded = {"tests/unit/test_cli.py": 9.5}
    assert durations.expected_seconds("tests/unit/test_cli.py", recorded, False) == 9.5
    assert durations.expected_seconds("tests/unit/test_new.py", recorded, False) == 0.0
    assert durations.expected_seconds("tests/integration/test_new.py", recorded, True) == \
        durations.UNKNOWN_INTEGRATION_SECONDS


def test_the_record_names_only_files_that_exist() -> None:
    recorded = durations.known_seconds()
    assert recorded, "tests/durations.json is missing or unreadable"
    root = Path(durations.__file__).resolve().parent.parent
    assert [path for path in recorded if not (root / path).is_file()] == []


def test_this_session_runs_the_longest_files_first(request: pytest.FixtureRequest) -> None:
    session_items = request.session.items
    files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in session_items))
    recorded = durations.known_seconds()
    expected = [durations.expected_seconds(path, recorded, any(
        item.get_closest_marker("integration") for item in session_items
        if item.nodeid.startswith(f"{path}::"))) for path in files]
    assert expected == sorted(expected, reverse=True)
