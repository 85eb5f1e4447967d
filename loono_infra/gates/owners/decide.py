"""The ownership gate: CODEOWNERS text, the changed files, the plan and the approvals in ->
one Decision out. Pure: the flow reads the file, git and GitHub (flow/gating.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loono_infra.clients.github import Review
from loono_infra.core.decision import Decision, Failure
from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings
from loono_infra.core.terraform.models import ResourceChange
from loono_infra.gates.owners.approvals import (
    Approvals,
    MembersOf,
    approval_by,
    discounted_approvals,
    effective_approvers,
    missing_failure,
    owned_by,
)
from loono_infra.gates.owners.codeowners import parse_codeowners
from loono_infra.gates.owners.mapping import Requirement, coverage_problems, requirements

GATE = "owners"


@dataclass(frozen=True)
class OwnersInputs:
    """What the ownership gate judges: CODEOWNERS (path, text), the change and its settings file."""

    codeowners_path: str | None
    codeowners_text: str
    settings_file: str
    changed_files: tuple[str, ...]
    changes: tuple[ResourceChange, ...]


def _not_counted(requirement: Requirement, discounted: dict[str, str],
                 members_of: MembersOf) -> list[str]:
    """Why the approvals that requirement's owners gave do not count ("dora: they ...")."""
    return [f"{who}: {reason}" for who, reason in discounted.items()
            if any(owned_by(owner, who, members_of) for owner in requirement.owners)]


def _judge(needed: Sequence[Requirement], approvers: dict[str, Review], discounted: dict[str, str],
           members_of: MembersOf) -> tuple[list[Failure], list[str]]:
    failures: list[Failure] = []
    evidence: list[str] = []
    for requirement in needed:
        found = [(o, r) for o in requirement.owners
                 if (r := approval_by(o, approvers, members_of)) is not None]
        if found:
            owner, review = found[0]
            evidence.append(f"{owner}: approved by {review.reviewer} (review {review.review_id} "
                            f"on {review.commit_id[:12]}) for {requirement.describe()}")
        else:
            failures.append(missing_failure(requirement.describe(), requirement.resources,
                                            _not_counted(requirement, discounted, members_of)))
    return failures, evidence


def judge_approvals(needed: Sequence[Requirement], approvals: Approvals,
                    ) -> tuple[list[Failure], list[str]]:
    """Judges the requirements against the pull request's reviews."""
    pull = approvals.pull
    approvers = effective_approvers(pull, approvals.reviews)
    discounted = discounted_approvals(pull, approvals.reviews)
    failures, evidence = _judge(needed, approvers, discounted, approvals.members_of)
    return failures, [f"pull request #{pull.number} by {pull.author} at {pull.head_sha[:12]}",
                      *evidence]


def owners_decision(settings: Settings, digest: str, inputs: OwnersInputs,
                    approvals: Approvals | str | None) -> Decision:
    """Every approval this plan (and the files changed since base) needs, and which are missing.

    approvals: what GitHub said, or why it could not be read (a refusal), or None when no
    pull request is known (a local run cannot approve itself).
    """
    env = settings.environment
    if inputs.codeowners_path is None:
        return Decision(GATE, digest, env, failures=(Failure("codeowners", "no CODEOWNERS file "
                        "(.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)"),))
    codeowners = parse_codeowners(inputs.codeowners_text, inputs.codeowners_path)
    problems = [Failure("codeowners", p) for p in coverage_problems(codeowners, "terraform")]
    if problems:
        return Decision(GATE, digest, env, failures=tuple(problems))
    needed = requirements(codeowners, inputs.changed_files, inputs.changes, "terraform/modules",
                          inputs.settings_file, settings.ownership.risky_approvers)
    if isinstance(approvals, str):
        return Decision(GATE, digest, env, failures=(Failure("gate", approvals),))
    if approvals is None:
        failures = [Failure("approval", f"no verifiable approval from {r.describe()}: approvals "
                            "are read from a GitHub pull request (GITHUB_REPOSITORY, "
                            "GITHUB_TOKEN); a local run cannot approve itself")
                    for r in needed]
        return Decision(GATE, digest, env, failures=tuple(failures))
    try:
        failures, evidence = judge_approvals(needed, approvals)
    except LoonoError as error:  # team membership read lazily, and it failed
        return Decision(GATE, digest, env, failures=(Failure("gate", error.message),))
    return Decision(GATE, digest, env, failures=tuple(failures), notes=tuple(evidence),
                    checked=len(needed))
