"""The gates around a plan: show and redact it, judge it (policy, owners), enforce at apply."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from loono_infra._files import write_atomically
from loono_infra.errors import GateRefusedError, LoonoError, TerraformError
from loono_infra.gates.approvals import ApprovalError, GitHubContext
from loono_infra.gates.checkov import CheckovError, Scan, find_checkov
from loono_infra.gates.decision import Decision, Failure
from loono_infra.gates.owners_gate import GATE as OWNERS_GATE
from loono_infra.gates.owners_gate import owners_decision
from loono_infra.gates.plan_view import Shape, judged_view, shapes_from_schema
from loono_infra.gates.policy import (
    GATE,
    PolicyInputs,
    check_override_resources,
    evaluate,
    load_enforcement_for,
    normalized_plan,
    refusal,
    scan_plan,
    start_module_scan,
)
from loono_infra.plans import JUDGED_PLAN, REDACTED_PLAN, Plan
from loono_infra.redact import redacted_json
from loono_infra.render import LOCK_FILE, PASSWORD_VARIABLE
from loono_infra.sandbox.control import SandboxInfo
from loono_infra.settings import Settings
from loono_infra.targets import Target
from loono_infra.terraform import commands
from loono_infra.terraform.args import PLAN_FILE
from loono_infra.terraform.models import PlanDocument


@dataclass(frozen=True)
class PlanContent:
    """The plan's `show -json` document, redacted, and the digest of its content."""

    document: PlanDocument
    redacted: str
    digest: str


def needs_content(settings: Settings, mode: str, policy: bool) -> bool:
    return mode != "destroy" and (policy or settings.ownership.required)


def plan_content(target: Target, env: Mapping[str, str]) -> PlanContent:
    """Shows the saved plan, redacts its secrets, keeps the redacted copy for the scanners."""
    document = commands.show_plan(target.engine, target.workdir, env, PLAN_FILE)
    password = env.get(f"TF_VAR_{PASSWORD_VARIABLE}", "")
    text = redacted_json(document.raw, {password} if password else set())
    write_atomically(target.workdir / REDACTED_PLAN, text)
    return PlanContent(document, text,
                       "sha256:" + hashlib.sha256(normalized_plan(text)).hexdigest())


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
    if not settings.ownership.required:
        return Decision(OWNERS_GATE, result.approval_digest, settings.environment, notes=(
            "approvals are not required for this environment (settings ownership.required)",))
    try:
        github = context or GitHubContext.from_environment()
    except ApprovalError as error:
        return Decision(OWNERS_GATE, result.approval_digest, settings.environment,
                        failures=(Failure("gate", error.message),))
    return owners_decision(target.project.root, settings, result.approval_digest, result.changes,
                           base or os.environ.get("LOONO_GIT_BASE"), github)


def start_policy(target: Target, pool: ThreadPoolExecutor,
                 ) -> tuple[PolicyInputs | CheckovError, Future[Scan] | None]:
    """Finds Checkov and starts the module scan (overlapping Terraform's plan)."""
    try:
        inputs = PolicyInputs(find_checkov(target.project.root), target.project.modules_dir,
                              target.project.policies_dir, target.project.root / ".loono" /
                              "policy-cache")
    except CheckovError as error:
        return error, None
    return inputs, start_module_scan(inputs, pool)


def provider_shapes(target: Target, env: Mapping[str, str], cache_dir: Path) -> dict[str, Shape]:
    """What the provider computes, per resource type; cached per lock file (provider versions)."""
    lock = (target.workdir / LOCK_FILE).read_bytes()
    entry = cache_dir / f"shapes-{hashlib.sha256(lock).hexdigest()}.json"
    try:
        raw = json.loads(entry.read_text(encoding="utf-8"))
        return {name: Shape.from_json(shape) for name, shape in raw.items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shapes = shapes_from_schema(commands.provider_schema(target.engine, target.workdir, env))
    write_atomically(entry, json.dumps({name: s.to_json() for name, s in shapes.items()}))
    return shapes


def policy_decision(target: Target, env: Mapping[str, str], result: Plan,
                    inputs: PolicyInputs | CheckovError | None,
                    module_scan: Future[Scan] | None, content: PlanContent | None) -> Decision:
    """The policy gate's decision; Checkov failing in any way is a refusal with the reason."""
    settings = target.settings
    if result.mode == "destroy":
        return Decision(GATE, result.digest, settings.environment,
                        notes=("a destroy plan creates and changes nothing: no policy applies",))
    if not isinstance(inputs, PolicyInputs) or module_scan is None or content is None:
        return refusal(settings, result.digest, str(getattr(inputs, "message", "no Checkov")))
    check_override_resources(settings, {r.change.address for r in content.document.resources})
    try:
        enforcement = load_enforcement_for(inputs)
        view = judged_view(json.loads(content.redacted),
                           provider_shapes(target, env, inputs.cache_dir))
        plan_scan = scan_plan(inputs, view, target.workdir / JUDGED_PLAN)
        modules = module_scan.result()
    except (CheckovError, TerraformError) as error:
        return refusal(settings, result.digest, error.message)
    modules_root = str(target.project.modules_dir.relative_to(target.project.root))
    return evaluate(settings, result.digest, plan_scan, modules, enforcement,
                    datetime.date.today(), modules_root)


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
                          sandbox: SandboxInfo | None) -> None:
    """The emergency path: a reason is required, and the record goes next to the state."""
    from loono_infra.audit import write_emergency_record

    if len(reason.strip()) < 10:
        raise LoonoError("an emergency apply needs a written reason (10 characters or more)")
    write_emergency_record(settings, plan_.digest, reason, sandbox,
                           [f.message for f in (plan_.owners.failures if plan_.owners else ())])


