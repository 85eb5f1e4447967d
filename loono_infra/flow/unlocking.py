"""Releasing a state lock a killed run left: only that lock, and not a young one by default.

Terraform's `force-unlock` releases whatever ID it is given. Before it runs, the lock table is
read: the state must be locked, by exactly the named lock, and that lock must be older than an
ordinary run (a young lock may belong to an apply still going on: two writers corrupt the
state). `force=True` releases a young one too, for an operator who knows its process is gone.
"""

from __future__ import annotations

from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.engine import Engine
from loono_infra.core.terraform.locks import LockInfo, lock_from_table
from loono_infra.flow.targets import (
    Target,
    aws_endpoint,
    checked_environment,
    prepare,
    resolve_target,
    workdir_lock,
)
from loono_infra.sandbox.control import SandboxInfo

YOUNGEST_ABANDONED_SECONDS = 15 * 60  # longer than an ordinary apply's silence


def unlock(settings: Settings, lock_id: str, *, sandbox: bool | None = None,
           engine: Engine | None = None, force: bool = False) -> LockInfo:
    """Releases the environment's state lock with exactly this ID; returns what it released."""
    wanted = lock_id.strip()
    if not wanted:
        raise LoonoError("unlock needs the lock ID the refused command named (--lock-id)")
    target = resolve_target(settings, sandbox, engine)
    sandbox_info, env = checked_environment(target)
    held = _releasable(settings.environment, _held_lock(target, sandbox_info), wanted, force)
    with workdir_lock(target.workdir):
        prepare(target, sandbox_info, env)
        commands.force_unlock(target.engine, target.workdir, env, wanted)
    return held


def _held_lock(target: Target, sandbox_info: SandboxInfo | None) -> LockInfo | None:
    state = target.settings.state
    item = aws_endpoint(target, sandbox_info).client("dynamodb").get_item(
        TableName=state.lock_table, Key={"LockID": {"S": f"{state.bucket}/{state.key}"}},
        ConsistentRead=True).get("Item")
    info = (item or {}).get("Info", {}).get("S")
    return lock_from_table(info) if info else None


def _releasable(environment: str, held: LockInfo | None, wanted: str,
                force: bool) -> LockInfo:
    if held is None:
        raise LoonoError(f"the state of {environment} is not locked: nothing to release")
    if held.lock_id != wanted:
        raise LoonoError(f"the state of {environment} is locked by {held.who} under another "
                         f"lock ID, {held.lock_id}: nothing released")
    age = held.age_seconds()
    if not force and (age is None or age < YOUNGEST_ABANDONED_SECONDS):
        minutes = "an unknown time" if age is None else f"{int(age // 60)} min"
        raise LoonoError(
            f"the lock {wanted} of {environment} ({held.who}, {held.operation}) is {minutes} "
            f"old: its run may still be going on, and two runs corrupt the state. Wait, or "
            f"pass --force if you know its process is gone")
    return held
