"""The pull-request report: per environment the plan's counts, replaced and destroyed resources,
the policy findings, the owners still needed, every change with its attribute diff (folded to
fit GitHub's comment limit: reports/diff_markdown.py) and the plan digest. One comment, kept
up to date.

Every known secret value (the database password) is scrubbed from the rendered text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from loono_infra.core.plans import Plan
from loono_infra.core.redact import scrub
from loono_infra.flow.reviewed import NotReviewedError, record_block
from loono_infra.reports.diff_markdown import COMMENT_LIMIT, fit_diffs
from loono_infra.reports.markdown import render_markdown
from loono_infra.reports.plan_diff import ResourceDiff

MARKER = "<!-- loono-infra:plan-report -->"


@dataclass(frozen=True)
class EnvironmentReport:
    """What the report says about one environment's plan."""

    environment: str
    digest: str
    add: int
    change: int
    destroy: int
    replaced: tuple[str, ...]
    destroyed: tuple[str, ...]
    policy_passed: bool | None
    policy_failures: tuple[str, ...]
    overridden: int
    owners_passed: bool | None
    owners_failures: tuple[str, ...]
    service_rollout: str | None = None
    adopted: tuple[str, ...] = ()  # imported: a killed run's leftovers, adopted with --adopt
    dangling: tuple[str, ...] = ()  # leftovers the plan would create again (apply refuses)
    diff: str = ""  # the changes table and attribute diffs, as Markdown that fits

    @classmethod
    def of(cls, plan: Plan) -> EnvironmentReport:
        changes = plan.changes
        policy, owners = plan.decision, plan.owners
        return cls(
            environment=plan.environment, digest=plan.digest, add=plan.summary.add,
            change=plan.summary.change, destroy=plan.summary.destroy,
            replaced=tuple(c.address for c in changes if c.action == "replace"),
            destroyed=tuple(c.address for c in changes if c.action == "delete"),
            policy_passed=None if policy is None else policy.passed,
            policy_failures=_failures(policy),
            overridden=0 if policy is None else sum(
                f.overridden_by is not None for f in policy.findings),
            owners_passed=None if owners is None else owners.passed,
            owners_failures=_failures(owners), service_rollout=plan.service_rollout,
            adopted=plan.adopted, dangling=plan.dangling)

    @property
    def ready(self) -> bool:
        return self.policy_passed is not False and self.owners_passed is not False \
            and not self.dangling


def _failures(decision: Any) -> tuple[str, ...]:
    if decision is None:
        return ()
    return tuple(
        " ".join(part for part in (f.check_id, f"`{f.resource}`" if f.resource else "",
                                   f.message) if part)
        for f in decision.failures)


def render_report(plans: Sequence[Plan], secrets: Iterable[str] = (),
                  run_url: str | None = None, head_sha: str | None = None,
                  diffs: Mapping[str, Sequence[ResourceDiff]] | None = None,
                  limit: int = COMMENT_LIMIT) -> str:
    """The comment's Markdown (starting with the marker that finds it again), and, for a pull
    request's head, the hidden record of what was reviewed (flow/reviewed.py); diffs
    (environment -> its changes) are folded until the whole text is within limit characters."""
    known = list(secrets)
    reports = [EnvironmentReport.of(plan) for plan in plans]
    record = "\n\n" + record_block(head_sha, plans) + "\n" if head_sha else ""
    base = _rendered(reports, run_url, record, known)
    if diffs:
        room = limit - len(base) - 4 * len(reports) - 64  # blank lines around each diff
        fitted = fit_diffs(diffs, room, lambda text: scrub(text, known), _fold_note(run_url))
        reports = [replace(r, diff=fitted.get(r.environment, "")) for r in reports]
        base = _rendered(reports, run_url, record, known)
    return base


def _rendered(reports: Sequence[EnvironmentReport], run_url: str | None, record: str,
              secrets: Sequence[str]) -> str:
    text = render_markdown("pr_report.md.j2", marker=MARKER, reports=reports, run_url=run_url)
    return scrub(text.rstrip("\n") + record + ("" if record else "\n"), secrets)


def _fold_note(run_url: str | None) -> str:
    where = f"the [workflow run]({run_url})'s" if run_url else "the workflow run's"
    return (f"> Folded to stay within GitHub's comment limit: {where} job summary shows "
            "every change and attribute.")


def not_reviewed_comment(plan: Plan, refused: NotReviewedError) -> str:
    """What the apply job tells the merged pull request when main moved under it."""
    lines = [f"### ❌ Not applied: {plan.environment} is not the plan reviewed here", "",
             refused.message, ""]
    if refused.differing:
        lines += ["Resources the plan on main changes differently from the reviewed plan:", ""]
        lines += [f"- `{address}`" for address in refused.differing]
    lines += ["", "Nothing was applied. Open a new pull request so its owners review this plan."]
    return "\n".join(lines) + "\n"
