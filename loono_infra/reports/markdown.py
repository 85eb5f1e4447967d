"""Markdown renderings (pull-request comments, job summaries) from jinja2 templates."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from loono_infra.core.decision import Decision


def _environment() -> Environment:
    return Environment(loader=PackageLoader("loono_infra.reports", "templates"), autoescape=False,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render_markdown(template: str, **values: Any) -> str:
    """Renders one template of loono_infra/reports/templates."""
    return _environment().get_template(template).render(**values)


def decision_markdown(decision: Decision) -> str:
    """A gate's decision as Markdown for a pull-request comment."""
    return render_markdown("decision.md.j2", decision=decision)
