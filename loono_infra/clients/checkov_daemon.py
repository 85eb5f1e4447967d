"""The Checkov daemon's client side: where its socket is, whether to use it, and reaching it.

A developer plans again and again: the warm Checkov of each plan imported Checkov anew (about
two seconds of CPU, taken from Terraform's plan on two cores). The daemon is a warm Checkov that
outlives the command that started it (`_checkov_worker.py --daemon`), so a second plan only
connects. It is used where a second plan is likely and the machine is one person's:

- on unless `LOONO_CHECKOV_DAEMON=off`; always off on a CI runner (core/user_sockets.py says
  why);
- its socket lies in a folder only its user can enter (`loono-checkov-<uid>`, mode 0700), and
  each side checks the other is its user (SO_PEERCRED; core/user_sockets.py);
- one daemon per Checkov installation, worker code and the variables Checkov reads while it
  imports (the socket's name is their digest). Every run gets the caller's whole environment
  and folder anyway (the hello), so a terminal's or make's own variables start no new daemon;
- it leaves after `LOONO_CHECKOV_DAEMON_IDLE` seconds (900) unused. Its errors go to
  `<socket>.log` beside the socket.

A daemon that cannot be reached is no daemon: the plan starts its own worker. The verdict is
the same either way, and fails closed the same way (clients/checkov_worker.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loono_infra.clients import _checkov_worker
from loono_infra.core import user_sockets

DAEMON_ENV = "LOONO_CHECKOV_DAEMON"
IDLE_ENV = "LOONO_CHECKOV_DAEMON_IDLE"
DEFAULT_IDLE_SECONDS = 900.0
# What names a daemon: the variables Checkov 3 reads once, while it imports (module constants
# and checkov/common/util/env_vars_config.py), and the locale. The rest is read per run.
_READ_AT_IMPORT = re.compile(
    r"^(CKV_|CHECKOV_|BC_|PRISMA_|RENDER_|PROXY_|LC_).*"
    r"|^(LANG|TZ|TMPDIR|HOME|LOG_LEVEL|ANSI_COLORS_DISABLED|HTTPS?_PROXY|NO_PROXY"
    r"|CREATE_COMPLEX_VERTICES|CREATE_EDGES|ENABLE_CONFIG_FILE_VALIDATION|ENABLE_DEFINITION_KEY"
    r"|ENABLE_DOTNET_CPM|EXTERNAL_MODULES_DIR|HCL_PARSE_TIMEOUT_SEC|JAVA_FULL_DT"
    r"|MAX_WILDCARD_ARR_SIZE|RAW_TF_IN_GRAPH|REQUEST_MAX_TRIES|RUN_IN_DOCKER"
    r"|RUN_SECRETS_MULTIPROCESS|SLEEP_BETWEEN_REQUEST_TRIES|WORKDIR)$")
_MAX_IDLE_SECONDS = 86_400.0


def enabled(env: Mapping[str, str]) -> bool:
    """Whether a plan uses the daemon (core/user_sockets.py: never on a CI runner)."""
    return user_sockets.switched_on(env, DAEMON_ENV)


def idle_seconds(env: Mapping[str, str]) -> float:
    try:
        chosen = float(env.get(IDLE_ENV, DEFAULT_IDLE_SECONDS))
    except ValueError:
        return DEFAULT_IDLE_SECONDS
    return min(max(1.0, chosen), _MAX_IDLE_SECONDS) if math.isfinite(chosen) \
        else DEFAULT_IDLE_SECONDS


def private_folder(env: Mapping[str, str]) -> Path | None:
    """The user's own folder for daemon sockets; None where it is not safely the user's."""
    return user_sockets.private_folder(env, "checkov")


def socket_name(python: Path, version: str, env: Mapping[str, str],
                installed: str = "") -> str:
    """The daemon's name: the digest of its interpreter, Checkov version and installation (a
    reinstall in place gets a new daemon), worker code and what Checkov reads at import."""
    digest = hashlib.sha256(json.dumps([str(python), version, installed]).encode())
    digest.update(Path(_checkov_worker.__file__).read_bytes())
    keyed = sorted((k, v) for k, v in env.items() if _READ_AT_IMPORT.match(k))
    digest.update(json.dumps(keyed).encode())
    return digest.hexdigest()[:24] + ".sock"


def installation(python: Path, checkov: Path) -> str:
    """When and where Checkov's interpreter and executable were installed (pip rewrites the
    executable on every install)."""
    stamps = []
    for path in (python.resolve(), checkov.resolve()):
        with contextlib.suppress(OSError):
            found = path.stat()
            stamps.append(f"{found.st_ino}:{found.st_mtime_ns}")
    return " ".join(stamps)


def socket_path(checkov: Path, python: Path, version: str,
                env: Mapping[str, str]) -> Path | None:
    """Where the daemon for this Checkov and environment listens; None where no socket can be
    (no private folder, or a path too long for a unix socket)."""
    folder = private_folder(env)
    if folder is None:
        return None
    path = folder / socket_name(python, version, env, installation(python, checkov))
    return path if len(str(path).encode()) <= user_sockets.MAX_SOCKET_PATH else None


@dataclass(frozen=True)
class Reached:
    """A connection to a daemon (the hello sent), its log, and whether the daemon may still be
    importing Checkov (this call, or another a moment ago, started it)."""

    connection: socket.socket
    log: Path
    importing: bool


def connect(checkov: Path, python: Path, version: str, env: Mapping[str, str]) -> Reached | None:
    """A connection to the daemon for python, started when there is none; None when none can
    be reached (the caller starts its own worker)."""
    path = socket_path(checkov, python, version, env)
    if path is None:
        return None
    connection = _connected(path)
    started = connection is None and _started(python, path, env)
    if started:
        connection = _connected(path)
    if connection is None:
        return None
    try:
        connection.sendall((json.dumps({"hello": {"cwd": os.getcwd(), "env": dict(env)}})
                            + "\n").encode())
    except OSError:
        connection.close()
        return None
    return Reached(connection, log_of(path), started or _young(path))


def daemons(env: Mapping[str, str]) -> list[Path]:
    """The sockets of this user's daemons that answer (a probe: an empty line)."""
    return _told(env, b"\n", None)


def stop_daemons(env: Mapping[str, str]) -> list[Path]:
    """Asks each of this user's daemons to leave (as when idle: runs under way end first);
    the sockets of those that said they would (an older or stuck daemon says nothing)."""
    return _told(env, b'{"stop": true}\n', b"stopping")


def _told(env: Mapping[str, str], line: bytes, reply: bytes | None) -> list[Path]:
    """The sockets of this user's daemons that took line (and answered reply, if one is
    awaited)."""
    folder = private_folder(env)
    told = []
    for path in sorted(folder.glob("*.sock")) if folder else []:
        connection = _connected(path)
        if connection is not None:
            with connection, contextlib.suppress(OSError):
                connection.sendall(line)
                connection.settimeout(2.0)
                if reply is None or reply in connection.recv(64):
                    told.append(path)
    return told


def _young(path: Path) -> bool:
    """The socket was bound in the last minute: its daemon may still import Checkov."""
    try:
        return time.time() - path.stat().st_mtime < 60
    except OSError:
        return False


def log_of(socket_path: Path) -> Path:
    return socket_path.with_suffix(".log")


def _connected(path: Path) -> socket.socket | None:
    """A connection to the daemon on path, if it answers in time and runs as this user."""
    return user_sockets.connected(path)


def daemon_environment(env: Mapping[str, str]) -> dict[str, str]:
    """What the daemon itself runs with: what Checkov reads at import, and where programs are;
    no caller's secrets (each run gets its caller's environment from the hello)."""
    return {k: v for k, v in env.items()
            if (_READ_AT_IMPORT.match(k) or k == "PATH") and k != "BC_API_KEY"}


def _started(python: Path, path: Path, env: Mapping[str, str]) -> bool:
    """Starts a daemon on path (it binds, then leaves its starter); whether it did in time."""
    log = log_of(path)
    try:
        with open(log, "ab") as errors:  # the daemon empties it once it holds the lock
            os.chmod(log, 0o600)
            starter = subprocess.Popen(
                [str(python), "-I", _checkov_worker.__file__, "--daemon", str(path),
                 str(idle_seconds(env))], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=errors, env=daemon_environment(env), start_new_session=True)
    except OSError:
        return False
    try:
        return starter.wait(timeout=15) == 0
    except subprocess.TimeoutExpired:
        starter.kill()
        starter.wait()
        return False
