"""`make demo`: the main job on the embedded sandbox, start to finish.

Starts the sandbox, plans and applies the production-shaped stack
(environments/sandbox.toml), plans again (expecting no changes), builds the
test backend image, deploys it (healthy), deploys a crash-looping version
(rolled back) and stops the sandbox, also on Ctrl-C or failure.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from rich.console import Console

from loono_infra.clients.checkov_daemon import DAEMON_ENV
from loono_infra.core.errors import DeployFailedError, LoonoError
from loono_infra.core.settings import Settings, load_settings
from loono_infra.flow import pipeline
from loono_infra.reports import terminal as reports
from loono_infra.sandbox.control import start_sandbox, stop_sandbox

DEMO_TTL_SECONDS = 1800


def run_demo(project_dir: Path, console: Console) -> int:
    """The demo flow; returns an exit code (0 when the re-plan shows no changes)."""
    settings = load_settings(project_dir / "environments" / "sandbox.toml")
    info = start_sandbox(project_dir, ttl_seconds=DEMO_TTL_SECONDS)
    console.print(f"[bold]1.[/] sandbox (moto) running at {info.url}")
    try:
        started = time.monotonic()
        first = pipeline.plan(settings)
        console.print(f"[bold]2.[/] planned in {time.monotonic() - started:.1f} s")
        reports.print_plan(console, first)
        _print_verdict(console, first)
        started = time.monotonic()
        console.print("[bold]3.[/] applying (the RDS and ECS waiters take about a minute)")
        result = pipeline.apply(first, settings)
        console.print(f"    applied in {time.monotonic() - started:.1f} s")
        reports.print_apply(console, result)
        second = pipeline.plan(settings)
        console.print("[bold]4.[/] planned again:")
        reports.print_plan(console, second)
        _print_verdict(console, second)
        if second.has_changes or not _passed(first) or not _passed(second):
            console.print("[bold red]the re-plan is not a clean, gate-passed no-change plan[/]")
            return 1
        return 0 if deploy_demo(settings, console) else 1
    finally:
        stop_sandbox(project_dir)
        console.print("[bold]7.[/] sandbox stopped")


def _passed(plan_: pipeline.Plan) -> bool:
    return plan_.decision is not None and plan_.decision.passed


def _print_verdict(console: Console, plan_: pipeline.Plan) -> None:
    """The policy gate's verdict (first line) and every blocking reason."""
    for line in reports.verdict_lines(plan_.decision):
        console.print(line, soft_wrap=True)


def deploy_demo(settings: Settings, console: Console) -> bool:
    """Deploys a healthy test backend, then a crash-looping one; True when both went as meant."""
    import docker

    from loono_infra.deploy import deploy
    from loono_infra.deploy.status import service_status
    from loono_infra.reports.deploy import PushBars, deploy_hooks, print_deploy
    from loono_infra.sandbox.backend_image import build_test_backend

    engine = docker.from_env()
    console.print("[bold]5.[/] building the test backend (busybox httpd and psql FROM scratch) and "
                  "deploying it")
    build_test_backend(engine, "loono-backend:demo-healthy", "healthy", "1")
    build_test_backend(engine, "loono-backend:demo-crash", "crash", "2")
    bars = PushBars(console)
    good = deploy(settings, "loono-backend:demo-healthy", hooks=deploy_hooks(console, bars))
    print_deploy(console, good)
    console.print("[bold]6.[/] deploying a version that crashes at start")
    try:
        deploy(settings, "loono-backend:demo-crash", hooks=deploy_hooks(console, bars))
    except DeployFailedError as failed:
        console.print(f"    [bold red]failed[/] as it should: {failed.failure}", soft_wrap=True,
                      highlight=False)
        console.print(f"    [bold green]rollback[/]: {failed.rollback}", soft_wrap=True,
                      highlight=False)
        status = service_status(settings)
        console.print(f"    now serving {status.task_definition.rsplit('/', 1)[-1]} "
                      f"({status.digest}): {status.health}", highlight=False)
        return status.healthy and status.digest == good.digest
    console.print("[bold red]the broken version was not refused[/]")
    return False


def main() -> int:
    """Entry point of `python -m loono_infra.demo`. The demo plans in one process: it leaves
    no Checkov daemon behind (clients/checkov_daemon.py)."""
    os.environ.setdefault(DAEMON_ENV, "off")
    console = Console()
    try:
        return run_demo(Path.cwd(), console)
    except LoonoError as error:
        console.print(f"[bold red]error:[/] {error.message}")
        for line in error.details():
            console.print(f"  {line}", markup=False)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
