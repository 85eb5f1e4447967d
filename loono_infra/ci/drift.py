"""Drift: a refresh-only plan says what changed outside Terraform, attribute by attribute.

Terraform's refresh also lists values nobody changed by hand: computed ones (a timestamp, an
association id), ones other resources of the stack manage (security group rules, policy
attachments, routes) and empty values the provider 3.x reads back in another shape (null for
[] or {}). Only a change to an attribute the configuration sets is drift; the rest is listed
apart and does not fail the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loono_infra.ci.actions import ActionsRun
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

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "drifted": [d.__dict__ for d in self.drifted],
                "normalised": list(self.normalised)}


def detect_drift(settings: Settings, sandbox: bool | None = None) -> DriftResult:
    """Runs the refresh-only plan and classifies its drift."""
    plan = pipeline.plan(settings, sandbox=sandbox, mode="refresh-only", policy=False)
    document = pipeline.show(plan, settings)
    real, normalised = classify_document(document.raw)
    markdown = render_markdown("drift.md.j2", environment=settings.environment, drifted=real,
                               normalised=normalised)
    run = ActionsRun.from_environment()
    run.add_summary(markdown)
    run.set_output("drifted", str(bool(real)).lower())
    return DriftResult(settings.environment, tuple(real), tuple(normalised), markdown)
