"""A user's own unix sockets, for the processes that stay warm between commands (the Checkov
daemon, the CLI server): whether to use one, where they lie and who is at the other end.

- Never on a CI runner (`CI`, `GITHUB_ACTIONS`, `TF_BUILD`, ... set), whatever else is set: a
  runner runs each command once, and its job may run code the gate must not trust, which could
  leave a warm process behind for a later job of the same user. Elsewhere on unless the
  process's own switch says no (off, 0, false, no). Linux only (the peers' users are checked).
- Their sockets lie in a folder only the user can enter (`$XDG_RUNTIME_DIR` where that is the
  user's own, else `/tmp`; `loono-<kind>-<uid>`, mode 0700, owned by the user: anything else is
  not used), and each side checks the other is its user (SO_PEERCRED).

Cheap to import (os, socket, stat, struct): the CLI's client imports it on every command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from collections.abc import Mapping
from pathlib import Path

OFF = frozenset({"off", "0", "false", "no"})
CI_MARKERS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL",
              "CODEBUILD_BUILD_ID", "BUILDKITE")
MAX_SOCKET_PATH = 107  # bytes of a unix socket's path (sun_path), its terminator left out


def switched_on(env: Mapping[str, str], switch: str) -> bool:
    """Whether a warm process may serve: not on a CI runner; else unless switch says no."""
    on_ci = any(env.get(marker, "").strip().lower() not in {"", *OFF} for marker in CI_MARKERS)
    chosen = env.get(switch, "").strip().lower()
    return hasattr(socket, "SO_PEERCRED") and not on_ci and chosen not in OFF


def users_own(path: Path) -> bool:
    """path is a folder (not a link) of this user that no one else can enter."""
    try:
        found = os.lstat(path)
    except OSError:
        return False
    return (found.st_uid == os.getuid() and stat.S_ISDIR(found.st_mode)
            and stat.S_IMODE(found.st_mode) & 0o077 == 0)


def private_folder(env: Mapping[str, str], kind: str) -> Path | None:
    """The user's own folder for the sockets of one kind of warm process; None where it is
    not safely the user's."""
    runtime = Path(env.get("XDG_RUNTIME_DIR") or "/tmp")
    base = runtime if runtime.is_absolute() and users_own(runtime) else Path("/tmp")
    folder = base / f"loono-{kind}-{os.getuid()}"
    with contextlib.suppress(FileExistsError, OSError):
        folder.mkdir(mode=0o700)
    return folder if users_own(folder) else None


def peer_credentials(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket (SO_PEERCRED)."""
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", credentials)
    return int(pid), int(uid), int(gid)


NAMESPACES = ("mnt", "pid", "net", "user")


def namespaces(pid: int | str = "self") -> tuple[str, ...] | None:
    """The namespaces a process lives in (its files, processes, network, users); None where
    they cannot be read (it is gone, or out of sight)."""
    try:
        return tuple(os.readlink(f"/proc/{pid}/ns/{kind}") for kind in NAMESPACES)
    except OSError:
        return None


def connected(path: Path, timeout: float = 2.0) -> socket.socket | None:
    """A blocking connection to the process listening on path, if it answers within timeout
    (a full backlog is no answer) and runs as this user; None otherwise."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(str(path))
        peer = peer_credentials(connection)[1]
    except OSError:
        connection.close()
        return None
    if peer != os.getuid():
        connection.close()  # someone else's socket: it would get this command's environment
        return None
    connection.settimeout(None)
    return connection
