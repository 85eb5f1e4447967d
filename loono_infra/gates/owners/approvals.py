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


def discounted_approvals(pull: PullRequestInfo, reviews: Sequence[Review]) -> dict[str, str]:
    """Reviewer (lower-case) -> why the approval they gave does not count, for every reviewer
    whose last counting review is an approval that does not count or a dismissal."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state in _COUNTING_STATES:
            latest[review.reviewer.lower()] = review
    approved = {r.reviewer.lower() for r in reviews if r.state in ("APPROVED", "DISMISSED")}
    reasons = {who: reason for who in sorted(approved)
               if (reason := _why_not_counted(pull, latest[who], who))}
    return reasons


def _why_not_counted(pull: PullRequestInfo, review: Review, who: str) -> str | None:
    if review.state == "DISMISSED":
        return "their review was dismissed"
    if review.state == "CHANGES_REQUESTED":
        return "they requested changes after approving"
    if who == pull.author.lower():
        return "they wrote the change"
    if review.commit_id != pull.head_sha:
        return (f"they approved {review.commit_id[:12] or 'an unknown commit'}, not the head "
                f"{pull.head_sha[:12]}")
    return None


def owned_by(owner: str, reviewer: str, members_of: MembersOf) -> bool:
    """Whether reviewer (lower-case login) is owner: the user, or a member of the team."""
    if owner.startswith("@") and "/" in owner:
        return reviewer in members_of(owner)
    return owner.startswith("@") and owner[1:].lower() == reviewer  # e-mails match no reviewer


def approval_by(owner: str, approvers: dict[str, Review], members_of: MembersOf) -> Review | None:
    """The approval that satisfies owner (a user, or any member of a team), if any."""
    return next((review for who, review in sorted(approvers.items())
                 if owned_by(owner, who, members_of)), None)


def missing_failure(describe: str, resources: Sequence[str], not_counted: Sequence[str] = (),
                    ) -> Failure:
    """A missing approval, with why the owners' own approvals did not count, if they gave any."""
    why = f"; not counted: {'; '.join(not_counted)}" if not_counted else ""
    return Failure("approval", f"missing approval from {describe}{why}",
                   resource=", ".join(resources) or None)
