"""The CLI server's pure parts: what names a server, when it is stale, how exit codes end up
(warm/client.py, warm/server.py). The served commands themselves:
tests/integration/test_cli_server.py."""

from __future__ import annotations

import os
import subprocess
import time
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
    loaded = {str(module): server.stamp(str(module))}
    assert not server.changed(loaded)
    mtime = module.stat().st_mtime_ns
    os.utime(module, ns=(mtime, mtime + 1_000_000_000))
    assert server.changed(loaded)
    module.unlink()
    assert server.changed(loaded)


def test_a_rewrite_that_keeps_the_modification_time_makes_the_server_stale(
        tmp_path: Path) -> None:
    """cp -p and rsync -t set the modification time back; not the change time."""
    module = tmp_path / "module.py"
    module.write_text("x = 1\n", encoding="utf-8")
    loaded = {str(module): server.stamp(str(module))}
    mtime = module.stat().st_mtime_ns
    time.sleep(0.02)
    module.write_text("x = 2\n", encoding="utf-8")
    os.utime(module, ns=(mtime, mtime))
    assert module.stat().st_mtime_ns == mtime
    assert server.changed(loaded)


def test_a_module_written_while_the_server_imported_makes_it_stale(tmp_path: Path) -> None:
    """The server may have read it half old: a file changed after its imports began."""
    module = tmp_path / "module.py"
    before = time.time_ns()
    time.sleep(0.02)
    module.write_text("x = 1\n", encoding="utf-8")
    loaded = {str(module): server.stamp(str(module))}
    assert not server.changed(loaded)
    assert server.changed(loaded, since_ns=before)
    assert not server.changed(loaded, since_ns=time.time_ns() + 1_000_000_000)


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


def test_no_worker_starts_ahead_in_a_checkout_that_commits_a_checkov(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A committed .venv-checkov would run with the job's secrets before the plan refuses it
    (flow/trusted.py): the client asks git first, as the plan does."""
    from loono_infra.clients import checkov_worker

    calls: list[Path] = []
    monkeypatch.setattr(checkov_worker, "start_ahead", calls.append)
    fake = tmp_path / ".venv-checkov" / "bin"
    fake.mkdir(parents=True)
    for name in ("checkov", "python"):
        (fake / name).write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        (fake / name).chmod(0o755)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@x.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-f", ".venv-checkov"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a Checkov of our own"], check=True)
    monkeypatch.chdir(tmp_path)
    client.start_checkov_ahead(["plan", "--env", "production"], {"CI": "true"})
    assert calls == []
    subprocess.run([*git, "rm", "-q", "--cached", "-r", ".venv-checkov"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "no more"], check=True)
    client.start_checkov_ahead(["plan", "--env", "production"], {"CI": "true"})
    assert calls == [tmp_path / ".venv-checkov" / "bin" / "checkov"]


def test_a_process_in_another_mount_namespace_is_told_apart() -> None:
    own = user_sockets.namespaces()
    assert own is not None and own == user_sockets.namespaces(os.getpid())
    other = subprocess.Popen(["unshare", "--mount", "sleep", "10"])
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and user_sockets.namespaces(other.pid) == own:
            time.sleep(0.02)  # until unshare has run
        theirs = user_sockets.namespaces(other.pid)
        assert theirs is not None and theirs != own
        assert theirs[1:] == own[1:]  # only the files differ
    finally:
        other.kill()
        other.wait()
    assert user_sockets.namespaces(other.pid) is None  # gone
