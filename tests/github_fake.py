"""A local GitHub REST API for tests: the documented shapes of pull requests, reviews and teams.

Serves on 127.0.0.1 (a free port) from a thread, and stops when the test ends. As strict as
GitHub's REST documentation where the code depends on it:
- lists are paginated: `per_page` (default 30, at most 100) and `page`, with a `Link` header;
- team paths need a token that may read the organization's members (else 404, as GitHub);
- a dismissed review changes state in place; a deleted account's review has `"user": null`;
- the primary rate limit holds (403, `x-ratelimit-remaining: 0`) until `x-ratelimit-reset`;
  a secondary limit answers 403 with `retry-after` until that time has passed;
- writes need a token that may write: a read-only token gets 403.
Faults can be scripted too: answer N requests with a status before answering normally.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

REPO = "loono/infrastructure"


@dataclass
class FakeGitHub:
    """The state the fake API answers from."""

    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    # Tokens GitHub lets read the organization's teams ("Members: read"); the workflow's own
    # token is not one: for it GitHub answers 404 on team paths, as for a team that does not exist.
    tokens: set[str] = field(default_factory=lambda: {"test-token", "workflow-token"})
    org_readers: set[str] = field(default_factory=lambda: {"test-token"})
    team_refusal: int = 404  # GitHub answers 404 (classic tokens) or 403 (fine-grained ones)
    read_only: set[str] = field(default_factory=set)  # tokens GitHub lets read, not write
    limited_until: float = 0.0  # the primary rate limit holds until then (epoch seconds)
    secondary_until: float = 0.0  # a secondary limit holds until then
    queries: list[str] = field(default_factory=list)  # every request's path with its query
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # plain issues (not pulls)
    base_url: str = ""

    def comment(self, number: int, body: str, author: str = "github-actions[bot]",
                ) -> dict[str, Any]:
        """Adds an issue comment in GitHub's documented shape; returns it."""
        every = [c for items in self.comments.values() for c in items]
        comment_id = 1000 + len(every)
        item = {"id": comment_id, "body": body, "user": _user(author),
                "url": f"{self.base_url}/repos/{REPO}/issues/comments/{comment_id}",
                "html_url": f"https://github.com/{REPO}/pull/{number}#issuecomment-{comment_id}",
                "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z"}
        self.comments.setdefault(number, []).append(item)
        return item

    def edit_comment(self, comment_id: int, body: str) -> dict[str, Any] | None:
        for item in (c for items in self.comments.values() for c in items):
            if item["id"] == comment_id:
                item["body"] = body
                item["updated_at"] = "2026-11-26T11:00:00Z"
                return item
        return None

    def open_issue(self, title: str, body: str, labels: list[str],
                   author: str = "github-actions[bot]") -> dict[str, Any]:
        """An issue as POST /repos/{repo}/issues creates it (numbers shared with pulls)."""
        number = max([0, *self.pulls, *self.issues]) + 1
        self.issues[number] = {
            "number": number, "title": title, "body": body, "state": "open",
            "state_reason": None, "user": _user(author),
            "labels": [{"name": name} for name in labels],
            "url": f"{self.base_url}/repos/{REPO}/issues/{number}",
            "html_url": f"https://github.com/{REPO}/issues/{number}"}
        self.comments.setdefault(number, [])
        return self.issues[number]

    def edit_issue(self, number: int, changes: dict[str, Any]) -> dict[str, Any] | None:
        issue = self.issues.get(number)
        if issue is not None:
            issue.update({key: changes[key] for key in ("title", "body", "state", "state_reason")
                          if key in changes})
        return issue

    def add_pull(self, number: int, author: str, head_sha: str) -> None:
        self.pulls[number] = {"number": number, "state": "open", "user": _user(author),
                              "head": {"sha": head_sha, "ref": "change"},
                              "base": {"sha": "0" * 40, "ref": "main"},
                              "url": f"{self.base_url}/repos/{REPO}/pulls/{number}",
                              "merged": False, "merged_at": None, "merge_commit_sha": None}
        self.reviews.setdefault(number, [])
        self.comments.setdefault(number, [])
        self.commit_pulls.setdefault(head_sha, []).append(number)

    def merge(self, number: int, merge_sha: str) -> None:
        """GitHub merged the pull request as commit merge_sha (a merge or squash commit)."""
        self.pulls[number] |= {"state": "closed", "merged": True,
                               "merged_at": "2026-11-26T12:00:00Z", "merge_commit_sha": merge_sha}
        self.commit_pulls.setdefault(merge_sha, []).append(number)

    def review(self, number: int, reviewer: str | None, state: str, commit_id: str | None,
               ) -> int:
        """A submitted review (reviewer None: a deleted account); returns its id."""
        items = self.reviews[number]
        items.append({"id": len(items) + 1, "user": None if reviewer is None else _user(reviewer),
                      "state": state, "commit_id": commit_id, "body": "",
                      "submitted_at": f"2026-11-26T{10 + len(items) // 60:02d}:"
                                      f"{len(items) % 60:02d}:00Z"})
        return len(items)

    def dismiss(self, number: int, review_id: int) -> None:
        """A maintainer dismissed the review: GitHub changes its state in place."""
        review = next(r for r in self.reviews[number] if r["id"] == review_id)
        review["state"] = "DISMISSED"

    def fail_next(self, count: int, status: int, headers: dict[str, str] | None = None) -> None:
        self.failures += [(status, headers or {})] * count


def page_of(items: list[Any], query: str, url: str) -> tuple[list[Any], dict[str, str]]:
    """One page of a list and its Link header, as GitHub paginates (30 by default, 100 at most)."""
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    per_page = min(100, max(1, int(params.get("per_page", 30))))
    page = max(1, int(params.get("page", 1)))
    last = max(1, -(-len(items) // per_page))
    shown = ({"first": 1, "prev": page - 1} if page > 1 else {}) | (
        {"next": page + 1, "last": last} if page < last else {})
    header = ", ".join(f'<{url}?{urlencode(params | {"page": n, "per_page": per_page})}>; '
                       f'rel="{rel}"' for rel, n in shown.items())
    return items[(page - 1) * per_page:page * per_page], ({"Link": header} if header else {})


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 100000, "type": "User"}


class Routes:
    """GitHub's REST paths this fake answers, each a method returning the JSON (None: 404)."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.query = ""
        prefix = f"/repos/{REPO}"
        self.table = [(re.compile(pattern), handler) for pattern, handler in [
            (rf"^{prefix}/pulls/(?P<n>\d+)$", self.pull),
            (rf"^{prefix}/pulls/(?P<n>\d+)/reviews$", self.reviews),
            (rf"^{prefix}/commits/(?P<sha>[0-9a-f]+)/pulls$", self.commit_pulls),
            (rf"^{prefix}/issues$", self.issue_list),
            (rf"^{prefix}/issues/(?P<n>\d+)$", self.issue),
            (rf"^{prefix}/issues/(?P<n>\d+)/comments$", self.issue_comments),
            (r"^/orgs/(?P<org>[\w-]+)$", self.org),
            (r"^/orgs/(?P<org>[\w-]+)/teams/(?P<slug>[\w.-]+)$", self.team),
            (r"^/orgs/(?P<org>[\w-]+)/teams/(?P<slug>[\w.-]+)/members$", self.members),
        ]]

    LISTS = ("reviews", "issue_comments", "commit_pulls", "members", "issue_list")

    def answer(self, path: str, query: str) -> tuple[Any, dict[str, str]]:
        """The JSON body (None: 404) and headers; lists are answered a page at a time."""
        self.query = query
        for pattern, handler in self.table:
            match = pattern.match(path)
            if match:
                body = handler(match)
                if body is not None and handler.__name__ in self.LISTS:
                    return page_of(body, query, self.fake.base_url + path)
                return body, {}
        return None, {}

    def pull(self, m: re.Match[str]) -> Any:
        return self.fake.pulls.get(int(m["n"]))

    def issue_list(self, m: re.Match[str]) -> Any:
        """Open issues by default; `state` and `labels` (all of them) filter, as GitHub does."""
        query = parse_qs(self.query)
        state = (query.get("state") or ["open"])[-1]
        wanted = {name for value in query.get("labels", []) for name in value.split(",") if name}
        creator = (query.get("creator") or [None])[-1]
        pulls = [self._issue_of(pull) for pull in self.fake.pulls.values()]  # GitHub lists them
        return [issue for issue in [*self.fake.issues.values(), *pulls]
                if state in ("all", issue["state"])
                and wanted <= {label["name"] for label in issue.get("labels", [])}
                and creator in (None, issue["user"]["login"])]

    def issue(self, m: re.Match[str]) -> Any:
        if int(m["n"]) in self.fake.issues:
            return self.fake.issues[int(m["n"])]
        pull = self.fake.pulls.get(int(m["n"]))
        return None if pull is None else self._issue_of(pull)

    def _issue_of(self, pull: dict[str, Any]) -> dict[str, Any]:
        """A pull request as the issues API shows it (with a pull_request member)."""
        return {"number": pull["number"], "state": pull["state"], "user": pull["user"],
                "title": "change", "body": pull.get("body"), "labels": [],
                "pull_request": {"url": pull["url"]},
                "url": f"{self.fake.base_url}/repos/{REPO}/issues/{pull['number']}"}

    def issue_comments(self, m: re.Match[str]) -> Any:
        return self.fake.comments.get(int(m["n"]), [])

    def reviews(self, m: re.Match[str]) -> Any:
        return self.fake.reviews.get(int(m["n"]))

    def commit_pulls(self, m: re.Match[str]) -> Any:
        return [self.fake.pulls[n] for n in self.fake.commit_pulls.get(m["sha"], [])]

    def org(self, m: re.Match[str]) -> Any:
        return {"login": m["org"], "url": f"{self.fake.base_url}/orgs/{m['org']}"}

    def team(self, m: re.Match[str]) -> Any:
        if f"@{m['org']}/{m['slug']}" not in self.fake.teams:
            return None
        return {"slug": m["slug"], "name": m["slug"],
                "url": f"{self.fake.base_url}/orgs/{m['org']}/teams/{m['slug']}"}

    def members(self, m: re.Match[str]) -> Any:
        logins = self.fake.teams.get(f"@{m['org']}/{m['slug']}")
        return None if logins is None else [_user(login) for login in logins]


_COMMENTS = re.compile(rf"^/repos/{REPO}/issues/(\d+)/comments$")
_ISSUES = re.compile(rf"^/repos/{REPO}/issues$")
_ISSUE = re.compile(rf"^/repos/{REPO}/issues/(\d+)$")
_COMMENT = re.compile(rf"^/repos/{REPO}/issues/comments/(\d+)$")


class _Handler(BaseHTTPRequestHandler):
    """GET answers from Routes; POST creates and PATCH edits issue comments."""

    fake: FakeGitHub
    routes: Routes
    token: str = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        every = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
                 "x-ratelimit-reset": str(int(time.time()) + 3600)}
        scripted = {key.lower(): value for key, value in (headers or {}).items()}
        for key, value in (every | scripted).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start(self, method: str) -> str | None:
        """The request's path once it is authorized and not limited (else the refusal is sent
        and None)."""
        path = self.path.split("?", 1)[0]
        self.fake.requests.append(path if method == "GET" else f"{method} {path}")
        self.fake.queries.append(self.path)
        token = self.headers.get("Authorization", "").split(" ", 1)[-1]
        if token not in self.fake.tokens:
            self._send(401, {"message": "Bad credentials"})
        elif not self._limited():
            self.token = token
            return self._failed() or path
        return None

    def _limited(self) -> bool:
        """Answers GitHub's rate-limit refusal while a limit holds."""
        now = time.time()
        if now < self.fake.limited_until:
            self._send(403, {"message": "API rate limit exceeded"}, {
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(self.fake.limited_until))})
            return True
        if now < self.fake.secondary_until:
            self._send(403, {"message": "You have exceeded a secondary rate limit"},
                       {"retry-after": str(int(-(-(self.fake.secondary_until - now) // 1)))})
            return True
        return False

    def _failed(self) -> str | None:
        """Answers the next scripted failure, if any (returns "" then, else None)."""
        if not self.fake.failures:
            return None
        status, headers = self.fake.failures.pop(0)
        self._send(status, {"message": "scripted failure"}, headers)
        return ""

    def _may_write(self) -> bool:
        if self.token in self.fake.read_only:
            self._send(403, {"message": "Resource not accessible by integration"})
            return False
        return True

    def _json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        value = json.loads(self.rfile.read(length) or b"{}")
        return value if isinstance(value, dict) else {}

    def _body(self) -> str:
        return str(self._json().get("body", ""))

    def do_POST(self) -> None:
        path = self._start("POST")
        match = _COMMENTS.match(path or "")
        if not path or not self._may_write():
            return
        if _ISSUES.match(path):
            sent = self._json()
            self.fake.writes.append(("open issue", str(sent.get("body", ""))))
            self._send(201, self.fake.open_issue(str(sent.get("title", "")),
                                                 str(sent.get("body", "")),
                                                 [str(x) for x in sent.get("labels", [])]))
            return
        if match is None or int(match[1]) not in {*self.fake.pulls, *self.fake.issues}:
            self._send(404, {"message": "Not Found"})
            return
        body = self._body()
        self.fake.writes.append(("create", body))
        self._send(201, self.fake.comment(int(match[1]), body))

    def do_PATCH(self) -> None:
        path = self._start("PATCH")
        if not path or not self._may_write():
            return
        if (issue := _ISSUE.match(path)) is not None:
            sent = self._json()
            self.fake.writes.append(("edit issue", json.dumps(sent, sort_keys=True)))
            edited_issue = self.fake.edit_issue(int(issue[1]), sent)
            self._send(200 if edited_issue else 404, edited_issue or {"message": "Not Found"})
            return
        match = _COMMENT.match(path)
        body = self._body()
        edited = self.fake.edit_comment(int(match[1]), body) if match else None
        self.fake.writes.append(("edit", body))
        self._send(200 if edited else 404, edited or {"message": "Not Found"})

    def do_GET(self) -> None:
        path = self._start("GET")
        if not path:
            return
        if "/teams/" in path and self.token not in self.fake.org_readers:
            refusal = self.fake.team_refusal
            self._send(refusal, {"message": "Not Found" if refusal == 404 else
                                 "Resource not accessible by personal access token"})
            return
        body, headers = self.routes.answer(path, self.path.partition("?")[2])
        self._send(200 if body is not None else 404,
                   body if body is not None else {"message": "Not Found"}, headers)


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"fake": fake, "routes": Routes(fake)})


@contextmanager
def github_server() -> Iterator[FakeGitHub]:
    """Runs the fake API on 127.0.0.1 for the duration of a with block."""
    fake = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
