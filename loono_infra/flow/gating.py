"""The gating step around a plan: show and redact it, ask both judges, enforce at apply.

The judges (gates/) are pure; this step reads what they need — the plan's content, Checkov's
scans (flow/policy_scan.py), CODEOWNERS and the changed files, GitHub's reviews — and hands
them over. Every failure to read is a refusal with its reason (fail closed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.clients.github import ApprovalError, GitHubApprovals, GitHubContext
from loono_infra.core.decision import Decision, Failure
from loono_infra.core.errors import GateRefusedError, LoonoError
from loono_infra.core.files import write_atomically
from loono_infra.core.plans import REDACTED_PLAN, Plan, PlanContent
from loono_infra.core.redact import redacted_json
from loono_infra.core.render import PASSWORD_VARIABLE
from loono_infra.core.settings import Settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.args import PLAN_FILE
from loono_infra.core.terraform.models import ResourceChange
from loono_infra.flow.policy_scan import content_digest
from loono_infra.flow.repository import changed_files, find_codeowners
from loono_infra.flow.targets import Target
from loono_infra.gates.owners.approvals import Approvals
from loono_infra.gates.owners.decide import GATE as OWNERS_GATE
from loono_infra.gates.owners.decide import OwnersInputs, owners_decision


def needs_content(settings: Settings, mode: str, policy: bool) -> bool:
    return mode != "destroy" and (policy or settings.ownership.required)


def plan_content(target: Target, env: Mapping[str, str]) -> PlanContent:
    """Shows the saved plan, redacts its secrets, keeps the redacted copy for the scanners."""
    document = commands.show_plan(target.engine, target.workdir, env, PLAN_FILE)
    password = env.get(f"TF_VAR_{PASSWORD_VARIABLE}", "")
    text = redacted_json(document.raw, {password} if password else set())
    write_atomically(target.workdir / REDACTED_PLAN, text)
    return PlanContent(document, text, content_digest(text))


def owners_kept_or_judged(target: Target, result: Plan, previous: Plan | None) -> Decision:
    """An identical re-plan keeps its approval; any other plan is judged afresh."""
    kept = previous.owners if previous else None
    if (kept is not None and kept.passed and result.content_digest
            and previous is not None and previous.content_digest == result.content_digest):
        return replace(kept, notes=(*kept.notes, "kept: an identical re-plan of the approved plan"))
    return owners_for(target, result, None, None)


def owners_for(target: Target, result: Plan, base: str | None,
               context: GitHubContext | None) -> Decision:
    """The ownership gate's decision (report); apply enforces it where settings require it."""
    settings = target.settings
    digest = result.approval_digest
    if not settings.ownership.required:
        return Decision(OWNERS_GATE, digest, settings.environment, notes=(
            "approvals are not required for this environment (settings ownership.required)",))
    return judge_owners(target.project.root, settings, digest, result.changes,
                        base or os.environ.get("LOONO_GIT_BASE"), context)


def judge_owners(root: Path, settings: Settings, digest: str,
                 changes: Sequence[ResourceChange], base: str | None,
                 context: GitHubContext | None) -> Decision:
    """Reads CODEOWNERS, the changed files and GitHub's reviews; the owners judge decides."""
    try:
        inputs = owners_inputs(root, settings, changes, base)
        github = context or GitHubContext.from_environment()
    except LoonoError as error:
        return Decision(OWNERS_GATE, digest, settings.environment,
                        failures=(Failure("gate", error.message),))
    return owners_decision(settings, digest, inputs, _approvals(github))


def owners_inputs(root: Path, settings: Settings, changes: Sequence[ResourceChange],
                  base: str | None) -> OwnersInputs:
    """What the owners judge reads: CODEOWNERS, the settings file, the files changed since base."""
    file = find_codeowners(root)
    source = settings.source
    settings_file = (str(source.relative_to(root)) if source and source.is_relative_to(root)
                     else f"environments/{settings.environment}.toml")
    return OwnersInputs(
        codeowners_path=str(file.relative_to(root)) if file else None,
        codeowners_text=file.read_text(encoding="utf-8") if file else "",
        settings_file=settings_file,
        changed_files=tuple(changed_files(root, base)) if base else (),
        changes=tuple(changes))


def read_approvals(source: GitHubApprovals) -> Approvals:
    """The pull request, its reviews and a team lookup; an ApprovalError when unreadable."""
    pull = source.pull_request()
    return Approvals(pull, tuple(source.reviews(pull.number)), source.team_members)


def _approvals(context: GitHubContext | None) -> Approvals | str | None:
    """What GitHub says about the pull request, or why it could not be read."""
    if context is None:
        return None
    try:
        return read_approvals(GitHubApprovals(context))
    except ApprovalError as error:
        return error.message


def require_passed_decision(plan_: Plan) -> None:
    """Refuses (exit 3) unless the policy gate passed exactly this plan."""
    decision = plan_.decision
    if decision is None:
        raise GateRefusedError("this plan has no policy decision: plan it with the policy gate")
    if decision.digest != plan_.digest:
        raise GateRefusedError(f"the policy decision is for {decision.digest}, not {plan_.digest}")
    if not decision.passed:
        raise GateRefusedError(f"the policy gate refused {plan_.digest}",
                               [failure.message for failure in decision.failures])


def require_owner_approval(plan_: Plan) -> None:
    """Refuses (exit 3) unless the owners of everything the plan changes approved it."""
    owners = plan_.owners
    if owners is None or owners.digest != plan_.approval_digest:
        raise GateRefusedError(f"no ownership decision for {plan_.approval_digest}: run "
                               "`loono-infra owners` for this plan")
    if not owners.passed:
        raise GateRefusedError(f"the owners have not approved {plan_.digest}",
                               [failure.message for failure in owners.failures])


def write_emergency_audit(plan_: Plan, settings: Settings, reason: str,
                          endpoint: AwsEndpoint) -> None:
    """The emergency path: a reason is required, and the record goes next to the state."""
    from loono_infra.flow.audit import write_emergency_record

    if len(reason.strip()) < 10:
        raise LoonoError("an emergency apply needs a written reason (10 characters or more)")
    write_emergency_record(settings, plan_.digest, reason, endpoint,
                           [f.message for f in (plan_.owners.failures if plan_.owners else ())])
