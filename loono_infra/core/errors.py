"""The errors loono-infra raises. Each carries the data a user needs to act on it."""

from __future__ import annotations

from dataclasses import dataclass


class LoonoError(Exception):
    """Base of every error loono-infra raises on purpose; the CLI prints it without a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> list[str]:
        """Extra lines shown under the message."""
        return []


@dataclass(frozen=True)
class SettingsProblem:
    """One invalid value in a settings file: the dotted field path and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SettingsError(LoonoError):
    """A settings file is missing, unreadable or invalid; lists every problem at once."""

    def __init__(self, source: str, problems: list[SettingsProblem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun} in the settings")
        self.source = source
        self.problems = problems

    def details(self) -> list[str]:
        return [str(problem) for problem in self.problems]


@dataclass(frozen=True)
class Diagnostic:
    """A Terraform diagnostic as its JSON output reports it."""

    severity: str
    summary: str
    detail: str = ""
    filename: str | None = None
    line: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.filename:
            where = f" ({self.filename}" + (f":{self.line}" if self.line else "") + ")"
        if self.address:
            where += f" [{self.address}]"
        text = f"{self.severity}: {self.summary}{where}"
        return f"{text}\n  {self.detail}" if self.detail else text


class TerraformError(LoonoError):
    """A Terraform command failed; carries its diagnostics."""

    def __init__(
        self, command: str, diagnostics: list[Diagnostic], output_tail: str = ""
    ) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        first = errors[0].summary if errors else "see the output below"
        super().__init__(f"terraform {command} failed: {first}")
        self.command = command
        self.diagnostics = diagnostics
        self.output_tail = output_tail

    def details(self) -> list[str]:
        lines = [str(d) for d in self.diagnostics if d.severity == "error"]
        if not lines and self.output_tail:
            lines = self.output_tail.splitlines()[-15:]
        return lines


class ApplyInterruptedError(LoonoError):
    """An apply was interrupted and Terraform stopped gracefully: finished resources are in
    the state, the lock is released, and a new plan shows what is left."""

    exit_code = 130

    def __init__(self, environment: str, applied: int, planned: int, *,
                 clean: bool = True) -> None:
        how = ("Terraform stopped cleanly and saved the state" if clean else
               "Terraform did not stop in time and was killed: what was in flight may be "
               "outside the state and the lock may be left (the next plan says so)")
        super().__init__(
            f"interrupted: {applied} of {planned} changes applied; {how}. Re-plan to continue: "
            f"loono-infra plan --env {environment}")
        self.applied = applied
        self.planned = planned


class TerraformTimeoutError(LoonoError):
    """A Terraform command outlived settings.terraform.command_timeout_seconds."""

    def __init__(self, limit_seconds: float, endpoint: str) -> None:
        super().__init__(
            f"Terraform did not finish within {limit_seconds:.0f} s and was stopped: the AWS "
            f"endpoint {endpoint} may not be answering. If the state lock was left, the next "
            "plan names it (terraform.command_timeout_seconds sets the limit)")


class StateLockedError(LoonoError):
    """Another run holds the environment's state lock (or a killed one left it)."""

    exit_code = 4

    def __init__(self, environment: str, lock_id: str, who: str, operation: str,
                 age_seconds: float | None) -> None:
        since = f", {_age(age_seconds)} ago" if age_seconds is not None else ""
        super().__init__(
            f"the state of {environment} is locked by {who} ({operation}{since}), lock ID "
            f"{lock_id}. If that run is going on, wait for it (or pass --lock-timeout); if its "
            f"process was killed: loono-infra unlock --env {environment} --lock-id {lock_id}")
        self.lock_id = lock_id
        self.who = who


def _age(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


class ProviderError(LoonoError):
    """The offline AWS provider cannot be supplied (missing, or its checksum does not match)."""


class SandboxError(LoonoError):
    """The embedded AWS sandbox is not running or could not be started."""


class PlanFileError(LoonoError):
    """A saved plan is missing or is not the plan that was reviewed (its digest differs)."""


class EngineChoiceError(LoonoError):
    """The configured Terraform engine cannot be used."""


class GateRefusedError(LoonoError):
    """A gate refused an apply; carries every reason."""

    exit_code = 3

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []

    def details(self) -> list[str]:
        return self.reasons


class DeployError(LoonoError):
    """A deploy could not start or could not finish; nothing half-done was left behind."""


class DeployLockedError(DeployError):
    """Another deploy of the same service holds the deploy lock."""


class DeployFailedError(DeployError):
    """The new version failed after the rollout began; the service was rolled back first.

    ``failure`` tells what went wrong with the new version, ``rollback`` what the rollback did.
    """

    def __init__(self, failure: str, rollback: str, record_path: str | None = None) -> None:
        super().__init__(f"deploy failed: {failure}")
        self.failure = failure
        self.rollback = rollback
        self.record_path = record_path

    def details(self) -> list[str]:
        lines = [f"rollback: {self.rollback}"]
        if self.record_path:
            lines.append(f"record: {self.record_path}")
        return lines
