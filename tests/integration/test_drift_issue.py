"""Drift tracked as a GitHub issue per environment, against the local GitHub API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loono_infra.ci.drift_issue import LABEL, marker, track_drift
from loono_infra.clients.github import GitHubContext
from loono_infra.core.errors import LoonoError
from tests.github_fake import REPO, FakeGitHub, github_server

pytestmark = pytest.mark.integration
RUN = "https://github.com/loono/infrastructure/actions/runs/9"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with github_server() as fake:
        yield fake


def _context(fake: FakeGitHub, token: str = "test-token") -> GitHubContext:
    return GitHubContext(REPO, token, fake.base_url, attempts=2, retry_wait_seconds=0.01)


def _open(fake: FakeGitHub) -> list[dict[str, object]]:
    return [i for i in fake.issues.values() if i["state"] == "open"]


def test_drift_opens_one_issue_updates_it_then_closes_it(github: FakeGitHub) -> None:
    context = _context(github)
    assert track_drift(context, "production", 2, "## Drift: production\n- a\n- b", RUN) == \
        "opened"
    [issue] = _open(github)
    assert issue["title"] == "Drift in production: 2 resources changed outside Terraform"
    assert str(issue["body"]).startswith(marker("production")) and RUN in str(issue["body"])
    assert [label["name"] for label in issue["labels"]] == [LABEL]  # type: ignore[attr-defined]

    assert track_drift(context, "production", 1, "## Drift: production\n- a", RUN) == "updated"
    assert [i["title"] for i in _open(github)] == [
        "Drift in production: 1 resource changed outside Terraform"]

    assert track_drift(context, "staging", 1, "## Drift: staging", RUN) == "opened"
    assert len(_open(github)) == 2  # one per environment

    assert track_drift(context, "production", 0, "## Drift: production\nnone", RUN) == "closed"
    closed = github.issues[int(issue["number"])]  # type: ignore[call-overload]
    assert (closed["state"], closed["state_reason"]) == ("closed", "completed")
    assert "No drift any more" in github.comments[int(issue["number"])][-1]["body"]  # type: ignore[call-overload]
    assert [i["title"] for i in _open(github)] == [
        "Drift in staging: 1 resource changed outside Terraform"]
    assert track_drift(context, "production", 0, "none", RUN) == "none"


def test_the_open_issue_is_found_past_the_first_page(github: FakeGitHub) -> None:
    for number in range(130):
        github.open_issue(f"Drift in env-{number}", marker(f"env-{number}"), [LABEL])
    assert track_drift(_context(github), "env-129", 3, "drift", RUN) == "updated"
    assert len(_open(github)) == 130
    assert any("page=2" in query for query in github.queries)


def test_a_pull_request_carrying_the_marker_is_not_the_drift_issue(github: FakeGitHub) -> None:
    github.add_pull(3, "mallory", "d" * 40)
    github.pulls[3]["body"] = marker("production")  # GitHub lists pull requests as issues too
    assert track_drift(_context(github), "production", 0, "none", RUN) == "none"
    assert github.pulls[3]["state"] == "open" and github.writes == []
    assert track_drift(_context(github), "production", 1, "drift", RUN) == "opened"


def test_an_issue_whose_label_was_dropped_is_still_found(github: FakeGitHub) -> None:
    github.open_issue("Drift in production", marker("production"), [])  # no label kept
    assert track_drift(_context(github), "production", 2, "drift", RUN) == "updated"
    assert len(github.issues) == 1


def test_an_issue_someone_else_wrote_with_the_marker_is_not_taken(github: FakeGitHub) -> None:
    planted = github.open_issue("Drift in production", marker("production"), [LABEL],
                                author="mallory")
    assert track_drift(_context(github), "production", 1, "drift", RUN) == "opened"
    assert planted["body"] == marker("production") and planted["state"] == "open"
    assert len(_open(github)) == 2


def test_a_read_only_token_fails_with_the_reason_and_writes_nothing(github: FakeGitHub) -> None:
    github.read_only.add("test-token")
    with pytest.raises(LoonoError, match=r"drift issue of production: .*HTTP 403"):
        track_drift(_context(github), "production", 1, "drift", RUN)
    assert github.issues == {} and github.writes == []
