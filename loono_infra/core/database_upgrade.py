"""A major PostgreSQL upgrade must happen now, not be queued for the maintenance window.

With apply_immediately false, RDS queues a major upgrade (and the new parameter group it needs)
for the maintenance window: the provider reads the running version back, so every plan shows the
upgrade again, and the replaced parameter group cannot be deleted while the instance still uses
it (InvalidDBParameterGroupState) — every apply fails until the window. The change that
upgrades the major version also sets database.apply_immediately = true.
"""

from __future__ import annotations

from loono_infra.core.terraform.models import PlanDocument


def _major(version: object) -> str | None:
    return str(version).split(".", 1)[0] if version else None


def queued_major_upgrades(document: PlanDocument) -> list[str]:
    """The database updates of this plan that change the major version without applying now."""
    problems = []
    for resource in document.resources:
        if resource.change.resource_type != "aws_db_instance" or \
                resource.change.action != "update":
            continue
        before, after = resource.before or {}, resource.after or {}
        old, new = _major(before.get("engine_version")), _major(after.get("engine_version"))
        if old and new and old != new and not after.get("apply_immediately"):
            problems.append(
                f"{resource.change.address}: PostgreSQL {old} -> {new} would wait for the "
                "maintenance window and fail every apply until then; set "
                "database.apply_immediately = true in the same change (the upgrade restarts "
                "the database: choose the time)")
    return problems
