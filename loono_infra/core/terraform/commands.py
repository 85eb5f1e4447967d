"""One function per Terraform command: run it on an engine, read its JSON, raise typed errors."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.core.errors import Diagnostic, TerraformError
from loono_infra.core.terraform import args as tf_args
from loono_infra.core.terraform.engine import Completed, Engine, LineCallback, supports_init_json
from loono_infra.core.terraform.events import EventCallback, line_listener
from loono_infra.core.terraform.models import (
    PlanDocument,
    StreamPlan,
    parse_plan_document,
    parse_plan_stream,
)
from loono_infra.core.terraform.output import diagnostic_of, json_lines, stream_diagnostics

INIT_STAMP = Path(".terraform") / "loono-init.json"


@dataclass(frozen=True)
class PlanRun:
    """A finished `plan`: what it said and whether it found changes."""

    stream: StreamPlan
    has_changes: bool
    warnings: tuple[Diagnostic, ...]


def _fail(command: str, completed: Completed, messages: list[dict[str, Any]]) -> TerraformError:
    diagnostics = stream_diagnostics(messages)
    return TerraformError(command, diagnostics, completed.stderr or completed.stdout)


def init_fingerprint(workdir: Path, inputs: Iterable[Path], engine: Engine,
                     env: Mapping[str, str]) -> str:
    """A digest of everything `init` depends on: root files, module files, CLI config, engine."""
    digest = hashlib.sha256(engine.name.encode())
    cli_config = env.get("TF_CLI_CONFIG_FILE")
    files = [*sorted(workdir.glob("*.tf.json")), workdir / ".terraform.lock.hcl",
             *sorted(inputs)]
    if cli_config:
        files.append(Path(cli_config))
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def init(engine: Engine, workdir: Path, env: Mapping[str, str], module_files: Iterable[Path],
         *, backend: bool = True) -> bool:
    """Initialises workdir unless nothing init depends on changed; returns whether it ran."""
    fingerprint = init_fingerprint(workdir, module_files, engine, env) + f"|backend={backend}"
    stamp = workdir / INIT_STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
        return False
    args = tf_args.init_args(json_output=supports_init_json(engine), backend=backend)
    completed = engine.run(args, workdir, env)
    if completed.returncode != 0:
        raise _fail("init", completed, list(json_lines(completed.stdout)))
    partial = stamp.with_name(stamp.name + ".partial")
    partial.write_text(fingerprint, encoding="utf-8")
    os.replace(partial, stamp)
    return True


def _listener(on_event: EventCallback | None) -> LineCallback | None:
    return None if on_event is None else line_listener(on_event)


def plan(engine: Engine, workdir: Path, env: Mapping[str, str],
         options: tf_args.PlanOptions, on_event: EventCallback | None = None) -> PlanRun:
    """Plans into options.out; exit code 2 means changes, as with -detailed-exitcode.
    on_event gets the run's progress (refreshes, planned changes) as it happens."""
    completed = engine.run(tf_args.plan_args(options), workdir, env, _listener(on_event))
    plan_file = workdir / options.out
    if plan_file.is_file():
        plan_file.chmod(0o600)  # it holds every variable's value in clear text
    messages = list(json_lines(completed.stdout))
    if completed.returncode not in (0, 2):
        raise _fail("plan", completed, messages)
    warnings = tuple(d for d in stream_diagnostics(messages) if d.severity == "warning")
    return PlanRun(parse_plan_stream(messages), completed.returncode == 2, warnings)


def show_plan(engine: Engine, workdir: Path, env: Mapping[str, str], plan_file: str,
              ) -> PlanDocument:
    """The typed `show -json` document of a saved plan."""
    completed = engine.run(tf_args.show_args(plan_file), workdir, env)
    if completed.returncode != 0:
        raise _fail("show", completed, list(json_lines(completed.stderr)))
    try:
        return parse_plan_document(json.loads(completed.stdout))
    except (ValueError, KeyError, TypeError) as exc:
        raise TerraformError("show", [], f"unreadable plan document: {exc}") from None


def apply(engine: Engine, workdir: Path, env: Mapping[str, str], plan_file: str,
          lock_timeout_seconds: int = 0, on_event: EventCallback | None = None,
          ) -> list[dict[str, Any]]:
    """Applies exactly one saved plan; returns the JSON messages (TerraformInterrupted says
    how far an interrupted one got: applied_count of its output). on_event gets each
    resource's start, progress and end as it happens."""
    completed = engine.run(tf_args.apply_args(plan_file, lock_timeout_seconds=lock_timeout_seconds),
                           workdir, env, _listener(on_event))
    messages = list(json_lines(completed.stdout))
    if completed.returncode != 0:
        raise _fail("apply", completed, messages)
    return messages


def validate(engine: Engine, workdir: Path, env: Mapping[str, str]) -> list[Diagnostic]:
    """`validate -json`; raises with the diagnostics when the configuration is invalid."""
    completed = engine.run(tf_args.validate_args(), workdir, env)
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        raise TerraformError("validate", [], completed.stderr or completed.stdout) from None
    diagnostics = [diagnostic_of(raw) for raw in report.get("diagnostics", [])]
    if not report.get("valid", False):
        raise TerraformError("validate", diagnostics, completed.stderr)
    return diagnostics


def unformatted(engine: Engine, folder: Path, env: Mapping[str, str], fix: bool) -> list[str]:
    """`fmt -recursive` of folder: the files not in canonical format (fixed when fix)."""
    arguments = ["fmt", "-recursive", "-list=true"] + ([] if fix else ["-check"])
    completed = engine.run([*arguments, str(folder)], folder.parent, env)
    if completed.returncode not in (0, 3):
        raise TerraformError("fmt", [], completed.stderr or completed.stdout)
    return [line for line in completed.stdout.splitlines() if line.strip()]


def provider_schema(engine: Engine, workdir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The providers' schemas (`providers schema -json`) of an initialised workdir."""
    completed = engine.run(tf_args.providers_schema_args(), workdir, env)
    if completed.returncode != 0:
        raise _fail("providers schema", completed, list(json_lines(completed.stdout)))
    try:
        schema = json.loads(completed.stdout)
    except ValueError:
        raise TerraformError("providers schema", [], "the schema is not JSON") from None
    if not isinstance(schema, dict) or not schema.get("provider_schemas"):
        raise TerraformError("providers schema", [], "no provider schema in the answer")
    return schema


def outputs(engine: Engine, workdir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The root outputs from state (sensitive ones left out)."""
    completed = engine.run(tf_args.output_args(), workdir, env)
    if completed.returncode != 0:
        raise TerraformError("output", [], completed.stderr)
    raw = json.loads(completed.stdout or "{}")
    return {name: item.get("value") for name, item in raw.items() if not item.get("sensitive")}


def applied_count(completed: Completed) -> int:
    """How many resource changes an apply finished (its apply_complete messages)."""
    return sum(1 for message in json_lines(completed.stdout)
               if message.get("type") == "apply_complete")


def force_unlock(engine: Engine, workdir: Path, env: Mapping[str, str], lock_id: str) -> None:
    """Releases the state lock with this ID (a killed run's); refuses any other ID."""
    completed = engine.run(tf_args.force_unlock_args(lock_id), workdir, env)
    if completed.returncode != 0:
        raise TerraformError("force-unlock", [], completed.stderr or completed.stdout)
