"""The suite's order: each file's measured time, read from a JUnit report (tests/durations.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from tests import conftest, durations

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
        durations.UNKNOWN_INTEGRATION_SECONDS > 0


def test_the_record_names_only_files_that_exist() -> None:
    recorded = durations.known_seconds()
    assert recorded, "tests/durations.json is missing or unreadable"
    root = Path(durations.__file__).resolve().parent.parent
    assert [path for path in recorded if not (root / path).is_file()] == []


@dataclass(frozen=True)
class Collected:
    nodeid: str
    integration: bool = False

    def get_closest_marker(self, name: str) -> Any:
        return object() if name == "integration" and self.integration else None


def test_files_run_longest_first_whole_and_in_their_order() -> None:
    collected = [Collected("a.py::1"), Collected("b.py::1"), Collected("a.py::2"),
                 Collected("c.py::1", integration=True), Collected("d.py::1"),
                 Collected("b.py::2"), Collected("a.py::3"), Collected("e.py::1")]
    recorded = {"b.py": 70.0, "a.py": 5.0, "e.py": 5.0}
    ordered = durations.longest_first(collected, recorded)
    assert [item.nodeid for item in ordered] == [
        "b.py::1", "b.py::2",  # 70 s
        "c.py::1",  # not measured, integration: 60 s
        "a.py::1", "a.py::2", "a.py::3",  # 5 s, before e.py by path
        "e.py::1", "d.py::1"]  # d.py: not measured, a unit file
    assert sorted(ordered, key=collected.index) == collected  # nothing lost or doubled


def test_a_record_of_the_wrong_shape_is_no_record(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("[1, 2]", '{"tests/unit/test_cli.py": null}', "not json", '"text"'):
        record = tmp_path / "durations.json"
        record.write_text(text, encoding="utf-8")
        monkeypatch.setattr(durations, "DURATIONS", record)
        assert durations.known_seconds() == {}, text


@dataclass(frozen=True)
class WorkerConfig:
    workerinput: dict[str, str]


def test_the_hook_orders_an_xdist_workers_collection_and_leaves_one_process_alone() -> None:
    collected: list[Any] = [Collected("tests/unit/test_quick.py::1"),
                            Collected("tests/faults/test_killed_deploy.py::1", integration=True),
                            Collected("tests/unit/test_quick.py::2")]
    alone = list(collected)
    conftest.pytest_collection_modifyitems(cast(pytest.Config, object()), alone)
    assert alone == collected
    on_worker = list(collected)
    conftest.pytest_collection_modifyitems(cast(pytest.Config, WorkerConfig({"workerid": "gw0"})),
                                           on_worker)
    assert on_worker == durations.longest_first(collected, durations.known_seconds())
    assert on_worker[0].nodeid == "tests/faults/test_killed_deploy.py::1"
