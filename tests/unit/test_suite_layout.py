"""The suite's own rules: integration files say so, so `make unit` runs no sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

MARKED = re.compile(r"^pytestmark = pytest\.mark\.integration$", re.MULTILINE)
SANDBOX_USE = re.compile(r"start_sandbox|sandbox_session|github_server|docker\.from_env")
INTEGRATION_FILES = sorted([*(PROJECT_ROOT / "tests" / "integration").glob("test_*.py"),
                            *(PROJECT_ROOT / "tests" / "faults").glob("test_*.py")])


@pytest.mark.parametrize("path", INTEGRATION_FILES, ids=lambda path: path.name)
def test_every_integration_file_carries_the_marker(path: Path) -> None:
    assert MARKED.search(path.read_text(encoding="utf-8")), f"{path}: no integration marker"


def test_no_unit_file_reaches_for_the_sandbox() -> None:
    reaching = [path.name for path in (PROJECT_ROOT / "tests" / "unit").glob("test_*.py")
                if path.name != "test_suite_layout.py" and SANDBOX_USE.search(
                    path.read_text(encoding="utf-8"))]
    assert reaching == []
