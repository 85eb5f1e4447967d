"""The gating step around a plan: show and redact it, ask both judges, enforce at apply.

The judges (gates/) are pure; this step reads what they need — the plan's content, Checkov's
scans (flow/policy_scan.py), CODEOWNERS and the changed files, GitHub's reviews — and hands
them over. Every failure to read is a refusal with its reason (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.clients.github import GitHubApprovals, GitHubContext
from loono_infra.clients.github_retries import ApprovalError
from loono_infra.core.decision import Decision, Failure
from loono_infra.core.errors import GateRefusedError, LoonoError
from loono_infra.core.files import write_atomically
from loono_infra.core.plans import REDACTED_PLAN, Plan, PlanContent, change_digests, content_digest
from loono_infra.core.redact import redacted_json
from loono_infra.core.render import PASSWORD_VARIABLE
from loono_infra.core.settings import Settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.args import PLAN_FILE
from loono_infra.core.terraform.models import ResourceChange
from loono_infra.core.workspace import Project
from loono_infra.flow import trusted
from loono_infra.flow.audit import EmergencyRecord, write_emergency_record
from loono_infra.flow.repository import changed_files
from loono_infra.flow.targets import Target
from loono_infra.flow.trusted import Rules, TrustedRules
from loono_infra.gates.owners.approvals import Approvals
from loono_infra.gates.owners.codeowners import parse_codeowners
from loono_infra.gates.owners.decide import GATE as OWNERS_GATE
from loono_infra.gates.owners.decide import OwnersInputs, judge_approvals, owners_decision
from loono_infra.gates.owners.mapping import requirements


def rules_for(target: Target, base: str | None, context: GitHubContext | None) -> Rules:
    """The base revision's rules; the change's own once the base owners approved its gate files."""
    revision = trusted.base_revision(base)
    try:
        return _rules(target, revision, context)
    except LoonoError as error:
        return Rules(target.settings, None, revision, f"no trusted rules ({error.message})",
                     error.message)


def _rules(target: Target, revision: str, context: GitHubContext | None) -> Rules:
    project, settings = target.project, target.settings
    base_rules = trusted.rules_at(project, revision)
    head = trusted.resolve(project.root, "HEAD")
    settings_file = trusted.settings_file_of(project, settings)
    changed = (trusted.gate_files_changed(project, base_rules.commit, head, settings_file)
               if head != base_rules.commit else [])
    chosen, note = base_rules, base_rules.describe()
    if changed and _approved_by_base_owners(base_rules, changed, settings, context):
        chosen = trusted.rules_at(project, head)
        note = (f"{chosen.describe()}: its gate files ({', '.join(changed)}) were approved by "
                f"their owners under the {base_rules.describe()}")
    elif changed:
        note = (f"{base_rules.describe()}: the change's gate files ({', '.join(changed)}) "
                "judge only once their owners there approve them")
    sections = trusted.gate_sections(project, chosen.commit, settings_file)
    return Rules(trusted.judged_settings(settings, sections), chosen, revision, note,
                 base_commit=base_rules.commit, head_commit=head)


def _approved_by_base_owners(base_rules: TrustedRules, changed: list[str], settings: Settings,
                             context: GitHubContext | None) -> bool:
    approvals = _approvals(context or GitHubContext.from_environment())
    if not isinstance(approvals, Approvals) or base_rules.codeowners_path is None:
        return False
    codeowners = parse_codeowners(base_rules.codeowners_text, base_rules.codeowners_path)
    needed = requirements(codeowners, changed, (), "terraform/modules", "",
                          settings.ownership.risky_approvers)
    try:
        failures, _ = judge_approvals(needed, approvals)
    except LoonoError:
        return False
    return not failures and bool(needed)


def needs_content(settings: Settings, mode: str, policy: bool) -> bool:
    return mode != "destroy" and (policy or settings.ownership.required)


def plan_content(target: Target, env: Mapping[str, str]) -> PlanContent:
    """Shows the saved plan, redacts its secrets, keeps the redacted copy for the scanners."""
    document = commands.show_plan(target.engine, target.workdir, env, PLAN_FILE)
    password = env.get(f"TF_VAR_{PASSWORD_VARIABLE}", "")
    text = redacted_json(document.raw, {password} if password else set())
    write_atomically(target.workdir / REDACTED_PLAN, text, durable=False)  # made by every plan
    return PlanContent(document, text, content_digest(text), change_digests(text))


def owners_kept_or_judged(target: Target, result: Plan, previous: Plan | None,
                          rules: Rules) -> Decision:
    """An identical re-plan keeps its approval; any other plan is judged afresh."""
    kept = previous.owners if previous else None
    if (kept is not None and kept.passed and result.content_digest and kept.rules == rules.note
            and previous is not None and previous.content_digest == result.content_digest):
        return replace(kept, notes=(*kept.notes, "kept: an identical re-plan of the approved plan"))
    return owners_for(target, result, rules, None)


def owners_for(target: Target, result: Plan, rules: Rules,
               context: GitHubContext | None) -> Decision:
    """The ownership gate's decision (report); apply enforces it where settings require it."""
    settings = rules.settings
    digest = result.approval_digest
    if rules.trusted is None:
        return Decision(OWNERS_GATE, digest, settings.environment, rules=rules.note,
                        failures=(Failure("gate", rules.problem or "no trusted rules"),))
    if not settings.ownership.required:
        return Decision(OWNERS_GATE, digest, settings.environment, rules=rules.note, notes=(
            "approvals are not required for this environment (settings ownership.required)",))
    decision = judge_owners(target.project.root, settings, digest, result.changes, rules,
                            context)
    return replace(decision, rules=rules.note)


def judge_owners(root: Path, settings: Settings, digest: str,
                 changes: Sequence[ResourceChange], rules: Rules,
                 context: GitHubContext | None) -> Decision:
    """Reads the changed files and GitHub's reviews; the owners judge decides by the rules."""
    try:
        inputs = owners_inputs(root, settings, changes, rules)
        github = context or GitHubContext.from_environment()
    except LoonoError as error:
        return Decision(OWNERS_GATE, digest, settings.environment,
                        failures=(Failure("gate", error.message),))
    return owners_decision(settings, digest, inputs, _approvals(github))


def owners_inputs(root: Path, settings: Settings, changes: Sequence[ResourceChange],
                  rules: Rules) -> OwnersInputs:
    """What the owners judge reads: the trusted CODEOWNERS, the settings file, the files the
    change holds since its base (none when the base is HEAD: a local run)."""
    project = Project(root)
    codeowners = rules.trusted
    base, head = rules.base_commit, rules.head_commit
    return OwnersInputs(
        codeowners_path=codeowners.codeowners_path if codeowners else None,
        codeowners_text=codeowners.codeowners_text if codeowners else "",
        settings_file=trusted.settings_file_of(project, settings),
        changed_files=tuple(changed_files(root, base)) if base != head else (),
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


def write_emergency_audit(plan_: Plan, settings: Settings, reason: str, endpoint: AwsEndpoint,
                          topic_arn: str | None) -> EmergencyRecord:
    """The emergency path: a written reason, a locked record, an announcement on the alarms."""
    if len(reason.strip()) < 10:
        raise LoonoError("an emergency apply needs a written reason (10 characters or more)")
    return write_emergency_record(
        settings, plan_.digest, reason, endpoint,
        [f.message for f in (plan_.owners.failures if plan_.owners else ())], topic_arn)
