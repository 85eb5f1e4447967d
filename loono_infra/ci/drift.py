"""Drift: a refresh-only plan says what changed outside Terraform, attribute by attribute.

Terraform's refresh also lists values nobody changed by hand: computed ones (a timestamp, an
association id), ones other resources of the stack manage (security group rules, policy
attachments, routes) and empty values the provider 3.x reads back in another shape (null for
[] or {}). Only a change to an attribute the configuration sets is drift; the rest is listed
apart and does not fail the run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from loono_infra.ci.actions import ActionsRun, run_url
from loono_infra.ci.drift_issue import track_drift
from loono_infra.clients.github import GitHubContext
from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings
from loono_infra.core.terraform.drift import DriftedResource, classify_document
from loono_infra.flow import pipeline
from loono_infra.reports.markdown import render_markdown


@dataclass(frozen=True)
class DriftResult:
    environment: str
    drifted: tuple[DriftedResource, ...]
    normalised: tuple[str, ...]
    markdown: str
    issue: str | None = None  # what happened to the drift issue: opened, updated, closed, none

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "drifted": [d.__dict__ for d in self.drifted],
                "normalised": list(self.normalised), "issue": self.issue}


def detect_drift(settings: Settings, sandbox: bool | None = None,
                 track_issue: bool = False) -> DriftResult:
    """Runs the refresh-only plan and classifies its drift; with track_issue the environment's
    GitHub drift issue is opened, updated or closed to match (ci/drift_issue.py)."""
    plan = pipeline.plan(settings, sandbox=sandbox, mode="refresh-only", policy=False)
    document = pipeline.show(plan, settings)
    real, normalised = classify_document(document.raw)
    markdown = render_markdown("drift.md.j2", environment=settings.environment, drifted=real,
                               normalised=normalised)
    run = ActionsRun.from_environment()
    run.add_summary(markdown)
    run.set_output("drifted", str(bool(real)).lower())
    result = DriftResult(settings.environment, tuple(real), tuple(normalised), markdown)
    return _tracked(result, run) if track_issue else result


def _tracked(result: DriftResult, run: ActionsRun) -> DriftResult:
    """The result with its issue outcome; when GitHub cannot take it, the job summary (already
    written) says so and the step fails with the reason."""
    context = GitHubContext.from_environment()
    if context is None:
        raise LoonoError("--issue needs GitHub's context (GITHUB_REPOSITORY and GITHUB_TOKEN)")
    try:
        outcome = track_drift(context, result.environment, len(result.drifted), result.markdown,
                              run_url())
    except LoonoError as error:
        run.add_summary(f"> ⚠️ **The drift issue could not be written**: {error.message}.")
        run.set_output("issue", "failed")
        raise
    run.set_output("issue", outcome)
    return replace(result, issue=outcome)
