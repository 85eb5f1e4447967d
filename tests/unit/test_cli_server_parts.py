"""The CLI server's pure parts: what names a server, when it is stale, how exit codes end up
(warm/client.py, warm/server.py). The served commands themselves:
tests/integration/test_cli_server.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loono_infra.core import user_sockets
from loono_infra.warm import client, server


def test_a_server_is_named_by_what_is_read_at_start_not_by_a_commands_secrets() -> None:
    base = {"HOME": "/root", "LANG": "C.UTF-8", "PATH": "/usr/bin"}
    name = client.server_name(base)
    assert client.server_name({**base, "AWS_SECRET_ACCESS_KEY": "x", "TF_VAR_db": "y",
                               "PATH": "/elsewhere"}) == name
    for changed in ({"PYTHONPATH": "/src"}, {"LANG": "de_DE.UTF-8"}, {"TYPER_USE_RICH": "0"},
                    {"PYDANTIC_DISABLE_PLUGINS": "1"}, {"LC_ALL": "C"}, {"TZ": "UTC"}):
        assert client.server_name({**base, **changed}) != name, changed


def test_the_socket_lies_in_the_users_own_cli_folder(runtime: Path) -> None:
    path = client.socket_path({"XDG_RUNTIME_DIR": str(runtime)})
    assert path is not None
    assert path.parent == runtime / f"loono-cli-{os.getuid()}"
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.name == client.server_name({"XDG_RUNTIME_DIR": str(runtime)}) + ".sock"


def test_a_socket_path_too_long_for_a_unix_socket_is_no_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60)
    deep.mkdir(mode=0o700)
    assert client.socket_path({"XDG_RUNTIME_DIR": str(deep)}) is None


def test_a_folder_others_can_enter_gets_no_socket(runtime: Path) -> None:
    (runtime / f"loono-cli-{os.getuid()}").mkdir(mode=0o755)
    (runtime / f"loono-cli-{os.getuid()}").chmod(0o755)
    assert client.socket_path({"XDG_RUNTIME_DIR": str(runtime)}) is None


@pytest.mark.parametrize(("env", "on"), [
    ({}, True),
    ({"LOONO_CLI_SERVER": "off"}, False),
    ({"LOONO_CLI_SERVER": "0"}, False),
    ({"CI": "true"}, False),
    ({"GITHUB_ACTIONS": "true", "LOONO_CLI_SERVER": "on"}, False),
    ({"CI": "false"}, True),
])
def test_served_unless_switched_off_and_never_on_a_ci_runner(env: dict[str, str],
                                                             on: bool) -> None:
    assert user_sockets.switched_on(env, client.SERVER_ENV) is on


@pytest.mark.parametrize(("chosen", "seconds"), [
    ("", 900), ("60", 60), ("0", 1), ("999999", 86_400), ("-5", 900), ("soon", 900)])
def test_idle_seconds_are_bounded(chosen: str, seconds: int) -> None:
    assert client.idle_seconds({client.IDLE_ENV: chosen}) == seconds


def test_a_module_file_changed_or_gone_makes_the_server_stale(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("x = 1\n", encoding="utf-8")
    loaded = {str(module): module.stat().st_mtime_ns}
    assert not server.changed(loaded)
    stamp = module.stat().st_mtime_ns
    os.utime(module, ns=(stamp, stamp + 1_000_000_000))
    assert server.changed(loaded)
    module.unlink()
    assert server.changed(loaded)


def test_the_servers_own_modules_are_all_watched() -> None:
    watched = server.module_files()
    assert server.__file__ in watched
    assert client.__file__ in watched
    assert not server.changed(watched)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), (130, 130),
                                              (256 + 2, 2)])
def test_exit_codes_end_as_python_ends_them(code: object, status: int) -> None:
    assert server.exit_status(code) == status


def test_a_message_as_exit_code_is_printed_and_ends_in_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert server.exit_status("no such environment") == 1
    assert capsys.readouterr().err == "no such environment\n"


@pytest.mark.parametrize(("argv0", "name"), [
    ("/work/.venv/bin/loono-infra", "loono-infra"),
    ("/work/loono_infra/__main__.py", "python -m loono_infra")])
def test_usage_lines_name_the_command_as_it_was_run(monkeypatch: pytest.MonkeyPatch,
                                                    argv0: str, name: str) -> None:
    monkeypatch.setattr("sys.argv", [argv0, "plan"])
    assert client.program_name() == name


@pytest.mark.parametrize(("argv", "env", "started"), [
    (["plan", "--env", "production"], {"LOONO_CHECKOV_DAEMON": "off"}, True),
    (["plan", "--env", "production"], {"CI": "true"}, True),
    (["plan", "--env", "production", "--no-policy"], {"CI": "true"}, False),
    (["apply", "--env", "production"], {"CI": "true"}, False),
    (["validate", "--env", "plan"], {"CI": "true"}, False),
    (["plan", "--env", "production"], {}, False),  # the Checkov daemon serves it
])
def test_a_cold_plan_with_its_gate_starts_checkovs_worker_first(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str],
        started: bool) -> None:
    from loono_infra.clients import checkov, checkov_worker

    calls: list[Path] = []
    monkeypatch.setattr(checkov_worker, "start_ahead", calls.append)
    monkeypatch.setattr(checkov, "find_checkov", lambda root: root / "checkov")
    client.start_checkov_ahead(argv, env)
    assert calls == ([Path.cwd() / "checkov"] if started else [])
