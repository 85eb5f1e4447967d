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


def emergency_markdown(emergency: dict[str, Any]) -> str:
    """The job summary of a break-glass apply: who, why, where the locked record is."""
    record = emergency["record"]
    who = ", ".join(f"{k}: `{v}`" for k, v in sorted(record["who"].items()))
    told = (f"announced on `{emergency['topic_arn']}` (message {emergency['message_id']})"
            if emergency.get("topic_arn") else "no alarm topic exists yet: nobody was paged")
    missing = "".join(f"\n- {m}" for m in record.get("missing_approvals") or [])
    return (f"## 🚨 EMERGENCY APPLY to {record['environment']}\n\n"
            f"**Who**: {who}\n\n**Why**: {record['reason']}\n\n"
            f"**Plan**: `{record['digest']}`\n\n**Record**: `s3://{emergency['bucket']}/"
            f"{emergency['key']}` (version `{emergency['version_id']}`, object lock)\n\n"
            f"**Told**: {told}\n\n**Approvals it went without**:{missing or ' none'}\n")
