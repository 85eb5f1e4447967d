"""Who runs loono-infra, for records: the GitHub actor and run inside Actions, else user@host."""

from __future__ import annotations

import getpass
import os
import socket


def who_runs() -> str:
    """The GitHub actor and run inside Actions, else user@host."""
    actor, run = os.environ.get("GITHUB_ACTOR"), os.environ.get("GITHUB_RUN_ID")
    if actor:
        return f"{actor} (GitHub Actions run {run})" if run else actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
