"""The flow: settings -> render -> init -> plan -> (saved plan) -> apply. Returns typed reports."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from loono_infra.clients.github import GitHubContext
from loono_infra.core.database_upgrade import queued_major_upgrades
from loono_infra.core.errors import (
    ApplyInterruptedError,
    LoonoError,
    PlanFileError,
    SettingsError,
    SettingsProblem,
    StateLockedError,
    TerraformError,
    TerraformTimeoutError,
)
from loono_infra.core.plans import (
    PLAN_RECORD,
    ApplyResult,
    Plan,
    PlanContent,
    file_digest,
    previous_plan,
    read_record,
    require_unchanged,
    write_record,
)
from loono_infra.core.render import PASSWORD_VARIABLE, write_root
from loono_infra.core.secrets import password_missing
from loono_infra.core.settings import Settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.args import PLAN_FILE, PlanOptions
from loono_infra.core.terraform.drift import classify_document
from loono_infra.core.terraform.engine import Engine, TerraformInterrupted, TerraformTimedOut
from loono_infra.core.terraform.events import EventCallback
from loono_infra.core.terraform.locks import lock_in
from loono_infra.core.terraform.models import PlanDocument, ResourceChange
from loono_infra.core.terraform.served_provider import (
    REATTACH_ENV,
    ProviderPackage,
    checked_package,
    modules_declare_provider,
    served_provider,
    several_configurations,
)
from loono_infra.core.workspace import Project
from loono_infra.flow import last_scan
from loono_infra.flow.dangling import (
    Clients,
    Dangling,
    find_dangling,
    forget_adoptions,
    write_adoptions,
)
from loono_infra.flow.gating import (
    needs_content,
    owners_for,
    owners_kept_or_judged,
    plan_content,
    require_owner_approval,
    require_passed_decision,
    rules_for,
    write_emergency_audit,
)
from loono_infra.flow.history import record_apply
from loono_infra.flow.policy_scan import PolicyScan, destroy_decision
from loono_infra.flow.targets import (
    Target,
    aws_endpoint,
    checked_environment,
    engine_environment,
    offline_environment,
    prepare,
    render_target,
    resolve_target,
    sandbox_endpoint,
    workdir_lock,
)
from loono_infra.sandbox.control import SandboxInfo


def plan(settings: Settings, *, sandbox: bool | None = None, refresh: bool = True,
         mode: str = "normal", engine: Engine | None = None, policy: bool = True,
         base: str | None = None, lock_timeout: int = 0, adopt: bool = False,
         on_event: EventCallback | None = None) -> Plan:
    """Renders, initialises and plans one environment, saving the plan file and its record.

    With policy (the default) the policy gate judges the plan; without it the plan has no
    decision, and apply refuses it. The gates judge with the rules of the trusted revision
    (base: --base REV, else $LOONO_GIT_BASE, else HEAD; flow/trusted.py). A state lock held
    by another run refuses at once (StateLockedError names it), or after lock_timeout seconds.
    Planned creates that already exist in AWS are listed (apply refuses), or with adopt
    imported (flow/dangling.py). on_event gets Terraform's progress as it happens
    (core/terraform/events.py).
    """
    target = resolve_target(settings, sandbox, engine)
    options = PlanOptions(mode=mode, refresh=refresh, lock_timeout_seconds=lock_timeout)
    sandbox_info, env = checked_environment(target)
    with workdir_lock(target.workdir), ThreadPoolExecutor(max_workers=5) as pool, \
            time_limit_named(target, sandbox_info), contextlib.ExitStack() as cleanup:
        forget_adoptions(target.workdir)
        prepare(target, sandbox_info, env)
        package = pool.submit(_package_to_serve, target, env, options, policy)  # beside git
        cleanup.callback(_close_package, package)  # not served: a refusal came first
        previous = previous_plan(target.workdir)
        (target.workdir / PLAN_RECORD).unlink(missing_ok=True)
        rules = rules_for(target, base, None)
        scan = PolicyScan.start(target, rules, pool) if policy and mode != "destroy" else None
        if scan is not None:
            cleanup.callback(scan.close)
        served = cleanup.enter_context(served_provider(package.result(), env))
        lookups = _lookup_clients_ahead(target, sandbox_info, options, policy, pool)
        planned_hook = None if scan is None else functools.partial(scan.read_shapes_ahead,
                                                                   served, pool)
        call = _PlanCall(target, served, options, policy, on_event, lookups, planned_hook)
        result, content = _planned(call)
        if _served_wrongly(call, content):  # planned again, Terraform starting the providers
            call = replace(call, env=env)
            result, content = _planned(call)
        if adopt:
            result, content = _adopted_or_listed(call, adopt, sandbox_info, result, content)
            result = _decided(call, scan, result, content)
        else:  # the lookups of what already exists overlap the policy scan
            listed = pool.submit(_adopted_or_listed, call, adopt, sandbox_info, result, content)
            decided = _decided(call, scan, result, content)
            result = replace(listed.result()[0], decision=decided.decision)
        result = replace(result, owners=owners_kept_or_judged(target, result, previous, rules))
        write_record(result)
    return result


def _package_to_serve(target: Target, env: Mapping[str, str], options: PlanOptions,
                      policy: bool) -> ProviderPackage | None:
    """The provider to serve this plan's commands (core/terraform/served_provider.py): only
    where its content is shown, so that a configuration one process cannot serve is seen."""
    if (not needs_content(target.settings, options.mode, policy)
            or modules_declare_provider(target.project.modules_dir)):
        return None
    return checked_package(target.workdir, env)


def _close_package(package: Future[ProviderPackage | None]) -> None:
    with contextlib.suppress(Exception):
        opened = package.result()
        if opened is not None:
            opened.close()


def _served_wrongly(call: _PlanCall, content: PlanContent | None) -> bool:
    """A plan made on the served provider that configures it more than once (a module's own
    provider block): each configuration replaced the one before in that one process."""
    return (REATTACH_ENV in call.env and content is not None
            and several_configurations(content.document.raw))


def _lookup_clients_ahead(target: Target, sandbox_info: SandboxInfo | None,
                          options: PlanOptions, policy: bool,
                          pool: ThreadPoolExecutor) -> Future[Clients] | None:
    """The clients of the existence lookups, made while Terraform plans, when the lookups will
    run: on a normal plan whose content is shown (they read it). Making them costs CPU that
    Terraform would otherwise have."""
    if options.mode != "normal" or not needs_content(target.settings, options.mode, policy):
        return None
    return pool.submit(Clients.ready, aws_endpoint(target, sandbox_info))


def _decided(call: _PlanCall, scan: PolicyScan | None, result: Plan,
             content: PlanContent | None) -> Plan:
    """result with the policy gate's decision (none without policy; a destroy needs none)."""
    _refuse_queued_major_upgrade(call.target.settings, content)
    if scan is not None:
        return replace(result, decision=scan.verdict(call.env, result, content))
    if call.policy:
        return replace(result, decision=destroy_decision(call.target.settings.environment,
                                                         result.digest))
    return result


@dataclass(frozen=True)
class _PlanCall:
    """How one plan runs: where, with what environment and options, who hears its progress."""

    target: Target
    env: Mapping[str, str]
    options: PlanOptions
    policy: bool
    on_event: EventCallback | None
    lookups: Future[Clients] | None = None  # for what already exists, made while it plans
    planned: Callable[[], None] | None = None  # told once Terraform has planned, before show


def _planned(call: _PlanCall) -> tuple[Plan, PlanContent | None]:
    """One `plan` saved in the workdir, and its content when the gates need it."""
    target, env, options, policy = call.target, call.env, call.options, call.policy
    settings = target.settings
    with lock_named(settings.environment):
        run = commands.plan(target.engine, target.workdir, env, options, call.on_event)
    _require_password_to_create(target, env, run.stream.changes)
    if call.planned is not None:
        call.planned()
    result = Plan(
        environment=settings.environment, sandbox=target.sandbox, workdir=target.workdir,
        digest=file_digest(target.workdir / PLAN_FILE), changes=run.stream.changes,
        summary=run.stream.summary, outputs=run.stream.outputs, drift=run.stream.drift,
        warnings=tuple(d.summary for d in run.warnings), engine=target.engine.name,
        mode=options.mode, settings_source=str(settings.source) if settings.source else None,
    )
    content = plan_content(target, env) if needs_content(settings, options.mode, policy) \
        else None
    if content is not None:
        result = replace(result, content_digest=content.digest, change_digests=content.changes)
        result = _drift_told_apart(result, content.document.raw)
    return result, content


def _adopted_or_listed(call: _PlanCall, adopt: bool, sandbox_info: SandboxInfo | None,
                       result: Plan, content: PlanContent | None,
                       ) -> tuple[Plan, PlanContent | None]:
    """Creates that a killed run already made: listed, or imported by a second plan."""
    target = call.target
    dangling, problems = _dangling(call, sandbox_info, result, content)
    if dangling and adopt:
        write_adoptions(target.workdir, dangling)
        result, content = _planned(call)
        result = replace(result, adopted=tuple(d.adopted() for d in dangling))
    elif dangling:
        result = replace(result, dangling=tuple(d.found() for d in dangling))
    started = sandbox_info.started_at if sandbox_info is not None else None
    return replace(result, sandbox_started=started,
                   warnings=(*result.warnings, *problems)), content


def _dangling(call: _PlanCall, sandbox_info: SandboxInfo | None, result: Plan,
              content: PlanContent | None) -> tuple[list[Dangling], list[str]]:
    """Creates of this plan that a killed run already made (flow/dangling.py)."""
    if content is None or call.lookups is None or result.summary.add == 0:
        return [], []  # no lookups for a plan other than a normal one, shown
    return find_dangling(call.lookups.result(), content.document.resources)


PASSWORD_HOLDERS = frozenset({"aws_db_instance", "aws_secretsmanager_secret_version"})


def _require_password_to_create(target: Target, env: Mapping[str, str],
                                changes: Sequence[ResourceChange]) -> None:
    """A plan that creates the database or its secret without the password is thrown away, not
    saved (the secret would keep a null password: Terraform ignores it after creation)."""
    creates = any(c.resource_type in PASSWORD_HOLDERS and c.action in ("create", "replace")
                  for c in changes)
    if creates and f"TF_VAR_{PASSWORD_VARIABLE}" not in env:
        (target.workdir / PLAN_FILE).unlink(missing_ok=True)
        raise password_missing(target.settings)


def _drift_told_apart(result: Plan, document: dict[str, Any]) -> Plan:
    """Keeps as drift only changes to what the configuration sets; the rest is read back."""
    real, read_back = classify_document(document)
    drifted = {d.address for d in real}
    return replace(result, drift=tuple(c for c in result.drift if c.address in drifted),
                   read_back=tuple(read_back))


def review_owners(settings: Settings, *, sandbox: bool | None = None, base: str | None = None,
                  context: GitHubContext | None = None) -> Plan:
    """Re-judges the saved plan's approvals (e.g. after a review) and records the decision."""
    target = resolve_target(settings, sandbox)
    with workdir_lock(target.workdir):
        saved = load_saved_plan(settings, sandbox=sandbox)
        require_unchanged(saved)
        rules = rules_for(target, base, context)
        result = replace(saved, owners=owners_for(target, saved, rules, context))
        write_record(result)
    return result


def load_saved_plan(settings: Settings, *, sandbox: bool | None = None) -> Plan:
    """The last plan saved for this environment and target, checked against its file."""
    return read_record(resolve_target(settings, sandbox).workdir)


def show(plan_: Plan, settings: Settings | None = None, *,
         engine: Engine | None = None) -> PlanDocument:
    """The full `show -json` document of a saved plan."""
    settings = _settings_of(plan_, settings)
    target = resolve_target(settings, plan_.sandbox, engine)
    _, env = checked_environment(target)
    return commands.show_plan(target.engine, plan_.workdir, env, PLAN_FILE)


def _settings_of(plan_: Plan, settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    if plan_.settings_source is None:
        raise PlanFileError("the plan does not say which settings file it came from: pass settings")
    from loono_infra.core.settings import load_settings

    return load_settings(plan_.settings_source)


def apply(plan_: Plan, settings: Settings | None = None, *, engine: Engine | None = None,
          emergency_reason: str | None = None, lock_timeout: int = 0,
          on_event: EventCallback | None = None) -> ApplyResult:
    """Applies exactly the saved plan plan_ names, if both gates passed it; on_event gets each
    resource's start, progress and end as Terraform reports them.

    emergency_reason bypasses missing approvals (never the policy gate): loudly — a record
    (who from the Actions OIDC token, when, digest, why) locked in the audit bucket and
    announced on the alarm topic (flow/audit.py).
    """
    settings = _settings_of(plan_, settings)
    require_unchanged(plan_)
    require_passed_decision(plan_)
    _require_nothing_outside_state(plan_)
    target = resolve_target(settings, plan_.sandbox, engine)
    if target.workdir != plan_.workdir:
        raise PlanFileError(f"the plan is for {plan_.workdir}, not {target.workdir}")
    sandbox_info, env = checked_environment(target)
    _require_same_sandbox(plan_, sandbox_info)
    emergency = None
    if emergency_reason is None:
        require_owner_approval(plan_)  # the trusted rules decided whether approvals are needed
    else:
        topic = commands.outputs(target.engine, target.workdir, env).get("alarm_topic_arn")
        emergency = write_emergency_audit(plan_, settings, emergency_reason,
                                          aws_endpoint(target, sandbox_info),
                                          str(topic) if topic else None)
    with workdir_lock(target.workdir), time_limit_named(target, sandbox_info):
        require_unchanged(plan_)
        last_scan.forget(target.workdir)
        try:
            with lock_named(settings.environment):
                commands.apply(target.engine, target.workdir, env, PLAN_FILE, lock_timeout,
                               on_event)
        except TerraformError as error:
            _keep_record(settings, plan_, "failed: Terraform reported an error")
            _refuse_stale(error, settings.environment)
            _restore_service(settings, plan_)
            raise
        except TerraformInterrupted as stopped:
            plan_.plan_file.unlink(missing_ok=True)  # stale now: a new plan says what is left
            (target.workdir / PLAN_RECORD).unlink(missing_ok=True)
            _restore_service(settings, plan_)
            planned = sum(1 for change in plan_.changes if change.changes_something)
            applied = commands.applied_count(stopped.completed)
            _keep_record(settings, plan_, f"interrupted: {applied} of {planned} applied")
            raise ApplyInterruptedError(settings.environment, applied, planned,
                                        clean=stopped.completed.returncode >= 0) from None
        plan_.plan_file.unlink(missing_ok=True)
        (target.workdir / PLAN_RECORD).unlink(missing_ok=True)
        values = commands.outputs(target.engine, target.workdir, env)
    try:
        rollout = _converge_service(settings, plan_) if plan_.mode != "destroy" else None
    except LoonoError:
        _keep_record(settings, plan_, "applied; the service did not take the new configuration")
        raise
    result = ApplyResult(settings.environment, plan_.sandbox, plan_.digest, plan_.summary, values,
                         emergency.as_dict() if emergency else None, rollout)
    _keep_record(settings, plan_, "applied", result)
    return result


def _keep_record(settings: Settings, plan_: Plan, outcome: str,
                 result: ApplyResult | None = None) -> None:
    """The apply's record, however it ended (flow/history.py); never in the way of the apply's
    own outcome."""
    kept = result or ApplyResult(settings.environment, plan_.sandbox, plan_.digest, plan_.summary)
    with contextlib.suppress(LoonoError, OSError):
        record_apply(settings, kept, outcome)


def _refuse_queued_major_upgrade(settings: Settings, content: PlanContent | None) -> None:
    """A major upgrade queued for the maintenance window breaks every apply until then
    (core/database_upgrade.py): refused before the plan is recorded, so apply refuses too."""
    problems = queued_major_upgrades(content.document) if content is not None else []
    if problems:
        raise SettingsError(str(settings.source or settings.environment),
                            [SettingsProblem("database.apply_immediately", p) for p in problems])


def _require_nothing_outside_state(plan_: Plan) -> None:
    """A plan that would create what already exists (a killed run's leftovers) is not applied:
    a named resource would fail half way, an unnamed one would be made twice."""
    if plan_.dangling:
        raise PlanFileError(
            "the plan would create resources that already exist in AWS outside the state; "
            f"check them, then re-plan with --adopt (loono-infra plan --env {plan_.environment} "
            "--adopt) to import them, or delete them:\n  " + "\n  ".join(plan_.dangling))


def _require_same_sandbox(plan_: Plan, sandbox_info: SandboxInfo | None) -> None:
    """A plan made against a sandbox that has since restarted (its state and resources gone)
    is stale."""
    if plan_.sandbox_started is not None and sandbox_info is not None \
            and sandbox_info.started_at != plan_.sandbox_started:
        raise PlanFileError(
            "the sandbox was restarted since this plan was made (its state and resources are "
            f"gone): the saved plan is stale; re-plan: loono-infra plan --env {plan_.environment}")


def _refuse_stale(error: TerraformError, environment: str) -> None:
    """Terraform's own refusal of a plan whose state changed since, said plainly."""
    if any("Saved plan is stale" in d.summary for d in error.diagnostics):
        raise PlanFileError(
            "the state changed since this plan was made (another apply ran): the saved plan is "
            f"stale and nothing was applied; re-plan: loono-infra plan --env {environment}"
        ) from error


@contextlib.contextmanager
def time_limit_named(target: Target, sandbox_info: SandboxInfo | None) -> Iterator[None]:
    """A Terraform command stopped at its time limit becomes TerraformTimeoutError, naming the
    AWS endpoint it was talking to."""
    try:
        yield
    except TerraformTimedOut as stopped:
        endpoint = aws_endpoint(target, sandbox_info).url or f"of AWS in {target.settings.region}"
        raise TerraformTimeoutError(stopped.limit_seconds, endpoint) from None


@contextlib.contextmanager
def lock_named(environment: str) -> Iterator[None]:
    """A Terraform command refused by the state lock becomes StateLockedError: the holder,
    its age, its ID and the unlock command."""
    try:
        yield
    except TerraformError as error:
        lock = lock_in(error.diagnostics)
        if lock is None:
            raise
        raise StateLockedError(environment, lock.lock_id, lock.who, lock.operation,
                               lock.age_seconds()) from error


def _restore_service(settings: Settings, plan_: Plan) -> None:
    """After an apply that failed part way: a service it replaced (no tasks yet) gets the
    deployed image back if it exists now; Terraform's error is what the caller is told."""
    if plan_.service_rollout is None:
        return
    with contextlib.suppress(LoonoError):
        _converge_service(settings, plan_)


def _converge_service(settings: Settings, plan_: Plan) -> dict[str, Any]:
    """The service onto the configuration just applied, with the image deployed now (a
    failure rolls back and raises DeployFailedError: the apply itself stands)."""
    from loono_infra.deploy.flow import converge_service

    record = converge_service(settings, sandbox=plan_.sandbox)
    return {"outcome": record.outcome, "image": record.image,
            "task_definition": record.task_definition,
            "previous_task_definition": record.previous_task_definition}


def destroy(settings: Settings, *, sandbox: bool | None = None,
            engine: Engine | None = None, on_event: EventCallback | None = None) -> ApplyResult:
    """Plans the destruction of everything in the environment's state and applies it."""
    planned = plan(settings, sandbox=sandbox, mode="destroy", engine=engine, on_event=on_event)
    return apply(planned, settings, engine=engine, on_event=on_event)


def validate(settings: Settings, *, sandbox: bool | None = None,
             engine: Engine | None = None) -> list[str]:
    """Renders and runs `terraform validate`; returns warnings, raises on errors.

    Offline and without secrets: the root module is rendered for AWS into a folder of its
    own and initialised without its backend (-backend=false) from the provider mirror, so
    neither AWS credentials, the sandbox nor the database password are needed.
    """
    target = resolve_target(settings, sandbox, engine)
    workdir = target.project.root_module_dir(settings, False, "validate")
    env = offline_environment(target)
    with workdir_lock(workdir):
        write_root(render_target(target, None), workdir)
        commands.init(target.engine, workdir, env, target.project.module_files(), backend=False)
        return [str(d) for d in commands.validate(target.engine, workdir, env)]


__all__ = [
    "ApplyResult",
    "Plan",
    "Project",
    "Target",
    "apply",
    "destroy",
    "engine_environment",
    "load_saved_plan",
    "plan",
    "render_target",
    "require_owner_approval",
    "require_passed_decision",
    "resolve_target",
    "review_owners",
    "sandbox_endpoint",
    "show",
    "validate",
    "workdir_lock",
]
