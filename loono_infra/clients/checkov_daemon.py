"""The Checkov daemon's client side: where its socket is, whether to use it, and reaching it.

A developer plans again and again: the warm Checkov of each plan imported Checkov anew (about
two seconds of CPU, taken from Terraform's plan on two cores). The daemon is a warm Checkov that
outlives the command that started it (`_checkov_worker.py --daemon`), so a second plan only
connects. It is used where a second plan is likely and the machine is one person's:

- on unless `LOONO_CHECKOV_DAEMON=off`; off by default where `CI` is set (a CI runner plans
  once, and its job may run code the gate must not trust beside it);
- its socket lies in a folder only its user can enter (`$XDG_RUNTIME_DIR` or `/tmp`,
  `loono-checkov-<uid>`, mode 0700, owned by the user: anything else is not used);
- one daemon per Checkov interpreter, worker code and environment (the socket's name is their
  digest; secret-looking variables are left out of it, every run gets the caller's whole
  environment anyway); it leaves after `LOONO_CHECKOV_DAEMON_IDLE` seconds (900) unused.

A daemon that cannot be reached is no daemon: the plan starts its own worker. The verdict is
the same either way, and fails closed the same way (clients/checkov_worker.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from loono_infra.clients import _checkov_worker

DAEMON_ENV = "LOONO_CHECKOV_DAEMON"
IDLE_ENV = "LOONO_CHECKOV_DAEMON_IDLE"
DEFAULT_IDLE_SECONDS = 900.0
_OFF = {"off", "0", "false", "no"}
_ON = {"on", "1", "true", "yes"}
# Left out of the socket's name: what changes between two commands of one shell, and secrets.
_NOT_KEYED = re.compile(r"^(_|OLDPWD|PWD|SHLVL|TF_VAR_.*|AWS_.*|.*(TOKEN|SECRET|PASSWORD|KEY).*)$")


def enabled(env: Mapping[str, str]) -> bool:
    """Whether a plan uses the daemon (LOONO_CHECKOV_DAEMON, else not where CI is set)."""
    chosen = env.get(DAEMON_ENV, "").strip().lower()
    if chosen in _OFF:
        return False
    return chosen in _ON or not env.get("CI")


def idle_seconds(env: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(env.get(IDLE_ENV, DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def private_folder(env: Mapping[str, str]) -> Path | None:
    """The user's own folder for daemon sockets; None where it is not safely the user's."""
    folder = Path(env.get("XDG_RUNTIME_DIR") or "/tmp") / f"loono-checkov-{os.getuid()}"
    with contextlib.suppress(FileExistsError, OSError):
        folder.mkdir(mode=0o700)
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    mine = found.st_uid == os.getuid() and stat.S_ISDIR(found.st_mode)
    return folder if mine and stat.S_IMODE(found.st_mode) & 0o077 == 0 else None


def socket_name(python: Path, version: str, env: Mapping[str, str]) -> str:
    """The daemon's name: the digest of its interpreter, Checkov version (an upgrade in place
    gets a new daemon), worker code and environment."""
    digest = hashlib.sha256(json.dumps([str(python), version]).encode())
    digest.update(Path(_checkov_worker.__file__).read_bytes())
    keyed = sorted((k, v) for k, v in env.items() if not _NOT_KEYED.match(k))
    digest.update(json.dumps(keyed).encode())
    return digest.hexdigest()[:24] + ".sock"


def connect(python: Path, version: str, env: Mapping[str, str]) -> socket.socket | None:
    """A connection to the daemon for python, started when there is none; None when none can
    be reached (the caller starts its own worker), after sending the hello."""
    folder = private_folder(env)
    if folder is None:
        return None
    path = folder / socket_name(python, version, env)
    connection = _connected(path)
    if connection is None and _started(python, path, env):
        connection = _connected(path)
    if connection is None:
        return None
    try:
        connection.sendall((json.dumps({"hello": {"cwd": os.getcwd(), "env": dict(env)}})
                            + "\n").encode())
    except OSError:
        connection.close()
        return None
    return connection


def _connected(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _started(python: Path, path: Path, env: Mapping[str, str]) -> bool:
    """Starts a daemon on path (it binds, then leaves its starter); whether it did in time."""
    log = path.with_suffix(".log")
    try:
        with open(log, "ab") as errors:
            os.chmod(log, 0o600)
            starter = subprocess.Popen(
                [str(python), "-I", _checkov_worker.__file__, "--daemon", str(path),
                 str(idle_seconds(env))], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=errors, env=dict(env), start_new_session=True)
    except OSError:
        return False
    try:
        return starter.wait(timeout=15) == 0
    except subprocess.TimeoutExpired:
        starter.kill()
        starter.wait()
        return False
