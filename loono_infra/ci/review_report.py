"""`loono-infra report`: plan every environment, both gates in report mode, then one PR comment
(edited, never re-posted), the job summary and the step outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from loono_infra.ci.actions import ActionsRun, run_url
from loono_infra.ci.comment_text import MARKER, not_reviewed_comment, render_report
from loono_infra.clients.github import GitHubContext, post_comment, upsert_comment
from loono_infra.core.errors import LoonoError
from loono_infra.core.plans import REDACTED_PLAN, Plan
from loono_infra.core.secrets import known_secrets
from loono_infra.core.settings import Settings
from loono_infra.flow import pipeline
from loono_infra.flow.reviewed import NotReviewedError, Reviewed, require_reviewed
from loono_infra.reports.diff_markdown import SUMMARY_LIMIT
from loono_infra.reports.plan_diff import ResourceDiff, resource_diffs


@dataclass(frozen=True)
class ReportResult:
    """The plans, the Markdown and what happened to the pull-request comment."""

    plans: tuple[Plan, ...]
    markdown: str
    comment: str  # "created", "edited" or "none"

    @property
    def ready(self) -> bool:
        return all((p.decision is None or p.decision.passed) and
                   (p.owners is None or p.owners.passed) and not p.dangling for p in self.plans)

    def as_dict(self) -> dict[str, object]:
        return {"ready": self.ready, "comment": self.comment, "markdown": self.markdown,
                "environments": {p.environment: {"digest": p.digest, "has_changes": p.has_changes,
                                                 "summary": p.to_dict()["summary"]}
                                 for p in self.plans}}


def pull_request_report(environments: Sequence[Settings], sandbox: bool | None = None,
                        comment: bool = True, run: ActionsRun | None = None,
                        base: str | None = None) -> ReportResult:
    """Plans each environment and reports; never refuses (the gates enforce at apply)."""
    run = run or ActionsRun.from_environment()
    plans = tuple(pipeline.plan(settings, sandbox=sandbox, base=base) for settings in environments)
    secrets = [s for settings in environments for s in known_secrets(settings, sandbox)]
    head = ((run.event.get("pull_request") or {}).get("head") or {}).get("sha")
    diffs = {plan.environment: plan_diffs(plan) for plan in plans}
    markdown = render_report(plans, secrets, run_url(), head, diffs)
    run.add_summary(render_report(plans, secrets, run_url(), head, diffs, SUMMARY_LIMIT))
    run.set_output("digests", json.dumps({p.environment: p.digest for p in plans}))
    run.set_output("has_changes", str(any(p.has_changes for p in plans)).lower())
    outcome = "none"
    context = GitHubContext.from_environment()
    if comment and run.pull_number is not None and context is not None:
        outcome = _commented(run, context, run.pull_number, markdown)
    result = ReportResult(plans, markdown, outcome)
    run.set_output("ready", str(result.ready).lower())
    return result


def plan_diffs(plan: Plan) -> list[ResourceDiff]:
    """The plan's changes at attribute level, from its redacted document (none if unreadable:
    the table of counts and addresses still stands)."""
    try:
        document = json.loads((plan.workdir / REDACTED_PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return resource_diffs(document)


def _commented(run: ActionsRun, context: GitHubContext, pull_number: int, markdown: str) -> str:
    """The pull request's comment; when GitHub cannot take it, the job summary (already
    written) says so and the step fails with the reason."""
    try:
        return upsert_comment(context, pull_number, markdown, MARKER)
    except LoonoError as error:
        run.add_summary(f"> ⚠️ **The pull request comment could not be written**: "
                        f"{error.message}. This job summary is the report.")
        run.set_output("comment", "failed")
        raise


def enforce_reviewed(plan: Plan, context: GitHubContext | None = None) -> Reviewed:
    """The push apply's check: plan must be the reviewed plan of the merged pull request.

    On a mismatch it tells the pull request (a new comment naming the resources) and refuses.
    """
    github = context or GitHubContext.from_environment()
    if github is None:
        raise NotReviewedError("no GitHub context (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_SHA): "
                               "the reviewed plan cannot be read", None, ())
    try:
        return require_reviewed(plan, github)
    except NotReviewedError as refused:
        if refused.pull_number is not None:
            post_comment(github, refused.pull_number, not_reviewed_comment(plan, refused))
        ActionsRun.from_environment().add_summary(not_reviewed_comment(plan, refused))
        raise
