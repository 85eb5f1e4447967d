"""Secrets reach Terraform only through the environment, never a file it reads or a log line."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Mapping
from pathlib import Path

from loono_infra.core.errors import LoonoError
from loono_infra.core.files import exclusive_lock, write_atomically
from loono_infra.core.settings import Settings
from loono_infra.core.workspace import Project

_SANDBOX_SECRETS = "secrets.json"


def _sandbox_password(sandbox_dir: Path, environment: str) -> str:
    """A random password kept (0600) for the sandbox, stable so re-plans show no change."""
    path = sandbox_dir / _SANDBOX_SECRETS
    with exclusive_lock(sandbox_dir / ".secrets.lock", 30, str(path)):
        stored = _stored_passwords(path)
        if environment not in stored:
            stored[environment] = secrets.token_urlsafe(24)
            write_atomically(path, json.dumps(stored))  # mkstemp files are 0600
    return stored[environment]


def _stored_passwords(path: Path) -> dict[str, str]:
    """The sandbox's kept passwords by environment (none when the file is missing or bad)."""
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def database_password(settings: Settings, environ: Mapping[str, str],
                      sandbox_dir: Path | None) -> str | None:
    """The master password from its environment variable; on the sandbox, a kept random one;
    None on AWS without it (only a plan that creates the database needs it)."""
    name = settings.database.password_env
    value = environ.get(name, "")
    if value:
        if len(value) < 8 or any(c in value for c in '/@" '):
            raise LoonoError(f"${name}: RDS needs 8+ characters and no '/', '@', '\"' or space")
        return value
    if sandbox_dir is not None:
        return _sandbox_password(sandbox_dir, settings.environment)
    return None


def password_missing(settings: Settings) -> LoonoError:
    """Why a plan that creates the database cannot go on without the password."""
    name = settings.database.password_env
    return LoonoError(
        f"this plan creates the database or its credentials secret, which need the master "
        f"password: export {name} "
        "(settings database.password_env) from your secret store and plan again; it is never "
        "read from a file, and plans of an existing database do not need it")


def known_secrets(settings: Settings, sandbox: bool | None = None,
                  environ: Mapping[str, str] | None = None) -> list[str]:
    """Secret values this environment may have (to scrub them from reports); never raises."""
    import os

    found = [value for value in [(environ or os.environ).get(settings.database.password_env)]
             if value]
    on_sandbox = settings.target == "sandbox" if sandbox is None else sandbox
    if on_sandbox:
        with contextlib.suppress(LoonoError):  # no project around the settings: nothing kept
            sandbox_dir = Project.of(settings).sandbox_dir
            found += _stored_passwords(sandbox_dir / _SANDBOX_SECRETS).values()
    return found
