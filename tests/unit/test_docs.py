"""The README's settings reference is generated from the schema and cannot drift."""

from __future__ import annotations

import json

import pytest

from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import settings_json_schema
from loono_infra.docs import END, START, settings_reference, with_reference
from tests.conftest import PROJECT_ROOT


def test_the_readme_block_is_what_the_schema_renders() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    expected = with_reference(readme, settings_reference(settings_json_schema()))
    assert readme == expected, "README's settings reference is stale: run `make schema`"


def test_every_setting_has_a_row() -> None:
    table = settings_reference(settings_json_schema())
    for path in ("`deploy.required_paths`", "`service.health_check.interval_seconds`",
                 "`policy.overrides[].expires`", "`database.password_env`"):
        assert path in table


def test_the_committed_schema_renders_the_same_rows() -> None:
    committed = json.loads((PROJECT_ROOT / "environments" / "settings.schema.json").read_text())
    rows = set(settings_reference(committed).splitlines())  # committed keys are sorted
    assert rows == set(settings_reference(settings_json_schema()).splitlines())


def test_a_readme_without_the_block_is_an_error() -> None:
    with pytest.raises(LoonoError, match="no settings reference block"):
        with_reference("# README\n", "x")
    assert with_reference(f"a\n{START}\nold\n{END}\nb", "new") == f"a\n{START}\nnew\n{END}\nb"


def test_every_settings_row_says_what_the_setting_does() -> None:
    rows = [row for row in settings_reference(settings_json_schema()).splitlines()
            if row.startswith("| `")]
    undescribed = [row.split("|")[1].strip() for row in rows if not row.split("|")[4].strip()]
    assert len(rows) > 50 and undescribed == []


def test_what_a_newcomer_needs_comes_first_and_short() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    top = readme[:readme.index("### Settings reference")].splitlines()
    assert len(top) < 150
    for heading in ("## What it is", "## Python API", "## CLI", "## Settings"):
        assert heading in top
    assert "make demo" in "\n".join(top[:8]) and "make test" in "\n".join(top[:8])
