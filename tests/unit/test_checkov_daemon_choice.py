"""clients/checkov_daemon.py, pure parts: when the daemon is used, whose folder it trusts, and
what names it (what makes two commands share one daemon)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loono_infra.clients import checkov_daemon as daemon


@pytest.mark.parametrize(("env", "used"), [
    ({}, True),  # a developer's machine
    ({"CI": "true"}, False),  # a CI runner plans once
    ({"CI": "true", daemon.DAEMON_ENV: "on"}, False),  # a runner's job cannot turn it on
    ({"GITHUB_ACTIONS": "true"}, False),
    ({"TF_BUILD": "True"}, False),  # Azure Pipelines
    ({"JENKINS_URL": "http://ci.internal/"}, False),
    ({"CI": "false"}, True),
    ({daemon.DAEMON_ENV: "off"}, False),
    ({daemon.DAEMON_ENV: "0"}, False),
    ({daemon.DAEMON_ENV: "OFF "}, False),
    ({daemon.DAEMON_ENV: "maybe"}, True),  # not a no: the default
])
def test_the_daemon_is_used_where_a_second_plan_is_likely(env: dict[str, str],
                                                          used: bool) -> None:
    assert daemon.enabled(env) is used


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 900.0), ("30", 30.0), ("0", 1.0), ("soon", 900.0), ("inf", 900.0),
    ("nan", 900.0), ("1e9", 86_400.0)])
def test_idle_seconds(value: str | None, seconds: float) -> None:
    env = {} if value is None else {daemon.IDLE_ENV: value}
    assert daemon.idle_seconds(env) == seconds


def test_the_private_folder_is_made_for_the_user_alone(tmp_path: Path) -> None:
    folder = daemon.private_folder({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert folder == tmp_path / f"loono-checkov-{os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_others_can_enter_is_not_used(tmp_path: Path) -> None:
    planted = tmp_path / f"loono-checkov-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # another user made it first, open to all: not ours to trust
    assert daemon.private_folder({"XDG_RUNTIME_DIR": str(tmp_path)}) is None


def test_a_runtime_folder_that_is_not_the_users_own_is_passed_over(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)  # e.g. another user's XDG_RUNTIME_DIR kept by sudo -E
    folder = daemon.private_folder({"XDG_RUNTIME_DIR": str(shared)})
    assert folder == Path("/tmp") / f"loono-checkov-{os.getuid()}"
    assert not list(shared.iterdir())
    assert daemon.private_folder({"XDG_RUNTIME_DIR": "relative/run"}) == folder


def test_a_symlink_in_place_of_the_folder_is_not_used(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / f"loono-checkov-{os.getuid()}").symlink_to(elsewhere)
    assert daemon.private_folder({"XDG_RUNTIME_DIR": str(tmp_path)}) is None


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder away needs root")
def test_a_folder_owned_by_another_user_is_not_used(tmp_path: Path) -> None:
    planted = tmp_path / f"loono-checkov-{os.getuid()}"
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)
    assert daemon.private_folder({"XDG_RUNTIME_DIR": str(tmp_path)}) is None


PYTHON = Path("/opt/checkov/bin/python")
BASE = {"PATH": "/usr/bin", "LOG_LEVEL": "ERROR", "HOME": "/home/dev"}


def test_two_commands_of_one_shell_share_a_daemon() -> None:
    """What Checkov does not read at import (a shell's, a terminal's, make's variables, the
    caller's secrets, PATH) does not name it: each run gets it from the hello."""
    first = {**BASE, "PWD": "/work", "SHLVL": "1", "_": "/usr/bin/make",
             "TF_VAR_db_password": "one", "AWS_SECRET_ACCESS_KEY": "a", "GITHUB_TOKEN": "t1",
             "SSH_CONNECTION": "10.0.0.2 51000 10.0.0.1 22", "MAKEFLAGS": "-j8 --jobserver-"
             "auth=fifo:/tmp/GMfifo1", "DB_PASS": "x", "PATH": "/usr/bin"}
    second = {**BASE, "PWD": "/work/sub", "SHLVL": "2", "_": "/usr/bin/loono-infra",
              "TF_VAR_db_password": "two", "AWS_SECRET_ACCESS_KEY": "b", "GITHUB_TOKEN": "t2",
              "SSH_CONNECTION": "10.0.0.2 51999 10.0.0.1 22", "MAKEFLAGS": "-j8 --jobserver-"
              "auth=fifo:/tmp/GMfifo2", "DB_PASS": "y", "PATH": "/usr/local/bin:/usr/bin"}
    named = daemon.socket_name(PYTHON, "3.3.30", first)
    assert named == daemon.socket_name(PYTHON, "3.3.30", second)


@pytest.mark.parametrize("change", [
    {"LOG_LEVEL": "DEBUG"},  # what Checkov reads once, at import
    {"CKV_FRAMEWORK": "terraform"},
    {"CHECKOV_GRAPH_FRAMEWORK": "IGRAPH"},
    {"ENABLE_DEFINITION_KEY": "true"},
    {"LANG": "de_DE.UTF-8"},
])
def test_another_environment_is_another_daemon(change: dict[str, str]) -> None:
    before = daemon.socket_name(PYTHON, "3.3.30", BASE)
    assert before != daemon.socket_name(PYTHON, "3.3.30", {**BASE, **change})


def test_another_checkov_is_another_daemon() -> None:
    other = Path("/opt/other-checkov/bin/python")
    assert daemon.socket_name(PYTHON, "3.3.30", BASE) != daemon.socket_name(other, "3.3.30", BASE)
    assert daemon.socket_name(PYTHON, "3.3.30", BASE).endswith(".sock")


def test_another_checkov_version_is_another_daemon() -> None:
    """An upgrade in place (same interpreter) is served by a new daemon, not refused by the old
    one for its version."""
    before = daemon.socket_name(PYTHON, "3.3.30", BASE)
    assert before != daemon.socket_name(PYTHON, "3.4.0", BASE)


def test_the_daemon_runs_without_its_starters_secrets() -> None:
    started = daemon.daemon_environment({**BASE, "CKV_FRAMEWORK": "terraform",
                                         "TF_VAR_db_password": "secret", "GITHUB_TOKEN": "t",
                                         "AWS_SECRET_ACCESS_KEY": "k", "SSH_CONNECTION": "x",
                                         "BC_API_KEY": "platform-key"})
    assert started == {**BASE, "CKV_FRAMEWORK": "terraform"}


def test_a_reinstalled_checkov_is_another_daemon(tmp_path: Path) -> None:
    python, checkov = tmp_path / "python", tmp_path / "checkov"
    python.write_text("")
    checkov.write_text("#!/bin/sh\n")
    before = daemon.socket_name(python, "3.3.30", BASE, daemon.installation(python, checkov))
    checkov.unlink()
    checkov.write_text("#!/bin/sh\n")  # pip writes the executable anew
    os.utime(checkov, ns=(1, 1))
    assert before != daemon.socket_name(python, "3.3.30", BASE,
                                        daemon.installation(python, checkov))
