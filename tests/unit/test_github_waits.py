"""The waits GitHub asks for, read from its answers (pure: no server)."""

from __future__ import annotations

from github import GithubException

from loono_infra.clients.github_retries import SECONDARY_LIMIT_WAIT, asked_wait


def test_retry_after_and_the_primary_reset_say_how_long() -> None:
    assert asked_wait(GithubException(403, {}, {"retry-after": "7"})) == 7.0
    reset = GithubException(403, {}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"})
    assert asked_wait(reset, now=990.0) == 11.0  # until the reset, and a second more


def test_a_secondary_limit_naming_no_time_waits_a_minute() -> None:
    limited = GithubException(403, {"message": "You have exceeded a secondary rate limit."}, {})
    assert asked_wait(limited) == SECONDARY_LIMIT_WAIT == 60.0


def test_a_refusal_that_is_no_limit_asks_no_wait() -> None:
    assert asked_wait(GithubException(403, {"message": "Resource not accessible"}, {})) is None
    assert asked_wait(GithubException(403, {}, {"retry-after": "soon"})) is None
    assert asked_wait(ValueError("not GitHub's")) is None
