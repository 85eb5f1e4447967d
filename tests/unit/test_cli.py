"""The CLI: clear errors and exit codes for user mistakes, never a traceback, nothing touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loono_infra.cli import app
from loono_infra.core.settings import settings_json_schema
from tests.conftest import PROJECT_ROOT

runner = CliRunner()
COMMANDS = ["plan", "apply", "destroy", "render", "validate", "bootstrap", "schema", "policy",
            "owners"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: loono-infra" in result.output


def test_missing_environment_is_exit_1_without_traceback(project_copy: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    result = runner.invoke(app, ["plan", "--env", "staging"])
    assert result.exit_code == 1
    assert "staging.toml" in result.output and "no such file" in result.output
    assert "Traceback" not in result.output
    assert not (project_copy / ".loono").exists()


def test_invalid_settings_name_every_field_and_touch_nothing(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    settings = project_copy / "environments" / "production.toml"
    text = settings.read_text().replace("cpu = 256", "cpu = 100").replace(
        "backup_retention_days = 7", "backup_retention_days = 90")
    settings.write_text(text)
    result = runner.invoke(app, ["plan", "--env", "production", "--sandbox"])
    assert result.exit_code == 1
    assert "service.cpu" in result.output and "database.backup_retention_days" in result.output
    assert not (project_copy / ".loono").exists()


def _edit(project: Path, old: str, new: str, name: str = "production") -> None:
    path = project / "environments" / f"{name}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


TAGS = "[tags]\n" + "".join(f'T{i} = "x"\n' for i in range(49))
BAD_FILES = [
    ("deletion_protection = true", 'deletion_protection = "off"', "database.deletion_protection",
     "valid boolean"),
    ("cpu = 256", "cpu = 256.0", "service.cpu", "valid integer"),
    ("[tags]\n", TAGS, "tags", "51 tags: at most 48"),
    ("[logs]", "[alarms]\ncpu_percent = 150\n\n[logs]", "alarms.cpu_percent",
     "less than or equal to 100"),
    ('environment = "production"', 'environment = "staging"', "environment",
     "named after the environment"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD_FILES,
                         ids=[row[2] for row in BAD_FILES])
def test_bad_settings_name_the_field_exit_1_and_touch_nothing(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str,
        message: str) -> None:
    monkeypatch.chdir(project_copy)
    _edit(project_copy, old, new)
    result = runner.invoke(app, ["validate", "--env", "production"])
    assert result.exit_code == 1, result.output
    assert field in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (project_copy / ".loono").exists()


@pytest.mark.parametrize("name", ["../bench/x", "Production", "prod/uction", ""])
def test_env_must_be_a_plain_name(project_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                  name: str) -> None:
    monkeypatch.chdir(project_copy)
    result = runner.invoke(app, ["validate", "--env", name])
    assert result.exit_code == 1 and "--env" in result.output
    assert "not an environment name" in result.output and "Traceback" not in result.output
    assert not (project_copy / ".loono").exists()


def test_sandbox_not_running_is_a_clear_error(project_copy: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    result = runner.invoke(app, ["plan", "--env", "sandbox"])
    assert result.exit_code == 1
    assert "sandbox is not running" in result.output and "sandbox up" in result.output
    assert not (project_copy / ".loono" / "sandbox" / "sandbox").exists()


def test_apply_without_a_saved_plan_refuses(project_copy: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    result = runner.invoke(app, ["apply", "--env", "sandbox"])
    assert result.exit_code == 1 and "no saved plan" in result.output


def test_destroy_needs_yes(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project_copy)
    result = runner.invoke(app, ["destroy", "--env", "sandbox"])
    assert result.exit_code == 1 and "--yes" in result.output


def test_sandbox_status_json_when_not_running(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["sandbox", "status", "--json"])
    assert result.exit_code == 1 and json.loads(result.output) == {"running": False}


def test_committed_schema_is_current() -> None:
    committed = json.loads((PROJECT_ROOT / "environments" / "settings.schema.json").read_text())
    assert committed == settings_json_schema(), "run `make schema`"
    result = runner.invoke(app, ["schema"])
    assert json.loads(result.output) == committed


COMMANDS = ["plan", "policy", "apply", "owners", "destroy", "deploy", "logs", "status", "report",
            "drift", "render", "validate", "bootstrap", "schema", "sandbox up", "sandbox down",
            "sandbox status"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_json(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "Example: loono-infra " in result.output
    assert "--json" in result.output
