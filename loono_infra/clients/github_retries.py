"""Bounded retries of GitHub API calls that honour the waits GitHub asks for.

GitHub's documented limits: the primary rate limit answers 403 or 429 with
`x-ratelimit-remaining: 0` and holds until `x-ratelimit-reset` (epoch seconds); a secondary
limit answers 403 or 429 with `retry-after` (seconds). Such a wait is honoured when it fits
the run's budget; a limit that holds longer refuses at once, saying when it lifts. 5xx, a
bare 429 and network errors are retried after a fixed wait. Every failure ends as an
ApprovalError carrying the reason (and GitHub's status), so callers refuse with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from loono_infra.core.errors import LoonoError

T = TypeVar("T")


class ApprovalError(LoonoError):
    """Approvals could not be read (API down, no rights, malformed answer): the gate refuses."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # GitHub's HTTP status, when it answered


@dataclass(frozen=True)
class RetryBudget:
    """How hard to try: attempts, the wait between them, the longest wait GitHub may ask for."""

    attempts: int = 4
    wait_seconds: float = 1.0
    max_wait_seconds: float = 60.0


SECONDARY_LIMIT_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute


def asked_wait(error: BaseException, now: float | None = None) -> float | None:
    """Seconds GitHub asked to wait before the next request (retry-after, the rate limit's
    reset, or a minute for a secondary limit that names no time), or None when it asked
    nothing."""
    headers: dict[str, str] = getattr(error, "headers", None) or {}
    try:
        if "retry-after" in headers:
            return max(0.0, float(headers["retry-after"]))
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            reset = float(headers["x-ratelimit-reset"])
            return max(0.0, reset - (time.time() if now is None else now)) + 1.0
    except ValueError:
        return None
    message = str((getattr(error, "data", None) or {}).get("message", "")) \
        if isinstance(getattr(error, "data", None), dict) else ""
    return SECONDARY_LIMIT_WAIT if "secondary rate limit" in message.lower() else None


def _transient(error: BaseException) -> bool:
    from github import GithubException
    from requests import RequestException

    if isinstance(error, GithubException):
        limited = error.status in (403, 429) and asked_wait(error) is not None
        return error.status >= 500 or error.status == 429 or limited
    return isinstance(error, RequestException)


def _retryable(budget: RetryBudget) -> Callable[[BaseException], bool]:
    def retryable(error: BaseException) -> bool:
        asked = asked_wait(error)
        return _transient(error) and (asked is None or asked <= budget.max_wait_seconds)
    return retryable


def _wait(budget: RetryBudget) -> Callable[[Any], float]:
    def wait(state: Any) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = asked_wait(error) if error is not None else None
        return budget.wait_seconds if asked is None else asked
    return wait


def call_with_retries(what: str, action: Callable[[], T], budget: RetryBudget) -> T:
    """Runs action, retrying transient API failures; every failure ends as an ApprovalError."""
    from github import GithubException
    from requests import RequestException
    from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt

    try:
        for attempt in Retrying(stop=stop_after_attempt(budget.attempts), wait=_wait(budget),
                                retry=retry_if_exception(_retryable(budget)), reraise=False):
            with attempt:
                return action()
    except RetryError as exhausted:
        cause = exhausted.last_attempt.exception()
        raise ApprovalError(f"GitHub did not answer {what} after {budget.attempts} attempts: "
                            f"{describe(cause, budget)}") from None
    except GithubException as error:
        raise ApprovalError(f"GitHub refused {what}: {describe(error, budget)}",
                            error.status) from None
    except RequestException as error:
        raise ApprovalError(f"GitHub unreachable for {what}: {error}") from None
    raise ApprovalError(f"no answer for {what}")


def describe(error: BaseException | None, budget: RetryBudget) -> str:
    """HTTP status, and when a rate limit lifts if GitHub said so."""
    status = getattr(error, "status", None)
    if not status:
        return str(error)
    asked = asked_wait(error) if error is not None else None
    if asked is None:
        return f"HTTP {status}"
    lifts = datetime.fromtimestamp(time.time() + asked, UTC).strftime("%H:%M:%S UTC")
    return (f"HTTP {status}, rate limited until {lifts} (in {asked:.0f} s; a run waits at most "
            f"{budget.max_wait_seconds:.0f} s)")
