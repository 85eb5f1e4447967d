"""Approvals over real HTTP, through PyGithub, from a local server with GitHub's REST shapes."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from loono_infra.clients.github import GitHubApprovals, GitHubContext, upsert_comment
from loono_infra.clients.github_retries import ApprovalError
from loono_infra.core.errors import LoonoError
from loono_infra.flow.gating import read_approvals
from loono_infra.gates.owners.decide import judge_approvals
from loono_infra.gates.owners.mapping import Requirement
from tests.github_fake import REPO, FakeGitHub, github_server

pytestmark = pytest.mark.integration

HEAD = "a" * 40
OLD = "b" * 40
DB = Requirement(("@loono/database-owners",), ("terraform/modules/rds/main.tf",),
                 ("module.rds.aws_db_instance.this",))


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with github_server() as fake:
        fake.add_pull(7, "alice", HEAD)
        fake.teams["@loono/database-owners"] = ["dora", "dan"]
        yield fake


def judge(fake: FakeGitHub, requirement: Requirement = DB, token: str = "test-token",
          **context: object) -> list[str]:
    options = {"pull_number": 7, "retry_wait_seconds": 0.01, "attempts": 3, **context}
    source = GitHubApprovals(GitHubContext(REPO, token, fake.base_url,
                                           **options))  # type: ignore[arg-type]
    failures, _ = judge_approvals([requirement], read_approvals(source))
    return [f.message for f in failures]


def test_team_member_approval_passes(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    assert judge(github) == []


def test_approval_by_a_non_owner_does_not_count(github: FakeGitHub) -> None:
    github.review(7, "mallory", "APPROVED", HEAD)
    assert judge(github) == [f"missing approval from {DB.describe()}"]


MISSING = f"missing approval from {DB.describe()}; not counted: "


def test_the_author_cannot_approve_their_own_change(github: FakeGitHub) -> None:
    github.teams["@loono/database-owners"].append("alice")
    github.review(7, "alice", "APPROVED", HEAD)
    assert judge(github) == [MISSING + "alice: they wrote the change"]


def test_an_approval_of_an_older_commit_is_stale(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", OLD)
    assert judge(github) == [MISSING + f"dora: they approved {OLD[:12]}, not the head {HEAD[:12]}"]


def test_a_dismissed_approval_does_not_count(github: FakeGitHub) -> None:
    approval = github.review(7, "dora", "APPROVED", HEAD)
    assert judge(github) == []
    github.dismiss(7, approval)  # GitHub changes the approval's state in place
    assert judge(github) == [MISSING + "dora: their review was dismissed"]


def test_changes_requested_after_an_approval_withdraws_it(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    github.review(7, "dora", "CHANGES_REQUESTED", HEAD)
    assert judge(github) == [MISSING + "dora: they requested changes after approving"]
    github.review(7, "dan", "APPROVED", HEAD)
    assert judge(github) == []


def test_a_non_owners_discounted_approval_is_not_listed(github: FakeGitHub) -> None:
    github.review(7, "mallory", "APPROVED", OLD)
    assert judge(github) == [f"missing approval from {DB.describe()}"]


def test_a_comment_after_an_approval_keeps_it(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    github.review(7, "dora", "COMMENTED", HEAD)
    assert judge(github) == []


def test_a_user_owner_approves_directly(github: FakeGitHub) -> None:
    github.review(7, "Carol", "APPROVED", HEAD)
    assert judge(github, Requirement(("@carol",), ("x",), ())) == []


MERGE = "e" * 40


def test_push_to_main_finds_the_pull_request_of_the_commit(github: FakeGitHub) -> None:
    github.review(7, "dan", "APPROVED", HEAD)
    github.merge(7, MERGE)
    assert judge(github, pull_number=None, sha=MERGE) == []
    with pytest.raises(ApprovalError, match="not the merge commit of a merged pull request"):
        judge(github, pull_number=None, sha="c" * 40)


def test_the_merged_pull_request_is_the_one_merged_as_the_commit(github: FakeGitHub) -> None:
    github.add_pull(5, "eve", "f" * 40)
    github.commit_pulls[MERGE] = [5]  # an open pull request that also contains the commit
    github.merge(7, MERGE)
    source = GitHubApprovals(GitHubContext(REPO, "test-token", github.base_url, sha=MERGE,
                                           retry_wait_seconds=0.01, attempts=2))
    assert source.pull_request().number == 7
    github.commit_pulls[HEAD] = [5, 7]  # the head of 7 is in both, but merged as neither
    source = GitHubApprovals(GitHubContext(REPO, "test-token", github.base_url, sha=HEAD,
                                           retry_wait_seconds=0.01, attempts=2))
    with pytest.raises(ApprovalError, match=r"pull requests containing it: #5, #7"):
        source.pull_request()


def test_rate_limited_then_recovering_passes_after_retry(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    github.fail_next(1, 403, {"X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(int(time.time()))})
    github.fail_next(1, 429)
    assert judge(github) == []
    assert github.failures == []


def test_server_errors_beyond_the_bound_refuse_with_the_reason(github: FakeGitHub) -> None:
    github.fail_next(5, 502)
    with pytest.raises(ApprovalError, match="after 3 attempts: HTTP 502"):
        judge(github)


def test_too_few_rights_refuse_without_retrying(github: FakeGitHub) -> None:
    github.fail_next(1, 403)
    with pytest.raises(ApprovalError, match=r"refused .*HTTP 403"):
        judge(github)


def test_an_unknown_team_refuses(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    with pytest.raises(ApprovalError, match="@loono/ghosts"):
        judge(github, Requirement(("@loono/ghosts",), ("x",), ()))


@pytest.mark.parametrize("refusal", [404, 403])
def test_a_team_needs_a_token_that_may_read_members(github: FakeGitHub, refusal: int) -> None:
    github.team_refusal = refusal
    github.review(7, "dora", "APPROVED", HEAD)
    with pytest.raises(ApprovalError) as refused:
        judge(github, token="workflow-token")
    assert f"HTTP {refusal}" in refused.value.message
    assert "Members: read" in refused.value.message
    assert "LOONO_ORG_READ_TOKEN" in refused.value.message and "@loono/database-owners" in \
        refused.value.message
    assert judge(github) == []  # the same requirement with a members-read token passes


def test_api_down_refuses(github: FakeGitHub) -> None:
    with github_server() as gone:
        url = gone.base_url
    source = GitHubApprovals(GitHubContext(REPO, "test-token", url, pull_number=7,
                                           attempts=2, retry_wait_seconds=0.01))
    with pytest.raises(ApprovalError, match="after 2 attempts"):
        judge_approvals([DB], read_approvals(source))


def test_reviews_past_the_first_page_count(github: FakeGitHub) -> None:
    for number in range(130):
        github.review(7, f"bystander{number}", "COMMENTED", HEAD)
    github.review(7, "dora", "APPROVED", HEAD)  # on the second page of 100
    github.teams["@loono/database-owners"] = [f"member{n}" for n in range(120)] + ["dora"]
    assert judge(github) == []
    pages = [q for q in github.queries if "/reviews" in q or "/members" in q]
    assert sum("page=2" in q for q in pages) == 2  # both lists were read to their end


def test_the_fake_paginates_as_github_documents(github: FakeGitHub) -> None:
    for number in range(65):
        github.review(7, f"r{number}", "COMMENTED", HEAD)
    url = f"{github.base_url}/repos/{REPO}/pulls/7/reviews"

    def get(query: str) -> tuple[list[dict[str, object]], str]:
        request = urllib.request.Request(url + query,
                                         headers={"Authorization": "token test-token"})
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read()), str(answer.headers.get("Link", ""))

    first, links = get("")
    assert len(first) == 30 and 'rel="next"' in links and "page=3" in links  # 30 by default
    last, links = get("?page=3")
    assert len(last) == 5 and 'rel="next"' not in links and 'rel="prev"' in links
    assert len(get("?per_page=500")[0]) == 65  # at most 100 a page


def test_a_deleted_accounts_review_is_skipped_not_refused(github: FakeGitHub) -> None:
    github.review(7, None, "APPROVED", HEAD)  # "user": null
    github.review(7, "dora", "APPROVED", HEAD)
    assert judge(github) == []


def test_a_review_without_a_commit_is_stale(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", None)
    assert judge(github) == [MISSING + f"dora: they approved an unknown commit, not the head "
                                       f"{HEAD[:12]}"]


def test_the_primary_rate_limit_is_waited_out_until_its_reset(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    github.limited_until = time.time() + 1.5
    assert judge(github) == []
    assert github.requests.count(f"/repos/{REPO}/pulls/7") >= 2  # refused, then answered


def test_a_rate_limit_beyond_the_budget_refuses_at_once_saying_when_it_lifts(
        github: FakeGitHub) -> None:
    github.limited_until = time.time() + 3600
    started = time.monotonic()
    with pytest.raises(ApprovalError, match=r"HTTP 403, rate limited until .* UTC \(in 36\d\d s"):
        judge(github, max_wait_seconds=30)
    assert len(github.requests) == 1 and time.monotonic() - started < 10


def test_a_secondary_limit_is_retried_after_retry_after(github: FakeGitHub) -> None:
    github.review(7, "dora", "APPROVED", HEAD)
    github.secondary_until = time.time() + 1.2
    started = time.monotonic()
    assert judge(github, retry_wait_seconds=0.0) == []
    assert time.monotonic() - started >= 1.0  # retry-after honoured, not the 0 s fixed wait


def test_a_comment_from_a_read_only_token_fails_with_the_reason(github: FakeGitHub) -> None:
    github.read_only.add("workflow-token")
    context = GitHubContext(REPO, "workflow-token", github.base_url, attempts=2,
                            retry_wait_seconds=0.01)
    with pytest.raises(LoonoError, match=r"pull request #7 comment: GitHub refused .*HTTP 403"):
        upsert_comment(context, 7, "plan", "<!-- marker -->")
    assert github.comments[7] == [] and github.writes == []


def test_a_malformed_answer_refuses(github: FakeGitHub) -> None:
    github.reviews[7].append({"id": 99, "state": "APPROVED", "commit_id": HEAD})  # no user
    with pytest.raises(ApprovalError, match="malformed review"):
        judge(github)

