"""The `loono-infra` command: arguments -> API calls -> exit codes. No logic of its own.

Exit codes: 0 success (plan: no changes), 2 plan has changes, 3 refused by a gate, 1 error,
4 the state is locked by another run, 130 interrupted (Ctrl-C or SIGTERM; Terraform stopped
cleanly).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from loono_infra.core.errors import LoonoError
from loono_infra.reports import terminal as screen
from loono_infra.reports.terminal import decision_text

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    name="loono-infra", no_args_is_help=True, add_completion=False,
    help="Loono's production on AWS: plan, gate, apply and deploy from typed settings.",
)
sandbox_app = typer.Typer(no_args_is_help=True, help="The embedded local AWS (moto on 127.0.0.1).")
app.add_typer(sandbox_app, name="sandbox")
checkov_app = typer.Typer(no_args_is_help=True,
                          help="The Checkov daemon that serves a developer's plans.")
app.add_typer(checkov_app, name="checkov")

EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment name (environments/<env>.toml).")
]
SandboxOption = Annotated[
    bool | None,
    typer.Option("--sandbox/--aws", help="Rehearse on the sandbox, or target real AWS; "
                 "default: the environment's own target."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document, for machines.")]
DirOption = Annotated[
    Path, typer.Option("--environments-dir", help="Where the environment TOML files are.")
]

def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, no_color=bool(os.environ.get("NO_COLOR")) or None,
                   highlight=False)


def _show(lines: str | list[str], *, stderr: bool = False, markup: bool = True) -> None:
    """Prints what reports/ drew; the CLI draws nothing itself."""
    console = _console(stderr=stderr)
    for line in [lines] if isinstance(lines, str) else lines:
        console.print(line, markup=markup, soft_wrap=True)


def _interrupt_on_terminate() -> None:
    """SIGTERM (a CI runner cancelling, `kill`) stops a run as Ctrl-C does: Terraform is asked
    to stop cleanly, once."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _run(action: Callable[[], int]) -> None:
    """Runs a command body; a LoonoError becomes a message and its exit code, never a traceback."""
    _interrupt_on_terminate()
    try:
        code = action()
    except LoonoError as error:
        _show(screen.error_lines(error.message, error.details()), stderr=True)
        code = error.exit_code
    except KeyboardInterrupt:
        _show(screen.interrupted_line(), stderr=True)
        code = EXIT_INTERRUPTED
    except Exception as error:
        if not type(error).__module__.startswith("botocore"):
            raise
        _show(screen.error_lines(f"an AWS call failed: {error}", []), stderr=True)
        code = EXIT_ERROR
    raise typer.Exit(code)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def _progress(what: str, settings: Any, sandbox: bool | None, total: int = 0) -> Iterator[Any]:
    """Terraform's progress on stderr while a run goes on (a live view on a terminal, timed
    lines in CI); stdout keeps the result alone (--json stays one document)."""
    from loono_infra.core.secrets import known_secrets
    from loono_infra.reports.progress import terraform_progress

    with terraform_progress(_console(stderr=True), what, total,
                            known_secrets(settings, sandbox)) as view:
        yield view


def _settings(env: str, environments_dir: Path) -> Any:
    from loono_infra.core.settings import load_environment

    return load_environment(env, environments_dir)


BaseOption = Annotated[str | None, typer.Option(
    "--base", help="The trusted git revision whose CODEOWNERS, policies/ and gate settings "
    "judge (default: $LOONO_GIT_BASE, else HEAD); files changed since it need their owners.")]
PolicyOption = Annotated[bool, typer.Option(
    "--policy/--no-policy", help="Judge the plan with the policy gate (apply needs it).")]
LockTimeoutOption = Annotated[int, typer.Option(
    "--lock-timeout", min=0, max=3600, help="Seconds to wait for a state lock another run "
    "holds (default 0: refuse at once, naming the holder).")]


def _plan_exit_code(result: Any) -> int:
    if result.decision is not None and not result.decision.passed:
        return EXIT_REFUSED
    return EXIT_CHANGES if result.has_changes else EXIT_OK


@app.command()
def plan(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
         refresh: Annotated[bool, typer.Option(help="Refresh state before planning.")] = True,
         policy: PolicyOption = True, base: BaseOption = None,
         lock_timeout: LockTimeoutOption = 0,
         adopt: Annotated[bool, typer.Option(
             "--adopt", help="Import the resources the plan would create that already exist "
             "in AWS outside the state (a killed run's; listed by a plan without it).")] = False,
         environments_dir: DirOption = Path("environments")) -> None:
    """Render, init, plan and judge; save the plan for `apply`. Exit 0: no changes, 2: changes,
    3: refused by the policy gate, 4: the state is locked by another run.

    Example: loono-infra plan --env production --sandbox
    """
    def body() -> int:
        from loono_infra.flow import pipeline
        from loono_infra.reports import terminal as reports

        settings = _settings(env, environments_dir)
        with _progress(f"plan {env}", settings, sandbox) as on_event:
            result = pipeline.plan(settings, sandbox=sandbox, refresh=refresh, policy=policy,
                                   base=base, lock_timeout=lock_timeout, adopt=adopt,
                                   on_event=on_event)
        if as_json:
            _emit_json(result.to_dict())
        else:
            reports.print_plan(_console(), result)
            for decision in (result.decision, result.owners):
                if decision is not None:
                    _show(decision_text(decision), markup=False)
        return _plan_exit_code(result)

    _run(body)


@app.command()
def unlock(env: EnvOption,
           lock_id: Annotated[str, typer.Option(
               "--lock-id", help="The lock ID the refused command named (only that lock is "
               "released).")],
           force: Annotated[bool, typer.Option(
               "--force", help="Release a lock younger than 15 minutes too (you know its "
               "process is gone).")] = False,
           sandbox: SandboxOption = None,
           environments_dir: DirOption = Path("environments")) -> None:
    """Release the state lock a killed run left. Only when no run of this environment is going
    on: the lock's holder and age are in the message of the command it refused; a lock younger
    than 15 minutes needs --force.

    Example: loono-infra unlock --env production --lock-id 7c2f...
    """
    def body() -> int:
        from loono_infra.flow.unlocking import unlock as release

        held = release(_settings(env, environments_dir), lock_id, sandbox=sandbox, force=force)
        _show(f"{env}: state lock {held.lock_id} of {held.who} ({held.operation}) released")
        return EXIT_OK

    _run(body)


@app.command("policy")
def policy_gate(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
                markdown: Annotated[bool, typer.Option(
                    "--markdown", help="Print the decision as Markdown.")] = False,
                base: BaseOption = None,
                environments_dir: DirOption = Path("environments")) -> None:
    """Plan and print only the policy gate's decision, a line per finding. Exit 3 if refused.

    Example: loono-infra policy --env production --sandbox --json
    """
    def body() -> int:
        from loono_infra.flow import pipeline

        result = pipeline.plan(_settings(env, environments_dir), sandbox=sandbox, base=base)
        decision = result.decision
        if decision is None:
            raise LoonoError("the policy gate gave no decision")
        if as_json:
            _emit_json(decision.to_dict())
        else:
            from loono_infra.reports.markdown import decision_markdown

            _show(decision_markdown(decision) if markdown else decision_text(decision),
                  markup=False)
        return EXIT_OK if decision.passed else EXIT_REFUSED

    _run(body)


@app.command()
def apply(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
          digest: Annotated[str | None, typer.Option(
              help="Apply only if the saved plan has this digest.")] = None,
          emergency_reason: Annotated[str | None, typer.Option(
              help="EMERGENCY: apply without the owners' approvals; the reason is audited.")]
          = None,
          require_reviewed: Annotated[bool, typer.Option(
              "--require-reviewed", help="After a merge: apply only the plan reviewed in the "
              "merged pull request (its report comment), else refuse and tell the PR.")] = False,
          lock_timeout: LockTimeoutOption = 0,
          environments_dir: DirOption = Path("environments")) -> None:
    """Apply exactly the plan the last `plan` saved for this environment.

    Example: loono-infra apply --env sandbox
    """
    def body() -> int:
        from loono_infra.core.errors import PlanFileError
        from loono_infra.flow import pipeline
        from loono_infra.reports import terminal as reports

        settings = _settings(env, environments_dir)
        saved = pipeline.load_saved_plan(settings, sandbox=sandbox)
        if digest is not None and digest != saved.digest:
            raise PlanFileError(f"the saved plan is {saved.digest}, not the expected {digest}")
        if require_reviewed:
            from loono_infra.ci.review_report import enforce_reviewed

            enforce_reviewed(saved)
        if emergency_reason is not None:
            _show(screen.emergency_line(saved.digest), stderr=True)
        with _progress(f"apply {env}", settings, saved.sandbox, saved.summary.total) as on_event:
            result = pipeline.apply(saved, settings, emergency_reason=emergency_reason,
                                    lock_timeout=lock_timeout, on_event=on_event)
        if result.emergency is not None:
            from loono_infra.ci.actions import ActionsRun
            from loono_infra.reports.markdown import emergency_markdown

            ActionsRun.from_environment().add_summary(emergency_markdown(result.emergency))
        _emit_json(result.to_dict()) if as_json else reports.print_apply(_console(), result)
        return EXIT_OK

    _run(body)


@app.command()
def owners(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
           base: BaseOption = None,
           environments_dir: DirOption = Path("environments")) -> None:
    """Who must approve the saved plan, and whether they did (GitHub reviews). Exit 3 if not.

    Example: loono-infra owners --env production --base origin/main --json
    """
    def body() -> int:
        from loono_infra.flow import pipeline

        result = pipeline.review_owners(_settings(env, environments_dir), sandbox=sandbox,
                                        base=base)
        decision = result.owners
        if decision is None:
            raise LoonoError("the ownership gate gave no decision")
        if as_json:
            _emit_json(decision.to_dict())
        else:
            _show(decision_text(decision), markup=False)
        return EXIT_OK if decision.passed else EXIT_REFUSED

    _run(body)


@app.command()
def destroy(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
            yes: Annotated[bool, typer.Option("--yes", help="Confirm the destruction.")] = False,
            environments_dir: DirOption = Path("environments")) -> None:
    """Destroy every resource of an environment (needs --yes).

    Example: loono-infra destroy --env sandbox --yes
    """
    def body() -> int:
        from loono_infra.flow import pipeline
        from loono_infra.reports import terminal as reports

        if not yes:
            raise LoonoError("destroy removes every resource of the environment: pass --yes")
        settings = _settings(env, environments_dir)
        with _progress(f"destroy {env}", settings, sandbox) as on_event:
            result = pipeline.destroy(settings, sandbox=sandbox, on_event=on_event)
        _emit_json(result.to_dict()) if as_json else reports.print_apply(_console(), result)
        return EXIT_OK

    _run(body)


@app.command()
def deploy(env: EnvOption,
           image: Annotated[str, typer.Option(
               "--image", help="Local image as name:tag; the tag is pushed, the digest pinned.")],
           build: Annotated[Path | None, typer.Option(
               "--build", help="First build the image from this directory's Dockerfile.")]
           = None,
           sandbox: SandboxOption = None, as_json: JsonOption = False,
           environments_dir: DirOption = Path("environments")) -> None:
    """Push the image, roll the ECS service, wait for a healthy rollout and run the post-deploy
    tests. A failure after the rollout began rolls back to the previous revision, then exits 1.

    Example: loono-infra deploy --env production --image loono-backend:3f2c1ab --build ./backend
    """
    def body() -> int:
        from loono_infra.core.errors import DeployFailedError
        from loono_infra.deploy import DeployHooks
        from loono_infra.deploy import deploy as run_deploy
        from loono_infra.reports.deploy import PushBars, RolloutLines, deploy_hooks, print_deploy

        console = _console()
        bars = PushBars(console)
        rollout = RolloutLines(_console(stderr=True))  # --json keeps stdout one document
        hooks = DeployHooks(rollout=rollout) if as_json else deploy_hooks(console, bars, rollout)
        try:
            record = run_deploy(_settings(env, environments_dir), image, build,
                                sandbox=sandbox, hooks=hooks)
        except DeployFailedError as failed:
            if as_json and failed.record_path:
                _emit_json(json.loads(Path(failed.record_path).read_text(encoding="utf-8")))
            raise
        finally:
            bars.close()
            rollout.close()
        _emit_json(record.as_dict()) if as_json else print_deploy(console, record)
        return EXIT_OK

    _run(body)


@app.command()
def logs(env: EnvOption,
         since: Annotated[str, typer.Option(help="How far back: 90s, 15m, 1h, 2d.")] = "1h",
         follow: Annotated[bool, typer.Option("--follow", "-f",
                                              help="Keep printing new lines.")] = False,
         filter_pattern: Annotated[str | None, typer.Option(
             "--filter", help="CloudWatch filter pattern, e.g. ERROR.")] = None,
         sandbox: SandboxOption = None, as_json: JsonOption = False,
         environments_dir: DirOption = Path("environments")) -> None:
    """Print the service's CloudWatch log lines (its log group /ecs/<name_prefix>).

    Example: loono-infra logs --env production --since 1h --filter ERROR --follow
    """
    def body() -> int:
        from loono_infra.deploy.logs import LogQuery, parse_since, read_logs

        query = LogQuery(since=parse_since(since), filter_pattern=filter_pattern, follow=follow)
        lines = read_logs(_settings(env, environments_dir), query, sandbox=sandbox)
        if as_json and not follow:
            _emit_json([line.as_dict() for line in lines])
            return EXIT_OK
        for line in lines:
            if as_json:
                sys.stdout.write(json.dumps(line.as_dict()) + "\n")
            else:
                _show(screen.log_line(line.time, line.stream, line.message))
        return EXIT_OK

    _run(body)


@app.command()
def history(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
            environments_dir: DirOption = Path("environments")) -> None:
    """The applies and deploys of an environment recorded in this checkout: time, what,
    digest, result, who (in CI the workflows upload them as artifacts).

    Example: loono-infra history --env production
    """
    def body() -> int:
        from loono_infra.flow.history import history as kept
        from loono_infra.flow.targets import resolve_target

        settings = _settings(env, environments_dir)
        entries = kept(settings, resolve_target(settings, sandbox).sandbox)
        if as_json:
            _emit_json([entry.as_dict() for entry in entries])
        else:
            _show([screen.history_line(e.at, e.kind, e.who, e.digest, e.result)
                   for e in entries] or ["nothing applied or deployed from this checkout yet"])
        return EXIT_OK

    _run(body)


@app.command()
def status(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
           environments_dir: DirOption = Path("environments")) -> None:
    """Show what the service runs: task definition, image digest, deployment state and health.
    Exit 1 when the health endpoint does not answer healthy; 0 with "no image deployed yet"
    before the first deploy.

    Example: loono-infra status --env production --json
    """
    def body() -> int:
        from loono_infra.deploy.status import service_status
        from loono_infra.reports.deploy import print_status

        result = service_status(_settings(env, environments_dir), sandbox=sandbox)
        _emit_json(result.as_dict()) if as_json else print_status(_console(), result)
        return EXIT_OK if result.healthy or not result.deployed else EXIT_ERROR

    _run(body)


@app.command()
def report(env: Annotated[list[str], typer.Option(
               "--env", "-e", help="An environment to plan; repeat for several.")],
           sandbox: SandboxOption = None, as_json: JsonOption = False,
           comment: Annotated[bool, typer.Option(
               "--comment/--no-comment",
               help="Keep the pull request's one report comment up to date.")] = True,
           base: BaseOption = None, environments_dir: DirOption = Path("environments")) -> None:
    """Pull-request report: plan each environment, both gates in report mode; write the job
    summary and step outputs, and create or edit the one PR comment. Exit 0 unless an error.

    Example: loono-infra report --env production --env sandbox
    """
    def body() -> int:
        from loono_infra.ci.review_report import pull_request_report

        result = pull_request_report([_settings(name, environments_dir) for name in env],
                                     sandbox=sandbox, comment=comment, base=base)
        if as_json:
            _emit_json(result.as_dict())
        else:
            _show(result.markdown, markup=False)
        return EXIT_OK

    _run(body)


@app.command()
def drift(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
          issue: Annotated[bool, typer.Option(
              "--issue", help="In CI: open (or update) the environment's GitHub drift issue "
              "when something drifted, close it when nothing did.")] = False,
          environments_dir: DirOption = Path("environments")) -> None:
    """Refresh-only plan: what changed outside Terraform. Exit 2 when something drifted (the
    job summary names the resources), 0 when nothing did.

    Example: loono-infra drift --env production --issue
    """
    def body() -> int:
        from loono_infra.ci.drift import detect_drift

        result = detect_drift(_settings(env, environments_dir), sandbox=sandbox,
                              track_issue=issue)
        if as_json:
            _emit_json(result.as_dict())
        else:
            _show(result.markdown, markup=False)
        return EXIT_CHANGES if result.drifted else EXIT_OK

    _run(body)


@app.command()
def render(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
           environments_dir: DirOption = Path("environments")) -> None:
    """Write the environment's root module (JSON) without running Terraform.

    Example: loono-infra render --env production
    """
    def body() -> int:
        from loono_infra.core.render import write_root
        from loono_infra.flow import pipeline
        from loono_infra.sandbox.control import require_sandbox

        target = pipeline.resolve_target(_settings(env, environments_dir), sandbox)
        endpoint = (pipeline.sandbox_endpoint(target, require_sandbox(target.project.root))
                    if target.sandbox else None)
        rendered = pipeline.render_target(target, endpoint)
        changed = write_root(rendered, target.workdir)
        if as_json:
            _emit_json({"directory": str(target.workdir), "files": sorted(rendered.files),
                        "changed": changed})
        else:
            _show(screen.rendered_line(str(target.workdir), changed))
        return EXIT_OK

    _run(body)


@app.command()
def validate(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
             environments_dir: DirOption = Path("environments")) -> None:
    """Check the settings and run `terraform validate` on the rendered modules.

    Example: loono-infra validate --env production
    """
    def body() -> int:
        from loono_infra.flow import pipeline

        warnings = pipeline.validate(_settings(env, environments_dir), sandbox=sandbox)
        if as_json:
            _emit_json({"valid": True, "warnings": warnings})
        else:
            _show(screen.validate_lines(env, warnings))
        return EXIT_OK

    _run(body)


@app.command()
def fmt(check: Annotated[bool, typer.Option(
            "--check", help="Change nothing; exit 1 when a file is not formatted.")] = False,
        folder: Annotated[Path, typer.Option(help="The Terraform to format.")] = Path("terraform"),
        ) -> None:
    """`terraform fmt` of the modules with the embedded Terraform (no binary needed).

    Example: loono-infra fmt --check
    """
    def body() -> int:
        from loono_infra.core.terraform.commands import unformatted
        from loono_infra.core.terraform.engine import EmbeddedEngine

        if not folder.is_dir():
            raise LoonoError(f"{folder}: no such folder")
        files = unformatted(EmbeddedEngine(), folder.resolve(), dict(os.environ), fix=not check)
        verb = "not formatted" if check else "formatted"
        _show([f"{verb}: {name}" for name in files] or [f"{folder}: formatted"])
        return EXIT_ERROR if check and files else EXIT_OK

    _run(body)


@app.command()
def bootstrap(env: EnvOption, sandbox: SandboxOption = None, as_json: JsonOption = False,
              environments_dir: DirOption = Path("environments")) -> None:
    """Create the state bucket and lock table if missing; change nothing that exists.

    Example: loono-infra bootstrap --env production
    """
    def body() -> int:
        from loono_infra.flow import pipeline
        from loono_infra.flow.bootstrap import bootstrap_state_backend
        from loono_infra.flow.targets import aws_endpoint

        settings = _settings(env, environments_dir)
        s3, dynamodb = aws_endpoint(pipeline.resolve_target(settings, sandbox)).clients(
            "s3", "dynamodb")
        report = bootstrap_state_backend(settings, s3, dynamodb)
        if as_json:
            _emit_json(report.as_dict())
        else:
            _show(screen.bootstrap_lines(report.created, report.existing))
        return EXIT_OK

    _run(body)


@app.command()
def schema(output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
           readme: Annotated[Path | None, typer.Option(
               help="Also regenerate this README's settings reference block.")] = None,
           as_json: JsonOption = True) -> None:
    """Print (or write) the JSON Schema of the environment settings files (it is JSON already;
    --json is accepted for symmetry).

    Example: loono-infra schema --output environments/settings.schema.json --readme README.md
    """
    def body() -> int:
        from loono_infra.core.settings import settings_json_schema
        from loono_infra.docs import update_readme

        document = settings_json_schema()
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        if readme is not None:
            update_readme(readme, document)
        return EXIT_OK

    _run(body)


@sandbox_app.command("up")
def sandbox_up(as_json: JsonOption = False,
               ttl: Annotated[float, typer.Option(help="Stop by itself after this many seconds.")]
               = 4 * 3600.0) -> None:
    """Start the sandbox in the background (or show the running one).

    Example: loono-infra sandbox up --ttl 3600
    """
    def body() -> int:
        from loono_infra.sandbox.control import start_sandbox

        info = start_sandbox(Path.cwd(), ttl_seconds=ttl)
        _emit_json(vars(info)) if as_json else _show(screen.sandbox_line(info.url, info.pid))
        return EXIT_OK

    _run(body)


@sandbox_app.command("down")
def sandbox_down(as_json: JsonOption = False) -> None:
    """Stop the sandbox; everything in it is gone.

    Example: loono-infra sandbox down
    """
    def body() -> int:
        from loono_infra.sandbox.control import stop_sandbox

        stopped = stop_sandbox(Path.cwd())
        _emit_json({"stopped": stopped}) if as_json else _show(
            screen.sandbox_stopped_line(stopped))
        return EXIT_OK

    _run(body)


@sandbox_app.command("status")
def sandbox_status(as_json: JsonOption = False) -> None:
    """Show whether the sandbox runs; exit 1 when it does not.

    Example: loono-infra sandbox status --json
    """
    def body() -> int:
        from loono_infra.sandbox.control import sandbox_status as status

        info = status(Path.cwd())
        if as_json:
            _emit_json({"running": info is not None, **(vars(info) if info else {})})
        else:
            _show(screen.sandbox_line(info.url if info else None, info.pid if info else None))
        return EXIT_OK if info else EXIT_ERROR

    _run(body)


@checkov_app.command("status")
def checkov_status(as_json: JsonOption = False) -> None:
    """List this user's Checkov daemons that answer.

    Example: loono-infra checkov status
    """
    _run(lambda: _checkov_daemons(as_json, stopping=False))


@checkov_app.command("stop")
def checkov_stop(as_json: JsonOption = False) -> None:
    """Ask this user's Checkov daemons to leave now (the next plan starts another).

    Example: loono-infra checkov stop
    """
    _run(lambda: _checkov_daemons(as_json, stopping=True))


def _checkov_daemons(as_json: bool, stopping: bool) -> int:
    """Lists this user's Checkov daemons, or asks them to stop; prints their sockets."""
    from loono_infra.clients import checkov_daemon

    told = checkov_daemon.stop_daemons if stopping else checkov_daemon.daemons
    sockets = [str(path) for path in told(os.environ)]
    if as_json:
        _emit_json({"stopped" if stopping else "daemons": sockets})
    else:
        _show(screen.checkov_daemon_lines(sockets, stopping), markup=False)
    return EXIT_OK


def main(prog_name: str | None = None) -> None:
    """Entry point: the console script's (warm/client.py), or a served command's, whose
    program name (for --help and usage errors) is its client's."""
    app(prog_name=prog_name)


if __name__ == "__main__":
    main()
