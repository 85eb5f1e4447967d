"""Where a run goes (an environment on AWS or the sandbox, an engine) and how it is prepared."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import SettingsError, SettingsProblem
from loono_infra.core.files import exclusive_lock, write_atomically
from loono_infra.core.providers import prepare_provider
from loono_infra.core.render import (
    PASSWORD_VARIABLE,
    RenderedRoot,
    SandboxEndpoint,
    modules_source_for,
    render,
    write_root,
)
from loono_infra.core.secrets import database_password
from loono_infra.core.settings import Settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.engine import (
    EmbeddedEngine,
    Engine,
    Limits,
    backend_dialect,
    choose_engine,
    supports_moved,
)
from loono_infra.core.workspace import Project
from loono_infra.sandbox.control import (
    SANDBOX_REGION_CREDENTIALS,
    SandboxInfo,
    require_sandbox,
    sandbox_dir,
)
from loono_infra.sandbox.tls import tls_files

_LOCK_WAIT_SECONDS = 300
_SCRUBBED_FOR_SANDBOX = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                         "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


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
        return self.project.root_module_dir(self.settings, self.sandbox, tag)


def resolve_target(settings: Settings, sandbox: bool | None = None,
                   engine: Engine | None = None) -> Target:
    """The run's target; an environment that lives only on the sandbox cannot go to AWS."""
    on_sandbox = settings.target == "sandbox" if sandbox is None else sandbox
    if settings.target == "sandbox" and not on_sandbox:
        raise SettingsError(str(settings.source or settings.environment), [
            SettingsProblem("target", "this environment lives only on the sandbox")])
    limits = Limits(settings.terraform.command_timeout_seconds,
                    settings.terraform.stop_grace_seconds)
    chosen = engine or choose_engine(settings.terraform.engine, settings.terraform.binary, limits)
    return Target(Project.of(settings), settings, on_sandbox, chosen)


def render_target(target: Target, sandbox: SandboxEndpoint | None) -> RenderedRoot:
    """The root module of a target (pure; sandbox is the sandbox's endpoint and certificate)."""
    project = target.project
    return render(
        target.settings,
        modules_source=modules_source_for(target.workdir, project.modules_dir),
        lock_file_text=project.lock_file.read_text(encoding="utf-8"),
        sandbox=sandbox,
        dialect=backend_dialect(target.engine),
        moved=supports_moved(target.engine),
    )


def workdir_lock(workdir: Path, wait_seconds: float = _LOCK_WAIT_SECONDS,
                 ) -> AbstractContextManager[None]:
    """One loono-infra run per root module directory at a time (across processes)."""
    return exclusive_lock(workdir / ".loono.lock", wait_seconds, str(workdir))


def sandbox_info(target: Target) -> SandboxInfo | None:
    return require_sandbox(target.project.root) if target.sandbox else None


def engine_environment(target: Target, sandbox: SandboxInfo | None,
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Terraform runs with: provider supply, the password, sandbox credentials."""
    base = dict(os.environ if environ is None else environ)
    env = {key: value for key, value in base.items() if not key.startswith("TF_VAR_")}
    env |= prepare_provider(target.project.tooling_dir).environment()
    env |= {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    secrets_dir = sandbox_dir(target.project.root) if sandbox else None
    password = database_password(target.settings, base, secrets_dir)
    if password is not None:
        env[f"TF_VAR_{PASSWORD_VARIABLE}"] = password
    if sandbox is not None:
        for key in _SCRUBBED_FOR_SANDBOX:
            env.pop(key, None)
        env |= SANDBOX_REGION_CREDENTIALS | {"AWS_EC2_METADATA_DISABLED": "true"}
    return env


def offline_environment(target: Target) -> dict[str, str]:
    """What Terraform needs to validate: the provider mirror, no credentials, no password."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_VAR_", "AWS_"))}
    return {**base, **prepare_provider(target.project.tooling_dir).environment(),
            "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
            "AWS_EC2_METADATA_DISABLED": "true"}


def _once_per_sandbox(target: Target, key: str, make: Callable[[], str]) -> str:
    """make()'s answer for key, computed once per sandbox run (kept in the sandbox's folder,
    which `sandbox down` clears), under a lock shared by concurrent runs."""
    directory = sandbox_dir(target.project.root)
    marker = directory / "prepared.json"
    with exclusive_lock(directory / ".bootstrap.lock", _LOCK_WAIT_SECONDS, str(marker)):
        try:
            known: dict[str, str] = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if key not in known:
            known[key] = make()
            write_atomically(marker, json.dumps(known, sort_keys=True))
        return known[key]


def _ensure_sandbox_backend(target: Target, sandbox: SandboxInfo) -> None:
    """Creates the state bucket and lock table in the sandbox once per sandbox run."""
    from loono_infra.flow.bootstrap import bootstrap_state_backend

    def create() -> str:
        s3, dynamodb = sandbox_endpoint_for(target, sandbox).clients("s3", "dynamodb")
        bootstrap_state_backend(target.settings, s3, dynamodb)
        return "created"

    state = target.settings.state
    _once_per_sandbox(target, f"backend|{sandbox.url}|{state.bucket}|{state.lock_table}", create)


def sandbox_endpoint(target: Target, sandbox: SandboxInfo) -> SandboxEndpoint:
    """The sandbox as a render input: its endpoint and its certificate's ARN."""
    return SandboxEndpoint(sandbox.url, _sandbox_certificate(target, sandbox))


def _sandbox_certificate(target: Target, sandbox: SandboxInfo) -> str:
    """The ARN of the sandbox's own certificate in its ACM (imported once per sandbox run)."""
    from loono_infra.sandbox.tls import import_certificate

    def imported() -> str:
        acm = sandbox_endpoint_for(target, sandbox).client("acm")
        return import_certificate(acm, tls_files(sandbox_dir(target.project.root)))

    return _once_per_sandbox(target, f"certificate|{sandbox.url}|{target.settings.region}",
                             imported)


def sandbox_endpoint_for(target: Target, sandbox: SandboxInfo) -> AwsEndpoint:
    return AwsEndpoint(target.settings.region, sandbox.url, SANDBOX_REGION_CREDENTIALS)


def aws_endpoint(target: Target, sandbox: SandboxInfo | None = None) -> AwsEndpoint:
    """Where the target's AWS answers (the sandbox is looked up when not given)."""
    sandbox = sandbox or sandbox_info(target)
    return sandbox_endpoint_for(target, sandbox) if sandbox else AwsEndpoint(
        target.settings.region)


def checked_environment(target: Target) -> tuple[SandboxInfo | None, dict[str, str]]:
    """Everything that can refuse before a file is written: the sandbox, the secrets."""
    sandbox = sandbox_info(target)
    return sandbox, engine_environment(target, sandbox)


def prepare(target: Target, sandbox: SandboxInfo | None, env: Mapping[str, str]) -> None:
    """Renders, writes and initialises the root module (under the workdir lock)."""
    endpoint = None
    if sandbox is not None:
        _ensure_sandbox_backend(target, sandbox)
        endpoint = sandbox_endpoint(target, sandbox)
    write_root(render_target(target, endpoint), target.workdir)
    commands.init(target.engine, target.workdir, env, target.project.module_files())


