"""Properties of plan parsing and review counting that must hold for any input (Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loono_infra.clients.github import PullRequestInfo, Review
from loono_infra.core.plans import change_digests, normalized_plan
from loono_infra.core.terraform.models import parse_plan_document
from loono_infra.gates.owners.approvals import discounted_approvals, effective_approvers

ACTIONS = [["create"], ["update"], ["delete"], ["no-op"], ["delete", "create"],
           ["create", "delete"], ["read"]]


@st.composite
def resource_changes(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1,
                          max_size=12, unique=True))
    return [{"address": f"module.m.aws_s3_bucket.{name}", "module_address": "module.m",
             "type": "aws_s3_bucket", "name": name,
             "change": {"actions": draw(st.sampled_from(ACTIONS)),
                        "before": None, "after": {"bucket": draw(st.text(max_size=8))}}}
            for name in names]


def _document(changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format_version": "1.2", "terraform_version": "1.15.5", "timestamp": "t",
            "resource_changes": changes,
            "planned_values": {"root_module": {"child_modules": [
                {"address": "module.m", "resources": [
                    {"address": c["address"], "values": c["change"]["after"]} for c in changes]}]}},
            "relevant_attributes": [{"resource": c["address"], "attribute": ["bucket"]}
                                    for c in changes]}


@settings(max_examples=200, deadline=None)
@given(resource_changes(), st.randoms(use_true_random=False))
def test_a_plans_normalized_content_is_independent_of_resource_order(
        changes: list[dict[str, Any]], random: Any) -> None:
    shuffled = list(changes)
    random.shuffle(shuffled)
    first, second = json.dumps(_document(changes)), json.dumps(_document(shuffled))
    assert normalized_plan(first) == normalized_plan(second)
    assert change_digests(first) == change_digests(second)
    parsed = {r.change.address: r.change.action for r in
              parse_plan_document(_document(changes)).resources}
    assert parsed == {r.change.address: r.change.action for r in
                      parse_plan_document(_document(shuffled)).resources}


@settings(max_examples=200, deadline=None)
@given(resource_changes(), resource_changes())
def test_different_changes_give_different_normalized_content(
        a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    same = sorted(json.dumps(c, sort_keys=True) for c in a) == sorted(
        json.dumps(c, sort_keys=True) for c in b)
    assert (normalized_plan(json.dumps(_document(a))) ==
            normalized_plan(json.dumps(_document(b)))) == same


HEAD = "h" * 40
PULL = PullRequestInfo(7, "alice", HEAD)
REVIEWERS = ["alice", "bob", "Carol", "dan"]
_REVIEW = st.builds(lambda who, state, head: (who, state, HEAD if head else "o" * 40),
                    st.sampled_from(REVIEWERS),
                    st.sampled_from(["APPROVED", "CHANGES_REQUESTED", "DISMISSED", "COMMENTED"]),
                    st.booleans())


def _reviews(items: list[tuple[str, str, str]]) -> list[Review]:
    return [Review(number, who, state, commit) for number, (who, state, commit)
            in enumerate(items, start=1)]


@settings(max_examples=300, deadline=None)
@given(st.lists(_REVIEW, max_size=10), st.data())
def test_extra_comment_reviews_change_no_verdict(items: list[tuple[str, str, str]],
                                                 data: st.DataObject) -> None:
    commented = list(items)
    for _ in range(data.draw(st.integers(1, 5))):
        position = data.draw(st.integers(0, len(commented)))
        commented.insert(position, (data.draw(st.sampled_from(REVIEWERS)), "COMMENTED", HEAD))
    reviews, with_comments = _reviews(items), _reviews(commented)
    assert set(effective_approvers(PULL, reviews)) == set(effective_approvers(PULL, with_comments))
    assert discounted_approvals(PULL, reviews) == discounted_approvals(PULL, with_comments)


@settings(max_examples=300, deadline=None)
@given(st.lists(_REVIEW, max_size=10))
def test_only_a_head_approval_by_someone_else_counts(items: list[tuple[str, str, str]]) -> None:
    approvers = effective_approvers(PULL, _reviews(items))
    assert all(r.state == "APPROVED" and r.commit_id == HEAD and who != "alice"
               for who, r in approvers.items())
    assert not set(approvers) & set(discounted_approvals(PULL, _reviews(items)))
