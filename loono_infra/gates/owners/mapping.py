"""Who must approve a change: owners of the changed files and of the planned resources.

A planned resource belongs to the module directory that declares it, so a
settings edit that replaces the database needs the database owners although no
file under terraform/modules/rds/ changed. Deleting or replacing a stateful
resource, or one that serves the traffic (the ECS service, its target group, the load
balancer: replacing them interrupts the service), needs, in addition, one of the settings'
risky-action approvers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loono_infra.core.terraform.models import ResourceChange
from loono_infra.gates.owners.codeowners import CodeOwners

STATEFUL_TYPES = frozenset({"aws_db_instance", "aws_ecr_repository", "aws_cloudwatch_log_group",
                            "aws_s3_bucket", "aws_dynamodb_table"})
SERVING_TYPES = frozenset({"aws_ecs_service", "aws_lb_target_group", "aws_lb"})
RISKY_TYPES = STATEFUL_TYPES | SERVING_TYPES
RISKY_ACTIONS = frozenset({"delete", "replace"})


@dataclass(frozen=True)
class Requirement:
    """An approval needed from any one of owners, for these files and resources."""

    owners: tuple[str, ...]
    files: tuple[str, ...]
    resources: tuple[str, ...]
    risky: bool = False

    def describe(self) -> str:
        """One line: who, for what."""
        what = [*self.files, *self.resources]
        shown = ", ".join(what[:4]) + (f" and {len(what) - 4} more" if len(what) > 4 else "")
        kind = "risky change" if self.risky else "change"
        return f"any of {' '.join(self.owners) or '(nobody)'} for the {kind} of {shown}"


def module_file(change: ResourceChange, modules_prefix: str, settings_file: str) -> str:
    """The file whose owners own a planned resource: its module's main.tf, or the settings."""
    module = change.module_name
    return f"{modules_prefix}/{module}/main.tf" if module else settings_file


def _group(pairs: Iterable[tuple[tuple[str, ...], str, bool]]) -> list[Requirement]:
    grouped: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    for owners, item, is_resource in pairs:
        files, resources = grouped.setdefault(owners, ([], []))
        (resources if is_resource else files).append(item)
    return [Requirement(owners, tuple(sorted(set(files))), tuple(sorted(set(resources))))
            for owners, (files, resources) in sorted(grouped.items())]


def requirements(codeowners: CodeOwners, files: Sequence[str],
                 changes: Sequence[ResourceChange], modules_prefix: str, settings_file: str,
                 risky_approvers: Sequence[str]) -> list[Requirement]:
    """Every approval the change needs (files and plan), plus risky-action approvals."""
    pairs = [(codeowners.owners_of(path), path, False) for path in files]
    changing = [c for c in changes if c.changes_something]
    pairs += [(codeowners.owners_of(module_file(c, modules_prefix, settings_file)), c.address,
               True) for c in changing]
    needed = _group(pairs)
    risky = sorted(c.address for c in changing
                   if c.action in RISKY_ACTIONS and c.resource_type in RISKY_TYPES)
    if risky:
        needed.append(Requirement(tuple(risky_approvers), (), tuple(risky), risky=True))
    return needed


def coverage_problems(codeowners: CodeOwners, modules_prefix: str) -> list[str]:
    """Why a CODEOWNERS cannot be trusted: invalid lines, empty, or terraform/ unowned."""
    problems = [f"{codeowners.source} {problem}" for problem in codeowners.problems]
    if not codeowners.rules:
        problems.append(f"{codeowners.source} has no ownership rules")
    elif not codeowners.owners_of(f"{modules_prefix}/main.tf"):
        problems.append(f"{codeowners.source} gives {modules_prefix}/ no owner")
    return problems
