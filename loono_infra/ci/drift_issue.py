"""Drift tracked where the team sees it: one open GitHub issue per drifted environment.

A drift run that finds changes opens the environment's issue (label `drift`, a hidden marker
naming the environment), or updates it when it is already open; a later run that finds none
says so on the issue and closes it. All through the one GitHub client, retried like every call.
"""

from __future__ import annotations

import os
from typing import Any

from loono_infra.clients.github import GitHubContext, github_client
from loono_infra.clients.github_retries import ApprovalError, call_with_retries
from loono_infra.core.errors import LoonoError

LABEL = "drift"


def marker(environment: str) -> str:
    return f"<!-- loono-infra:drift:{environment} -->"


AUTHOR_ENV = "LOONO_DRIFT_ISSUE_AUTHOR"
DEFAULT_AUTHOR = "github-actions[bot]"  # who the workflow's token writes as


def _open_issue(repo: Any, environment: str) -> Any:
    """The environment's open drift issue, if any: found by its marker among every open issue
    (not by its label, which GitHub drops silently for a token that may not set labels, nor by
    its title), written by the drift job's own identity (anyone may paste the marker into an
    issue or a pull request; GitHub lists pull requests as issues too)."""
    author = os.environ.get(AUTHOR_ENV) or DEFAULT_AUTHOR
    return next((issue for issue in repo.get_issues(state="open", creator=author)
                 if issue.pull_request is None and issue.user is not None
                 and issue.user.login == author and marker(environment) in (issue.body or "")),
                None)


def track_drift(context: GitHubContext, environment: str, drifted: int, markdown: str,
                run_url: str | None = None) -> str:
    """Opens, updates or closes the environment's drift issue: "opened", "updated", "closed"
    or "none" (no drift and no open issue). A LoonoError names what GitHub refused."""
    client = github_client(context)
    body = f"{marker(environment)}\n{markdown}" + (f"\n[Drift run]({run_url})\n" if run_url
                                                    else "")
    title = f"Drift in {environment}: {drifted} resource{'s' if drifted != 1 else ''} " \
            "changed outside Terraform"

    def write() -> str:
        repo = client.get_repo(context.repository)
        issue = _open_issue(repo, environment)
        if drifted and issue is None:
            repo.create_issue(title=title, body=body, labels=[LABEL])
            return "opened"
        if drifted:
            issue.edit(title=title, body=body)
            return "updated"
        if issue is None:
            return "none"
        issue.create_comment("No drift any more" + (f" ([drift run]({run_url}))" if run_url
                                                    else "") + ": closing.")
        issue.edit(state="closed", state_reason="completed")
        return "closed"

    try:
        return call_with_retries(f"the drift issue of {environment}", write, context.budget)
    except ApprovalError as error:
        raise LoonoError(f"drift issue of {environment}: {error.message}") from None
