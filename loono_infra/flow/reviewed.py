"""What is applied is what was reviewed: the plan the owners approved at the pull request's head.

The pull-request report records, in its one marked comment (written by the workflow's identity,
`github-actions[bot]`), the head commit and, per environment, the content digest of the plan and
a digest per changed resource. A comment is where reviewers already look, it is edited in place
on every push to the PR, and the apply job can read it back with the token it has. After merge,
the apply job re-plans and applies only when the new plan's content digest equals the recorded
one, the record belongs to the merged pull request's final head, and that pull request is the
one GitHub merged *as* the pushed commit. Otherwise it refuses and names the resources that
differ from the reviewed plan.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loono_infra.clients.github import GitHubApprovals, GitHubContext
from loono_infra.clients.github_retries import ApprovalError
from loono_infra.core.errors import GateRefusedError
from loono_infra.core.plans import Plan

RECORD_MARKER = "loono-infra:reviewed:v1"
REPORT_AUTHOR_ENV = "LOONO_REPORT_AUTHOR"
DEFAULT_REPORT_AUTHOR = "github-actions[bot]"
_RECORD = re.compile(r"<!-- " + re.escape(RECORD_MARKER) + r" (\{.*?\}) -->", re.DOTALL)


class NotReviewedError(GateRefusedError):
    """The plan to apply is not the plan the owners reviewed."""

    def __init__(self, message: str, pull_number: int | None, differing: Sequence[str]) -> None:
        super().__init__(message, [f"differs from the reviewed plan: {a}" for a in differing])
        self.pull_number = pull_number
        self.differing = tuple(differing)


def record_block(head_sha: str, plans: Sequence[Plan]) -> str:
    """The hidden block the report embeds in its comment."""
    record = {"head": head_sha, "environments": {
        p.environment: {"content_digest": p.content_digest, "changes": p.change_digests}
        for p in plans}}
    return f"<!-- {RECORD_MARKER} {json.dumps(record, sort_keys=True)} -->"


def parse_record(bodies: Sequence[str]) -> dict[str, Any] | None:
    """The newest record among comment bodies, or None."""
    for body in reversed(bodies):  # in a body the last block counts: the report appends its
        for found in reversed(_RECORD.findall(body)):  # record after all a change can write
            try:
                record: dict[str, Any] = json.loads(found)
                return record
            except ValueError:
                continue
    return None


def differing_resources(reviewed: dict[str, str], planned: dict[str, str]) -> list[str]:
    """Addresses the two plans change differently (or that only one of them changes)."""
    return sorted(address for address in set(reviewed) | set(planned)
                  if reviewed.get(address) != planned.get(address))


@dataclass(frozen=True)
class Reviewed:
    """The merged pull request and what its owners reviewed for one environment."""

    pull_number: int
    head_sha: str


def require_reviewed(plan: Plan, context: GitHubContext) -> Reviewed:
    """Refuses (NotReviewedError) unless plan is exactly the reviewed plan of the merged PR."""
    source = GitHubApprovals(context)
    try:
        pull = source.pull_request()
        author = os.environ.get(REPORT_AUTHOR_ENV) or DEFAULT_REPORT_AUTHOR
        record = parse_record(source.comments_by(pull.number, author))
    except ApprovalError as error:
        raise NotReviewedError(f"the reviewed plan cannot be read: {error.message}", None,
                               ()) from None
    if record is None or record.get("head") != pull.head_sha:
        raise NotReviewedError(f"pull request #{pull.number} has no report of its final head "
                               f"{pull.head_sha[:12]}: nothing was reviewed", pull.number, ())
    reviewed = (record.get("environments") or {}).get(plan.environment)
    if not isinstance(reviewed, dict):
        raise NotReviewedError(f"pull request #{pull.number}'s report has no plan of "
                               f"{plan.environment}", pull.number, ())
    if reviewed.get("content_digest") != plan.content_digest or not plan.content_digest:
        differing = differing_resources(dict(reviewed.get("changes") or {}),
                                        plan.change_digests)
        raise NotReviewedError(
            f"the plan of {plan.environment} ({plan.content_digest}) is not the plan reviewed "
            f"in pull request #{pull.number} ({reviewed.get('content_digest')}); main moved "
            "or the state changed since: re-plan in a new pull request", pull.number, differing)
    return Reviewed(pull.number, pull.head_sha)
