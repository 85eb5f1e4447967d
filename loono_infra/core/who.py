"""Who runs loono-infra, for records: the GitHub actor and run inside Actions, else user@host."""

from __future__ import annotations

import getpass
import os
import socket


def who_runs() -> str:
    """Inside Actions who started this attempt (a re-run's actor, not the first run's) and the
    run, else user@host."""
    env = os.environ
    actor = env.get("GITHUB_TRIGGERING_ACTOR") or env.get("GITHUB_ACTOR")
    run, attempt = env.get("GITHUB_RUN_ID"), env.get("GITHUB_RUN_ATTEMPT")
    if actor:
        where = f"run {run}" + (f" attempt {attempt}" if attempt and attempt != "1" else "")
        return f"{actor} (GitHub Actions {where})" if run else actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
