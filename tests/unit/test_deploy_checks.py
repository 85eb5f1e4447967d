"""Health verdicts, consecutive health checks, OpenAPI post-deploy tests, the new revision's
arguments and the push stream's error classes: pure functions, no network."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loono_infra.core.errors import DeployError
from loono_infra.deploy.checks import (
    Answer,
    PostDeployChecks,
    component_problems,
    consecutive_health,
    health_verdict,
    openapi_problems,
    post_deploy_tests,
)
from loono_infra.deploy.image import parse_reference
from loono_infra.deploy.push import AuthPushError, TransientPushError, _classified
from loono_infra.deploy.taskdef import with_image

VALID_API = {"openapi": "3.0.1", "info": {"title": "Loono API", "version": "1"},
             "paths": {"/health": {"get": {"responses": {"200": {"description": "up"}}}}}}


@pytest.mark.parametrize(("answer", "verdict"), [
    (Answer(200, b'{"status":"UP"}'), None),
    (Answer(200, b"ok"), None),
    (Answer(200, b'{"status":"DOWN"}'), "HTTP 200 but status DOWN"),
    (Answer(503, b""), "HTTP 503"),
    (Answer(0, b"", "connection refused"), "no answer (connection refused)"),
])
def test_health_verdicts(answer: Answer, verdict: str | None) -> None:
    assert health_verdict(answer) == verdict


def test_three_healthy_answers_in_a_row_are_needed() -> None:
    answers = iter([Answer(200, b"{}"), Answer(503, b""), Answer(200, b"{}"),
                    Answer(200, b"{}"), Answer(200, b"{}")])
    sleeps: list[float] = []
    result = consecutive_health(lambda url: next(answers), "http://lb/health", 3, 3, 1.5,
                                sleeps.append)
    assert result.healthy and result.passes == 3
    assert result.checks == ["healthy", "HTTP 503", "healthy", "healthy", "healthy"]
    assert sleeps == [1.5] * 4


def test_consecutive_failures_give_up_with_a_story() -> None:
    result = consecutive_health(lambda url: Answer(500, b""), "http://lb/health", 3, 2, 1,
                                lambda s: None)
    assert not result.healthy
    assert "0 of 3 consecutive healthy answers" in result.story()
    assert len(result.checks) == 2


def test_a_valid_document_with_the_required_paths_passes() -> None:
    answer = Answer(200, json.dumps(VALID_API).encode())
    assert openapi_problems(answer, ["/health"]) == []


@pytest.mark.parametrize(("body", "problem"), [
    (b"<html>", "not JSON"),
    (json.dumps({"openapi": "3.0.1", "info": {"title": "x"}, "paths": {}}).encode(),
     "not a valid OpenAPI document"),
    (json.dumps(VALID_API).encode(), "lacks the required path /v1/examinations"),
    (b"[1, 2]", "could not be validated"),
])
def test_documents_that_fail(body: bytes, problem: str) -> None:
    problems = openapi_problems(Answer(200, body), ["/health", "/v1/examinations"])
    assert any(problem in found for found in problems), problems


def test_post_deploy_tests_collect_every_problem() -> None:
    pages = {"http://lb/health": Answer(200, b'{"status":"DOWN"}'),
             "http://lb/v3/api-docs": Answer(404, b"")}
    checks = PostDeployChecks("/health", "/v3/api-docs", ["/health"], ["db"])
    result = post_deploy_tests(pages.__getitem__, "http://lb", checks)
    assert result.problems == (
        "health endpoint: HTTP 200 but status DOWN",
        "health endpoint lists no components (required: db)",
        "API documentation: HTTP 404")


UP_WITH_DB = b'{"status":"UP","components":{"db":{"status":"UP"},"disk":{"status":"UP"}}}'


@pytest.mark.parametrize(("body", "required", "problems"), [
    (UP_WITH_DB, ["db"], []),
    (UP_WITH_DB, [], []),
    (b'{"status":"UP"}', [], []),
    (b'{"status":"UP"}', ["db"], ["health endpoint lists no components (required: db)"]),
    (b'{"status":"UP","components":{"db":{"status":"DOWN"}}}', ["db"],
     ["health component db is DOWN, not UP"]),
    (b'{"status":"UP","components":{"disk":{"status":"UP"}}}', ["db", "disk"],
     ["health component db is missing, not UP"]),
    (b'{"status":"UP","components":{"db":"UP"}}', ["db"],
     ["health component db is missing, not UP"]),
    (b"plain ok", ["db"], ["health endpoint lists no components (required: db)"]),
])
def test_required_health_components_must_be_up(body: bytes, required: list[str],
                                                problems: list[str]) -> None:
    assert component_problems(Answer(200, body), required) == problems


def test_a_failed_health_answer_is_not_reported_twice() -> None:
    assert component_problems(Answer(503, b""), ["db"]) == []


def definition() -> dict[str, Any]:
    return {"taskDefinitionArn": "arn:...:task-definition/loono-prod:7", "revision": 7,
            "status": "ACTIVE", "family": "loono-prod", "networkMode": "awsvpc", "cpu": "256",
            "memory": "512", "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": "arn:aws:iam::123456789012:role/x", "registeredAt": "2026",
            "containerDefinitions": [
                {"name": "backend", "image": "repo:old", "essential": True,
                 "environment": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "envoy:1"}]}


def test_only_the_image_changes_in_the_new_revision() -> None:
    arguments = with_image(definition(), "backend", "repo@sha256:abc")
    assert arguments["containerDefinitions"][0] == {
        "name": "backend", "image": "repo@sha256:abc", "essential": True,
        "environment": [{"name": "A", "value": "1"}]}
    assert arguments["containerDefinitions"][1]["image"] == "envoy:1"
    assert {"revision", "status", "taskDefinitionArn", "registeredAt"}.isdisjoint(arguments)
    assert arguments["family"] == "loono-prod" and arguments["cpu"] == "256"


def test_an_unknown_container_is_named() -> None:
    with pytest.raises(DeployError, match=r"no container named 'api'.*backend, sidecar"):
        with_image(definition(), "api", "repo@sha256:abc")


@pytest.mark.parametrize(("message", "kind"), [
    ("unauthorized: authentication required", AuthPushError),
    ("denied: requested access to the resource is denied", AuthPushError),
    ('Put "http://127.0.0.1:5000/v2/x/blobs/uploads/": dial tcp: connection refused',
     TransientPushError),
    ("received unexpected HTTP status: 503 Service Unavailable", TransientPushError),
    ("manifest invalid: manifest invalid", DeployError),
])
def test_push_errors_are_classified(message: str, kind: type[Exception]) -> None:
    assert isinstance(_classified(message), kind)


@pytest.mark.parametrize("text", ["loono-backend", "loono-backend@sha256:ab", "Loono:1", ":x"])
def test_an_image_must_be_name_and_tag(text: str) -> None:
    with pytest.raises(DeployError, match="is not name:tag"):
        parse_reference(text)


def test_a_registry_port_is_not_a_tag() -> None:
    reference = parse_reference("127.0.0.1:5000/loono-backend:3f2c1ab")
    assert (reference.name, reference.tag) == ("127.0.0.1:5000/loono-backend", "3f2c1ab")
