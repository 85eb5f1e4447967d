"""Keeps one pull-request comment up to date: edits the comment that carries the marker,
or creates it when there is none. Never posts a second one."""

from __future__ import annotations

from typing import Any

from github import Github, GithubException
from github.Auth import Token

from loono_infra.errors import LoonoError
from loono_infra.gates.approvals import GitHubContext


def upsert_comment(context: GitHubContext, pull_number: int, body: str, marker: str,
                   github: Any = None) -> str:
    """Edits or creates the comment; returns "edited" or "created"."""
    client = github or Github(auth=Token(context.token), base_url=context.api_url.rstrip("/"),
                              retry=None, lazy=True, seconds_between_requests=None,
                              timeout=int(context.timeout_seconds))
    try:
        issue = client.get_repo(context.repository).get_issue(pull_number)
        for comment in issue.get_comments():
            if marker in (comment.body or ""):
                comment.edit(body)
                return "edited"
        issue.create_comment(body)
    except GithubException as error:
        raise LoonoError(f"pull request #{pull_number} comment: GitHub answered "
                         f"{error.status}: {error.data}") from error
    return "created"
