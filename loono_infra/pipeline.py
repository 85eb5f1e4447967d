"""The flow: settings -> render -> init -> plan -> (saved plan) -> apply. Returns typed reports."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from loono_infra._files import exclusive_lock, write_atomically
from loono_infra.errors import (
    GateRefusedError,
    LoonoError,
    PlanFileError,
    SettingsError,
    SettingsProblem,
)
from loono_infra.gates.approvals import ApprovalError, GitHubContext
from loono_infra.gates.checkov import CheckovError, Scan, find_checkov
from loono_infra.gates.decision import Decision, Failure
from loono_infra.gates.owners_gate import GATE as OWNERS_GATE
from loono_infra.gates.owners_gate import owners_decision
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
from loono_infra.providers import prepare_provider
from loono_infra.redact import redacted_json
from loono_infra.render import (
    PASSWORD_VARIABLE,
    RenderedRoot,
    SandboxEndpoint,
    modules_source_for,
    render,
    root_module_dir,
    write_root,
)
from loono_infra.sandbox.control import (
    SANDBOX_REGION_CREDENTIALS,
    SandboxInfo,
    require_sandbox,
    sandbox_dir,
)
from loono_infra.secrets import database_password
from loono_infra.settings import Settings
from loono_infra.terraform import commands
from loono_infra.terraform.args import PLAN_FILE, PlanOptions
from loono_infra.terraform.engine import EmbeddedEngine, Engine, backend_dialect, choose_engine
from loono_infra.terraform.models import (
    ChangeSummary,
    OutputChange,
    PlanDocument,
    ResourceChange,
)

PLAN_RECORD = "plan.json"
REDACTED_PLAN = "plan.redacted.json"
_LOCK_WAIT_SECONDS = 300
_SCRUBBED_FOR_SANDBOX = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                         "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass(frozen=True)
class Project:
    """A checkout holding terraform/modules, environments/ and the .loono work area."""

    root: Path

    @property
    def modules_dir(self) -> Path:
        return self.root / "terraform" / "modules"

    @property
    def lock_file(self) -> Path:
        return self.root / "terraform" / ".terraform.lock.hcl"

    @property
    def policies_dir(self) -> Path:
        return self.root / "policies"

    @property
    def tooling_dir(self) -> Path:
        return self.root / ".loono" / "tooling"

    def module_files(self) -> list[Path]:
        """Every file of the modules, for init's fingerprint."""
        return sorted(p for p in self.modules_dir.rglob("*.tf") if p.is_file())

    @classmethod
    def of(cls, settings: Settings) -> Project:
        """The project a settings file belongs to: the nearest folder up with terraform/modules."""
        start = settings.source.parent if settings.source else Path.cwd()
        for folder in (start, *start.parents):
            if (folder / "terraform" / "modules").is_dir():
                return cls(folder)
        raise LoonoError(f"no terraform/modules folder above {start}")


@dataclass(frozen=True)
class Target:
    """Where one run goes: an environment on real AWS or on the sandbox, and its engine."""

    project: Project
    settings: Settings
    sandbox: bool
    engine: Engine

    @property
    def workdir(self) -> Path:
        tag = "" if isinstance(self.engine, EmbeddedEngine) else f"tf-{self.engine.version}"
        return root_module_dir(self.project.root, self.settings, self.sandbox, tag)


@dataclass(frozen=True)
class Plan:
    """A saved plan: what it changes, and the digest that names exactly this plan file."""

    environment: str
    sandbox: bool
    workdir: Path
    digest: str
    changes: tuple[ResourceChange, ...]
    summary: ChangeSummary
    outputs: tuple[OutputChange, ...]
    drift: tuple[ResourceChange, ...] = ()
    warnings: tuple[str, ...] = ()
    engine: str = ""
    mode: str = "normal"
    settings_source: str | None = None
    decision: Decision | None = None
    owners: Decision | None = None
    content_digest: str | None = None

    @property
    def approval_digest(self) -> str:
        """What approvals bind to: the plan's content (shared by identical re-plans), else file."""
        return self.content_digest or self.digest

    @property
    def plan_file(self) -> Path:
        return self.workdir / PLAN_FILE

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything."""
        return any(change.changes_something for change in self.changes) or any(
            output.action not in ("noop", "no-op") for output in self.outputs
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json and the plan record."""
        data = asdict(self)
        data["workdir"] = str(self.workdir)
        data["has_changes"] = self.has_changes
        for name, decision in (("decision", self.decision), ("owners", self.owners)):
            if decision is not None:
                data[name] = decision.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The inverse of to_dict."""
        return cls(
            environment=data["environment"], sandbox=bool(data["sandbox"]),
            workdir=Path(data["workdir"]), digest=data["digest"],
            changes=tuple(ResourceChange(**c) for c in data["changes"]),
            summary=ChangeSummary(**data["summary"]),
            outputs=tuple(OutputChange(**o) for o in data["outputs"]),
            drift=tuple(ResourceChange(**c) for c in data.get("drift", [])),
            warnings=tuple(data.get("warnings", [])), engine=data.get("engine", ""),
            mode=data.get("mode", "normal"), settings_source=data.get("settings_source"),
            decision=Decision.from_dict(data["decision"]) if data.get("decision") else None,
            owners=Decision.from_dict(data["owners"]) if data.get("owners") else None,
            content_digest=data.get("content_digest"),
        )


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did."""

    environment: str
    sandbox: bool
    digest: str
    applied: ChangeSummary
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_digest(path: Path) -> str:
    """sha256 of a plan file, as "sha256:<hex>"."""
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no saved plan; run `loono-infra plan` first") from None


def resolve_target(settings: Settings, sandbox: bool | None = None,
                   engine: Engine | None = None) -> Target:
    """The run's target; an environment that lives only on the sandbox cannot go to AWS."""
    on_sandbox = settings.target == "sandbox" if sandbox is None else sandbox
    if settings.target == "sandbox" and not on_sandbox:
        raise SettingsError(str(settings.source or settings.environment), [
            SettingsProblem("target", "this environment lives only on the sandbox")])
    chosen = engine or choose_engine(settings.terraform.engine, settings.terraform.binary)
    return Target(Project.of(settings), settings, on_sandbox, chosen)


def render_target(target: Target, sandbox_url: str | None) -> RenderedRoot:
    """The root module of a target (pure; sandbox_url is the sandbox's endpoint)."""
    project = target.project
    return render(
        target.settings,
        modules_source=modules_source_for(target.workdir, project.modules_dir),
        lock_file_text=project.lock_file.read_text(encoding="utf-8"),
        sandbox=SandboxEndpoint(sandbox_url) if sandbox_url else None,
        dialect=backend_dialect(target.engine),
    )


def workdir_lock(workdir: Path, wait_seconds: float = _LOCK_WAIT_SECONDS,
                 ) -> AbstractContextManager[None]:
    """One loono-infra run per root module directory at a time (across processes)."""
    return exclusive_lock(workdir / ".loono.lock", wait_seconds, str(workdir))


def _sandbox_info(target: Target) -> SandboxInfo | None:
    return require_sandbox(target.project.root) if target.sandbox else None


def engine_environment(target: Target, sandbox: SandboxInfo | None,
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Terraform runs with: provider supply, the password, sandbox credentials."""
    base = dict(os.environ if environ is None else environ)
    env = {key: value for key, value in base.items() if not key.startswith("TF_VAR_")}
    env |= prepare_provider(target.project.tooling_dir).environment()
    env |= {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    secrets_dir = sandbox_dir(target.project.root) if sandbox else None
    env[f"TF_VAR_{PASSWORD_VARIABLE}"] = database_password(target.settings, base, secrets_dir)
    if sandbox is not None:
        for key in _SCRUBBED_FOR_SANDBOX:
            env.pop(key, None)
        env |= SANDBOX_REGION_CREDENTIALS | {"AWS_EC2_METADATA_DISABLED": "true"}
    return env


def _ensure_sandbox_backend(target: Target, sandbox: SandboxInfo) -> None:
    """Creates the state bucket and lock table in the sandbox once per sandbox run."""
    from loono_infra.bootstrap import aws_clients, bootstrap_state_backend

    directory = sandbox_dir(target.project.root)
    marker = directory / "bootstrapped.json"
    key = f"{sandbox.url}|{target.settings.state.bucket}|{target.settings.state.lock_table}"
    with exclusive_lock(directory / ".bootstrap.lock", _LOCK_WAIT_SECONDS, str(marker)):
        try:
            done = set(json.loads(marker.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            done = set()
        if key in done:
            return
        clients = aws_clients(target.settings.region, sandbox.url, SANDBOX_REGION_CREDENTIALS)
        bootstrap_state_backend(target.settings, *clients)
        write_atomically(marker, json.dumps(sorted(done | {key})))


def _checked_environment(target: Target) -> tuple[SandboxInfo | None, dict[str, str]]:
    """Everything that can refuse before a file is written: the sandbox, the secrets."""
    sandbox = _sandbox_info(target)
    return sandbox, engine_environment(target, sandbox)


def _prepare(target: Target, sandbox: SandboxInfo | None, env: Mapping[str, str]) -> None:
    """Renders, writes and initialises the root module (under the workdir lock)."""
    if sandbox is not None:
        _ensure_sandbox_backend(target, sandbox)
    write_root(render_target(target, sandbox.url if sandbox else None), target.workdir)
    commands.init(target.engine, target.workdir, env, target.project.module_files())


def plan(settings: Settings, *, sandbox: bool | None = None, refresh: bool = True,
         mode: str = "normal", engine: Engine | None = None, policy: bool = True) -> Plan:
    """Renders, initialises and plans one environment, saving the plan file and its record.

    With policy (the default) the policy gate judges the plan; without it the
    plan has no decision, and apply refuses it.
    """
    target = resolve_target(settings, sandbox, engine)
    options = PlanOptions(mode=mode, refresh=refresh)
    sandbox_info, env = _checked_environment(target)
    with workdir_lock(target.workdir), ThreadPoolExecutor(max_workers=1) as pool:
        _prepare(target, sandbox_info, env)
        previous = _previous_plan(target.workdir)
        (target.workdir / PLAN_RECORD).unlink(missing_ok=True)
        inputs, module_scan = _start_policy(target, pool) if policy else (None, None)
        run = commands.plan(target.engine, target.workdir, env, options)
        result = Plan(
            environment=settings.environment, sandbox=target.sandbox, workdir=target.workdir,
            digest=file_digest(target.workdir / PLAN_FILE), changes=run.stream.changes,
            summary=run.stream.summary, outputs=run.stream.outputs, drift=run.stream.drift,
            warnings=tuple(d.summary for d in run.warnings), engine=target.engine.name,
            mode=mode, settings_source=str(settings.source) if settings.source else None,
        )
        content = _plan_content(target, env, result) if _needs_content(
            settings, mode, policy) else None
        result = replace(result, content_digest=content.digest if content else None)
        if policy:
            decision = _policy_decision(target, result, inputs, module_scan, content)
            result = replace(result, decision=decision)
        result = replace(result, owners=_owners_kept_or_judged(target, result, previous))
        _write_record(result)
    return result


@dataclass(frozen=True)
class PlanContent:
    """The plan's `show -json` document, redacted, and the digest of its content."""

    document: PlanDocument
    redacted: str
    digest: str


def _needs_content(settings: Settings, mode: str, policy: bool) -> bool:
    return mode != "destroy" and (policy or settings.ownership.required)


def _plan_content(target: Target, env: Mapping[str, str], result: Plan) -> PlanContent:
    """Shows the saved plan, redacts its secrets, keeps the redacted copy for the scanners."""
    document = commands.show_plan(target.engine, target.workdir, env, PLAN_FILE)
    password = env.get(f"TF_VAR_{PASSWORD_VARIABLE}", "")
    text = redacted_json(document.raw, {password} if password else set())
    write_atomically(target.workdir / REDACTED_PLAN, text)
    return PlanContent(document, text,
                       "sha256:" + hashlib.sha256(normalized_plan(text)).hexdigest())


def _previous_plan(workdir: Path) -> Plan | None:
    try:
        return Plan.from_dict(json.loads((workdir / PLAN_RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _owners_kept_or_judged(target: Target, result: Plan, previous: Plan | None) -> Decision:
    """An identical re-plan keeps its approval; any other plan is judged afresh."""
    kept = previous.owners if previous else None
    if (kept is not None and kept.passed and previous is not None and result.content_digest
            and previous.content_digest == result.content_digest):
        return replace(kept, notes=(*kept.notes, "kept: an identical re-plan of the approved plan"))
    return _owners_decision(target, result, None, None)


def _owners_decision(target: Target, result: Plan, base: str | None,
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


def review_owners(settings: Settings, *, sandbox: bool | None = None, base: str | None = None,
                  context: GitHubContext | None = None) -> Plan:
    """Re-judges the saved plan's approvals (e.g. after a review) and records the decision."""
    target = resolve_target(settings, sandbox)
    with workdir_lock(target.workdir):
        saved = load_saved_plan(settings, sandbox=sandbox)
        if file_digest(saved.plan_file) != saved.digest:
            raise PlanFileError(f"{saved.plan_file} changed since it was planned: plan again")
        result = replace(saved, owners=_owners_decision(target, saved, base, context))
        _write_record(result)
    return result


def _start_policy(target: Target, pool: ThreadPoolExecutor,
                  ) -> tuple[PolicyInputs | CheckovError, Future[Scan] | None]:
    """Finds Checkov and starts the module scan (overlapping Terraform's plan)."""
    try:
        inputs = PolicyInputs(find_checkov(target.project.root), target.project.modules_dir,
                              target.project.policies_dir, target.project.root / ".loono" /
                              "policy-cache")
    except CheckovError as error:
        return error, None
    return inputs, start_module_scan(inputs, pool)


def _policy_decision(target: Target, result: Plan, inputs: PolicyInputs | CheckovError | None,
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
        plan_scan = scan_plan(inputs, content.redacted, target.workdir / REDACTED_PLAN)
        modules = module_scan.result()
    except CheckovError as error:
        return refusal(settings, result.digest, error.message)
    modules_root = str(target.project.modules_dir.relative_to(target.project.root))
    return evaluate(settings, result.digest, plan_scan, modules, enforcement,
                    datetime.date.today(), modules_root)


def _write_record(result: Plan) -> None:
    write_atomically(result.workdir / PLAN_RECORD, json.dumps(result.to_dict(), indent=2))


def load_saved_plan(settings: Settings, *, sandbox: bool | None = None) -> Plan:
    """The last plan saved for this environment and target, checked against its file."""
    target = resolve_target(settings, sandbox)
    try:
        data = json.loads((target.workdir / PLAN_RECORD).read_text(encoding="utf-8"))
        saved = Plan.from_dict(data)
    except FileNotFoundError:
        raise PlanFileError(
            f"no saved plan for {settings.environment}: run `loono-infra plan` first") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PlanFileError(f"{target.workdir / PLAN_RECORD}: unreadable ({exc})") from None
    return saved


def show(plan_: Plan, settings: Settings | None = None, *,
         engine: Engine | None = None) -> PlanDocument:
    """The full `show -json` document of a saved plan."""
    settings = _settings_of(plan_, settings)
    target = resolve_target(settings, plan_.sandbox, engine)
    _, env = _checked_environment(target)
    return commands.show_plan(target.engine, plan_.workdir, env, PLAN_FILE)


def _settings_of(plan_: Plan, settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    if plan_.settings_source is None:
        raise PlanFileError("the plan does not say which settings file it came from: pass settings")
    from loono_infra.settings import load_settings

    return load_settings(plan_.settings_source)


def apply(plan_: Plan, settings: Settings | None = None, *, engine: Engine | None = None,
          emergency_reason: str | None = None) -> ApplyResult:
    """Applies exactly the saved plan plan_ names, if both gates passed it.

    emergency_reason bypasses missing approvals (never the policy gate): loudly, and
    with an audit record (who, when, digest, why) written next to the state.
    """
    settings = _settings_of(plan_, settings)
    _require_unchanged(plan_)
    require_passed_decision(plan_)
    if settings.ownership.required:
        if emergency_reason is None:
            require_owner_approval(plan_)
        else:
            _write_emergency_audit(plan_, settings, emergency_reason)
    target = resolve_target(settings, plan_.sandbox, engine)
    if target.workdir != plan_.workdir:
        raise PlanFileError(f"the plan is for {plan_.workdir}, not {target.workdir}")
    _, env = _checked_environment(target)
    with workdir_lock(target.workdir):
        _require_unchanged(plan_)
        commands.apply(target.engine, target.workdir, env, PLAN_FILE)
        plan_.plan_file.unlink(missing_ok=True)
        (target.workdir / PLAN_RECORD).unlink(missing_ok=True)
        values = commands.outputs(target.engine, target.workdir, env)
    return ApplyResult(settings.environment, plan_.sandbox, plan_.digest, plan_.summary, values)


def _require_unchanged(plan_: Plan) -> None:
    actual = file_digest(plan_.plan_file)
    if actual != plan_.digest:
        raise PlanFileError(f"{plan_.plan_file}: digest {actual} is not the planned "
                            f"{plan_.digest}; the plan changed since it was reviewed: plan again")


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


def _write_emergency_audit(plan_: Plan, settings: Settings, reason: str) -> None:
    """The emergency path: a reason is required, and the record goes next to the state."""
    from loono_infra.audit import write_emergency_record

    if len(reason.strip()) < 10:
        raise LoonoError("an emergency apply needs a written reason (10 characters or more)")
    target = resolve_target(settings, plan_.sandbox)
    sandbox_info = _sandbox_info(target)
    write_emergency_record(settings, plan_.digest, reason, sandbox_info,
                           [f.message for f in (plan_.owners.failures if plan_.owners else ())])


def destroy(settings: Settings, *, sandbox: bool | None = None,
            engine: Engine | None = None) -> ApplyResult:
    """Plans the destruction of everything in the environment's state and applies it."""
    planned = plan(settings, sandbox=sandbox, mode="destroy", engine=engine)
    return apply(planned, settings, engine=engine)


def validate(settings: Settings, *, sandbox: bool | None = None,
             engine: Engine | None = None) -> list[str]:
    """Renders and runs `terraform validate`; returns warnings, raises on errors."""
    target = resolve_target(settings, sandbox, engine)
    sandbox_info, env = _checked_environment(target)
    with workdir_lock(target.workdir):
        _prepare(target, sandbox_info, env)
        return [str(d) for d in commands.validate(target.engine, target.workdir, env)]
