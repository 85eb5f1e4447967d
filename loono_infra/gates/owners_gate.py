"""The ownership gate: requirements from CODEOWNERS, approvals from GitHub -> Decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from loono_infra.gates.approvals import (
    ApprovalError,
    GitHubApprovals,
    GitHubContext,
    Review,
    effective_approvers,
)
from loono_infra.gates.codeowners import find_codeowners, parse_codeowners
from loono_infra.gates.decision import Decision, Failure
from loono_infra.gates.ownership import (
    Requirement,
    changed_files,
    coverage_problems,
    requirements,
)
from loono_infra.settings import Settings
from loono_infra.terraform.models import ResourceChange

GATE = "owners"
MembersOf = Callable[[str], frozenset[str]]


def approval_by(owner: str, approvers: dict[str, Review], members_of: MembersOf) -> Review | None:
    """The approval that satisfies owner (a user, or any member of a team), if any."""
    if owner.startswith("@") and "/" in owner:
        members = members_of(owner)
        return next((r for who, r in sorted(approvers.items()) if who in members), None)
    if owner.startswith("@"):
        return approvers.get(owner[1:].lower())
    return None  # e-mail owners cannot be matched to GitHub reviewers


def _judge(needed: Sequence[Requirement], approvers: dict[str, Review],
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
            failures.append(Failure("approval", f"missing approval from {requirement.describe()}",
                                    resource=", ".join(requirement.resources) or None))
    return failures, evidence


def evaluate_with_github(needed: Sequence[Requirement], source: GitHubApprovals,
                         ) -> tuple[list[Failure], list[str]]:
    """Judges the requirements against the pull request's reviews."""
    pull = source.pull_request()
    approvers = effective_approvers(pull, source.reviews(pull.number))
    failures, evidence = _judge(needed, approvers, source.team_members)
    return failures, [f"pull request #{pull.number} by {pull.author} at {pull.head_sha[:12]}",
                      *evidence]


def owners_decision(root: Path, settings: Settings, digest: str,
                    changes: Sequence[ResourceChange], base: str | None,
                    context: GitHubContext | None) -> Decision:
    """Every approval this plan (and the files changed since base) needs, and which are missing."""
    env = settings.environment
    file = find_codeowners(root)
    if file is None:
        return Decision(GATE, digest, env, failures=(Failure("codeowners", "no CODEOWNERS file "
                        "(.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)"),))
    codeowners = parse_codeowners(file.read_text(encoding="utf-8"), str(file.relative_to(root)))
    problems = [Failure("codeowners", p) for p in coverage_problems(codeowners, "terraform")]
    settings_file = (str(settings.source.relative_to(root)) if settings.source
                     and settings.source.is_relative_to(root) else f"environments/{env}.toml")
    files = changed_files(root, base) if base else []
    needed = requirements(codeowners, files, changes, "terraform/modules", settings_file,
                          settings.ownership.risky_approvers)
    if problems:
        return Decision(GATE, digest, env, failures=tuple(problems))
    if context is None:
        failures = [Failure("approval", f"no verifiable approval from {r.describe()}: approvals "
                            "are read from a GitHub pull request (GITHUB_REPOSITORY, "
                            "GITHUB_TOKEN); a local run cannot approve itself")
                    for r in needed]
        return Decision(GATE, digest, env, failures=tuple(failures))
    try:
        failures, evidence = evaluate_with_github(needed, GitHubApprovals(context))
    except ApprovalError as error:
        return Decision(GATE, digest, env, failures=(Failure("gate", error.message),))
    return Decision(GATE, digest, env, failures=tuple(failures), notes=tuple(evidence),
                    checked=len(needed))
