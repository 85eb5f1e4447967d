"""The one GitHub client (PyGithub): context from Actions' variables, bounded retries.

Reads pull requests, reviews and team members for the ownership gate, and keeps the
pull-request comment up to date for CI. Transient failures (5xx, rate limits, timeouts)
are retried within bounds; every failure ends as an ApprovalError (or LoonoError for
writes) carrying the reason, so callers refuse with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from loono_infra.clients.github_retries import ApprovalError, RetryBudget, call_with_retries
from loono_infra.core.errors import LoonoError

T = TypeVar("T")


MEMBERS_PERMISSION = ("the organization permission 'Members: read' (a GitHub App installation "
                      "token, or a fine-grained token with it; the workflows pass it as the "
                      "secret LOONO_ORG_READ_TOKEN)")


@dataclass(frozen=True)
class PullRequestInfo:
    """The pull request a change comes from."""

    number: int
    author: str
    head_sha: str


@dataclass(frozen=True)
class Review:
    """One submitted review."""

    review_id: int
    reviewer: str
    state: str
    commit_id: str


@dataclass(frozen=True)
class GitHubContext:
    """Which repository and pull request (or commit) to ask about, and how."""

    repository: str
    token: str
    api_url: str = "https://api.github.com"
    pull_number: int | None = None
    sha: str | None = None
    timeout_seconds: float = 10.0
    attempts: int = 4
    retry_wait_seconds: float = 1.0
    max_wait_seconds: float = 60.0  # the longest rate-limit wait GitHub may ask for
    members_token: str | None = None  # may read the organization's teams (Members: read)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> GitHubContext | None:
        """From GitHub Actions' variables (and LOONO_* overrides); None outside a PR context."""
        env = os.environ if environ is None else environ
        repository = env.get("GITHUB_REPOSITORY")
        token = env.get("LOONO_GITHUB_TOKEN") or env.get("GITHUB_TOKEN")
        if not repository or not token:
            return None
        number = env.get("LOONO_PULL_REQUEST") or _event_pull_number(env.get("GITHUB_EVENT_PATH"))
        return cls(repository=repository, token=token,
                   api_url=env.get("GITHUB_API_URL", "https://api.github.com"),
                   pull_number=int(number) if number else None, sha=env.get("GITHUB_SHA"),
                   members_token=env.get("LOONO_ORG_READ_TOKEN") or None)

    @property
    def budget(self) -> RetryBudget:
        """How hard calls in this context try."""
        return RetryBudget(self.attempts, self.retry_wait_seconds, self.max_wait_seconds)


def _event_pull_number(event_path: str | None) -> str | None:
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApprovalError(f"GITHUB_EVENT_PATH {event_path}: unreadable ({exc})") from None
    number = (event.get("pull_request") or {}).get("number")
    return str(number) if number else None


@dataclass
class GitHubApprovals:
    """Reads pull requests, reviews and team members through PyGithub."""

    context: GitHubContext
    _teams: dict[str, frozenset[str]] = field(default_factory=dict)
    _client: Any = None
    _members_client: Any = None

    def _github(self) -> Any:
        if self._client is None:
            self._client = github_client(self.context)
        return self._client

    def _members_github(self) -> Any:
        if self.context.members_token is None:
            return self._github()
        if self._members_client is None:
            self._members_client = github_client(replace(self.context,
                                                         token=self.context.members_token))
        return self._members_client

    def _call(self, what: str, action: Callable[[], T]) -> T:
        return call_with_retries(what, action, self.context.budget)

    def pull_request(self) -> PullRequestInfo:
        """The pull request of the context: by number, or the one the commit came from."""
        repo = self._github().get_repo(self.context.repository)
        number = self.context.pull_number
        if number is not None:
            return self._call("the pull request", lambda: _pull_info(repo.get_pull(number)))
        return self._call("the pull request of the commit", lambda: _pull_info(_merged_pull(
            repo, self.context.sha or "")))

    def comments_by(self, number: int, author: str) -> list[str]:
        """Bodies of the pull request's comments written by author, oldest first."""
        repo = self._github().get_repo(self.context.repository)
        return self._call("the comments", lambda: [
            str(c.body or "") for c in repo.get_issue(number).get_comments()
            if c.user is not None and str(c.user.login) == author])

    def reviews(self, number: int) -> list[Review]:
        """The pull request's reviews, oldest first."""
        repo = self._github().get_repo(self.context.repository)
        return self._call("the reviews", lambda: [
            _review(r) for r in repo.get_pull(number).get_reviews() if _has_author(r)])

    def team_members(self, team: str) -> frozenset[str]:
        """Logins (lower-case) of @org/team. GitHub answers 403/404 both for an unknown team and
        for a token that may not read the organization's teams (the workflow's own token): the
        refusal names the permission the token needs."""
        if team not in self._teams:
            org, slug = team.lstrip("@").split("/", 1)
            try:
                members = self._call(f"the members of {team}", lambda: [
                    m.login for m in
                    self._members_github().get_organization(org).get_team_by_slug(slug)
                    .get_members()])
            except ApprovalError as error:
                if error.status in (403, 404):
                    raise ApprovalError(
                        f"cannot read the members of {team} (GitHub answered HTTP "
                        f"{error.status}): the token needs {MEMBERS_PERMISSION}, and the team "
                        "must exist", error.status) from None
                raise
            self._teams[team] = frozenset(str(login).lower() for login in members)
        return self._teams[team]


def github_client(context: GitHubContext) -> Any:
    """The PyGithub client of a context (no retries of its own: call_with_retries bounds them)."""
    from github import Auth, Github

    return Github(auth=Auth.Token(context.token), base_url=context.api_url.rstrip("/"),
                  timeout=int(context.timeout_seconds), retry=None, per_page=100, lazy=True,
                  seconds_between_requests=None)


def post_comment(context: GitHubContext, pull_number: int, body: str) -> None:
    """Adds a new comment to a pull request (retried like every call)."""
    client = github_client(context)

    def write() -> None:
        client.get_repo(context.repository).get_issue(pull_number).create_comment(body)

    try:
        call_with_retries(f"a comment on pull request #{pull_number}", write, context.budget)
    except ApprovalError as error:
        raise LoonoError(f"pull request #{pull_number} comment: {error.message}") from None


def upsert_comment(context: GitHubContext, pull_number: int, body: str, marker: str,
                   github: Any = None) -> str:
    """Edits the pull request's comment that carries marker, or creates it: "edited"/"created".

    Never posts a second one. Transient failures are retried like every read."""
    client = github or github_client(context)

    def write() -> str:
        issue = client.get_repo(context.repository).get_issue(pull_number)
        for comment in issue.get_comments():
            if marker in (comment.body or ""):
                comment.edit(body)
                return "edited"
        issue.create_comment(body)
        return "created"

    try:
        return call_with_retries(f"the comment on pull request #{pull_number}", write,
                                 context.budget)
    except ApprovalError as error:
        raise LoonoError(f"pull request #{pull_number} comment: {error.message}") from None


def _merged_pull(repo: Any, sha: str) -> Any:
    """The merged pull request whose merge commit sha is (a commit can be in several PRs:
    only the one GitHub merged *as* this commit approved it)."""
    pulls = list(repo.get_commit(sha).get_pulls())
    merged = [pull for pull in pulls
              if getattr(pull, "merged_at", None) and getattr(pull, "merge_commit_sha", "") == sha]
    if not merged:
        found = ", ".join(f"#{pull.number}" for pull in pulls) or "none"
        raise ApprovalError(f"commit {sha[:12]} is not the merge commit of a merged pull request "
                            f"(pull requests containing it: {found})")
    return merged[0]


def _has_author(raw: Any) -> bool:
    """A review of a deleted account has no user (GitHub shows "ghost"): it approves nothing."""
    return getattr(raw, "raw_data", {}).get("user", "missing") is not None


def _review(raw: Any) -> Review:
    try:
        return Review(int(raw.id), str(raw.user.login), str(raw.state), str(raw.commit_id or ""))
    except (AttributeError, TypeError, ValueError) as exc:
        raise ApprovalError(f"malformed review in the API answer: {exc}") from None


def _pull_info(pull: Any) -> PullRequestInfo:
    try:
        return PullRequestInfo(int(pull.number), str(pull.user.login), str(pull.head.sha))
    except (AttributeError, TypeError, ValueError) as exc:
        raise ApprovalError(f"malformed pull request in the API answer: {exc}") from None
