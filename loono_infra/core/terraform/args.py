"""Argument lists for each Terraform command. Pure: tested without any Terraform."""

from __future__ import annotations

from dataclasses import dataclass

PLAN_FILE = "plan.tfplan"
_COMMON = ("-input=false", "-no-color")


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: mode, refresh, locking and parallelism."""

    mode: str = "normal"  # "normal", "destroy" or "refresh-only"
    refresh: bool = True
    out: str = PLAN_FILE
    lock_timeout_seconds: int = 0  # a held lock refuses at once, naming its holder
    parallelism: int = 10

    def __post_init__(self) -> None:
        if self.mode not in ("normal", "destroy", "refresh-only"):
            raise ValueError(f"unknown plan mode {self.mode!r}")
        if self.mode == "refresh-only" and not self.refresh:
            raise ValueError("a refresh-only plan needs refresh")


def init_args(*, json_output: bool, backend: bool = True) -> list[str]:
    """`init` that reconfigures the backend and never asks; JSON where supported (>= 1.9).
    Without backend (-backend=false) it needs no credentials: enough to validate."""
    args = ["init", *_COMMON, "-reconfigure" if backend else "-backend=false"]
    return [*args, "-json"] if json_output else args


def plan_args(options: PlanOptions) -> list[str]:
    """`plan` saving its plan file, with machine-readable output and detailed exit codes."""
    args = ["plan", *_COMMON, "-json", "-detailed-exitcode", f"-out={options.out}",
            f"-lock-timeout={options.lock_timeout_seconds}s",
            f"-parallelism={options.parallelism}"]
    if options.mode == "destroy":
        args.append("-destroy")
    elif options.mode == "refresh-only":
        args.append("-refresh-only")
    if not options.refresh:
        args.append("-refresh=false")
    return args


def apply_args(plan_file: str, *, lock_timeout_seconds: int = 0) -> list[str]:
    """`apply` of exactly one saved plan file."""
    return ["apply", *_COMMON, "-json", f"-lock-timeout={lock_timeout_seconds}s", plan_file]


def force_unlock_args(lock_id: str) -> list[str]:
    """`force-unlock` of exactly the lock with this ID (Terraform refuses another)."""
    return ["force-unlock", "-force", lock_id]


def show_args(plan_file: str) -> list[str]:
    """`show -json` of a saved plan file."""
    return ["show", "-json", "-no-color", plan_file]


def providers_schema_args() -> list[str]:
    """`providers schema -json`: every resource type's attributes (computed, optional, ...)."""
    return ["providers", "schema", "-json"]


def validate_args() -> list[str]:
    """`validate -json`."""
    return ["validate", "-json", "-no-color"]


def output_args() -> list[str]:
    """`output -json` of the root module's outputs in state."""
    return ["output", "-json", "-no-color"]


def version_args() -> list[str]:
    """`version -json`."""
    return ["version", "-json"]
