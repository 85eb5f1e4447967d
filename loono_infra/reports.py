"""Human renderings of plans and applies for the terminal (rich), kept apart from the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loono_infra.pipeline import ApplyResult, Plan

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
    head = (f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy"
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
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(plan_summary_line(plan))


def print_apply(console: Console, result: ApplyResult) -> None:
    """What an apply changed and the outputs it left."""
    s = result.applied
    console.print(f"Applied {result.digest}: {s.add} added, {s.change} changed, "
                  f"{s.destroy} destroyed.")
    for name, value in sorted(result.outputs.items()):
        console.print(f"  {name} = {value}")
