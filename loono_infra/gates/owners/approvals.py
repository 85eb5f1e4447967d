"""Which reviews count as approvals, with GitHub's review semantics. Pure: reviews in.

Only the latest counting review of each reviewer counts; only APPROVED approves; a review of
an older head commit is stale; the author never approves their own change; a team owner is
satisfied by any member.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loono_infra.clients.github import PullRequestInfo, Review
from loono_infra.core.decision import Failure

_COUNTING_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
MembersOf = Callable[[str], frozenset[str]]


@dataclass(frozen=True)
class Approvals:
    """What GitHub said about the pull request: the pull, its reviews, and team membership."""

    pull: PullRequestInfo
    reviews: tuple[Review, ...]
    members_of: MembersOf


def effective_approvers(pull: PullRequestInfo, reviews: Sequence[Review]) -> dict[str, Review]:
    """Reviewer (lower-case) -> their counting approval of the current head commit."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state in _COUNTING_STATES:
            latest[review.reviewer.lower()] = review
    return {who: review for who, review in latest.items()
            if review.state == "APPROVED" and review.commit_id == pull.head_sha
            and who != pull.author.lower()}


def approval_by(owner: str, approvers: dict[str, Review], members_of: MembersOf) -> Review | None:
    """The approval that satisfies owner (a user, or any member of a team), if any."""
    if owner.startswith("@") and "/" in owner:
        members = members_of(owner)
        return next((r for who, r in sorted(approvers.items()) if who in members), None)
    if owner.startswith("@"):
        return approvers.get(owner[1:].lower())
    return None  # e-mail owners cannot be matched to GitHub reviewers


def missing_failure(describe: str, resources: Sequence[str]) -> Failure:
    return Failure("approval", f"missing approval from {describe}",
                   resource=", ".join(resources) or None)
