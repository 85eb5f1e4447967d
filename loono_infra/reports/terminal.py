"""Human renderings of plans and applies for the terminal (rich), kept apart from the CLI."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loono_infra.core.decision import Decision
from loono_infra.core.plans import ApplyResult, Plan

_ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}


def plan_table(plan: Plan) -> Table:
    """One row per resource the plan changes."""
    table = Table(title=f"{plan.environment}{' (sandbox)' if plan.sandbox else ''}: plan",
                  show_lines=False)
    table.add_column("action")
    table.add_column("resource")
    table.add_column("reason")
    for change in plan.changes:
        if not change.changes_something:
            continue
        style = _ACTION_STYLE.get(change.action, "")
        table.add_row(f"[{style}]{change.action}[/]" if style else change.action, change.address,
                      change.reason or "")
    return table


def plan_summary_line(plan: Plan) -> str:
    """"Plan: 3 to add, 1 to change, 0 to destroy." with the digest."""
    s = plan.summary
    imports = f", {s.imported} to import" if s.imported else ""
    head = (f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy{imports}"
            if plan.has_changes else "No changes.")
    return f"{head}  digest {plan.digest}"


def print_plan(console: Console, plan: Plan) -> None:
    """The plan as a table (when it changes anything), its summary and warnings."""
    if plan.has_changes:
        console.print(plan_table(plan))
    replaced = [c.address for c in plan.changes if c.action == "replace"]
    for address in replaced:
        console.print(f"[bold magenta]replaces[/] {address}")
    if plan.drift:
        console.print(f"{len(plan.drift)} resources changed outside Terraform (refresh only)")
    if plan.read_back:
        console.print(f"refresh: {len(plan.read_back)} resources read back values the provider "
                      "computes or other resources manage; none the configuration sets (no drift)")
    for line in _notices(plan):
        console.print(line, highlight=False)
    if plan.service_rollout:
        console.print(f"[bold]service:[/] {plan.service_rollout}", highlight=False)
    console.print(plan_summary_line(plan))


def _notices(plan: Plan) -> list[str]:
    """Warnings, and resources outside the state (adopted, or found and not adopted)."""
    return [*(f"[yellow]warning:[/] {escape(w)}" for w in plan.warnings),
            *(f"[bold yellow]left by a killed run:[/] {escape(a)}" for a in plan.adopted),
            *(f"[bold red]outside the state:[/] {escape(d)}" for d in plan.dangling)]


def print_apply(console: Console, result: ApplyResult) -> None:
    """What an apply changed and the outputs it left."""
    s = result.applied
    console.print(f"Applied {result.digest}: {s.add} added, {s.change} changed, "
                  f"{s.destroy} destroyed.")
    for name, value in sorted(result.outputs.items()):
        console.print(f"  {name} = {value}")
    if result.rollout:
        console.print(f"service: {rollout_line(result.rollout)}", highlight=False)


def rollout_line(rollout: dict[str, Any]) -> str:
    """'succeeded: loono-prod:12 with <image>' and the like."""
    outcome = str(rollout.get("outcome"))
    if outcome == "nothing_deployed":
        return "no image deployed yet: the first deploy starts the service"
    if outcome == "unchanged":
        return "already runs the applied configuration"
    revision = str(rollout.get("task_definition", "")).rsplit("/", 1)[-1]
    return f"rolled onto {revision} with {rollout.get('image')}: {outcome}"


def decision_text(decision: Decision) -> str:
    """A terminal rendering: the verdict, then every failure, then the other findings."""
    verdict = "PASSED" if decision.passed else "REFUSED"
    lines = [f"{decision.gate} gate: {verdict} ({len(decision.failures)} blocking, "
             f"{len(decision.findings)} findings, {decision.checked} checks run) "
             f"for {decision.digest}"]
    lines += [f"  BLOCKS  {f.message}" for f in decision.failures]
    for finding in decision.findings:
        if finding.overridden_by is not None:
            lines.append(f"  overridden  {finding.check_id} {finding.resource}: "
                         f"{finding.overridden_by}")
        elif finding.level == "advisory":
            lines.append(f"  advisory  {finding.check_id} {finding.resource}: "
                         f"{finding.check_name}")
    lines += [f"  note  {note}" for note in decision.notes]
    if decision.rules:
        lines.append(f"  judged by the {decision.rules}")
    return "\n".join(lines)


def error_lines(message: str, details: list[str]) -> list[str]:
    """A refused or failed command: the message, then its details (markup only on the first)."""
    return [f"[bold red]error:[/] {message}", *(f"  {escape(line)}" for line in details)]


def interrupted_line() -> str:
    return "interrupted; Terraform was asked to stop cleanly"


def emergency_line(digest: str) -> str:
    return ("[bold white on red] EMERGENCY APPLY [/] without the owners' approvals; "
            f"an audit record (who, when, {digest}, why) goes next to the state")


def log_line(time: str, stream: str, message: str) -> str:
    return f"[dim]{escape(time)} {escape(stream)}[/] {escape(message)}"


def history_line(at: str, kind: str, who: str, digest: str, result: str) -> str:
    short = digest.removeprefix("sha256:")[:12] or "-"
    return f"{escape(at)}  {kind:6s} {escape(short):12s} {escape(result)}  [dim]{escape(who)}[/]"


def rendered_line(directory: str, changed: bool) -> str:
    return f"rendered {escape(directory)} ({'changed' if changed else 'unchanged'})"


def validate_lines(environment: str, warnings: list[str]) -> list[str]:
    return [*(f"[yellow]{escape(w)}[/]" for w in warnings), f"{environment}: valid"]


def bootstrap_lines(created: list[str], existing: list[str]) -> list[str]:
    return [*(f"created {escape(i)}" for i in created),
            *(f"kept {escape(i)} (already there)" for i in existing)]


def sandbox_line(url: str | None, pid: int | None) -> str:
    return f"sandbox running at {url} (pid {pid})" if url else "sandbox not running"


def sandbox_stopped_line(stopped: bool) -> str:
    return "sandbox stopped" if stopped else "no sandbox was running"


def checkov_daemon_lines(sockets: list[str], stopping: bool) -> list[str]:
    if not sockets:
        return ["no Checkov daemon runs"]
    verb = "asked to stop" if stopping else "running"
    return [f"Checkov daemon {verb}: {socket}" for socket in sockets]


def verdict_lines(decision: Decision | None) -> list[str]:
    """A plan's policy verdict in a line (green or red) and every blocking reason under it."""
    if decision is None:
        return ["    [bold red]policy gate: no decision[/]"]
    style = "green" if decision.passed else "bold red"
    head = escape(decision_text(decision).splitlines()[0])
    return [f"    [{style}]{head}[/]",
            *(f"      BLOCKS {escape(failure.message)}" for failure in decision.failures)]
