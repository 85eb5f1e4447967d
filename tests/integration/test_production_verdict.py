"""Production rehearsed on the sandbox, approved through GitHub: plan -> apply -> plan -> change
a tag -> plan -> apply, every plan passing both gates with the same verdict check by check; and
its load balancer speaking HTTPS with the sandbox's certificate, HTTP only redirecting."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loono_infra import apply, load_settings, plan
from loono_infra.flow.pipeline import Plan
from loono_infra.reports.terminal import decision_text
from loono_infra.sandbox.tls import tls_files
from tests.github_fake import REPO, FakeGitHub, github_server
from tests.integration.conftest import project_with_sandbox
from tests.integration.verdicts import (
    assert_same_verdict,
    check_outcomes,
    finding_keys,
    with_extra_tag,
)

pytestmark = pytest.mark.integration

HEAD = "d" * 40


@pytest.fixture(scope="module")
def production_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with a sandbox of its own: this file applies production's whole stack."""
    yield from project_with_sandbox(tmp_path_factory.mktemp("production"))


@pytest.fixture
def approved(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """PR 9 approved by the owners of everything production's stack holds."""
    with github_server() as fake:
        fake.add_pull(9, "alice", HEAD)
        fake.teams |= {"@loono/infrastructure": ["ivan"], "@loono/database-owners": ["dora"]}
        fake.review(9, "ivan", "APPROVED", HEAD)
        fake.review(9, "dora", "APPROVED", HEAD)
        for name, value in {"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "test-token",
                            "GITHUB_API_URL": fake.base_url, "LOONO_PULL_REQUEST": "9"}.items():
            monkeypatch.setenv(name, value)
        yield fake


def _gates_passed(planned: Plan) -> None:
    assert planned.decision is not None and planned.decision.passed, decision_text(planned.decision)
    assert planned.owners is not None and planned.owners.passed, decision_text(planned.owners)


def test_production_passes_before_and_after_it_exists(production_project: Path,
                                                      approved: FakeGitHub) -> None:
    settings = load_settings(production_project / "environments" / "production.toml")
    first = plan(settings, sandbox=True)
    _gates_passed(first)
    created = check_outcomes(first)
    overridden = {(f.check_id, f.resource) for f in first.decision.findings  # type: ignore[union-attr]
                  if f.overridden_by}
    assert ("CKV_AWS_260",
            'module.network.aws_security_group_rule.load_balancer_ingress["80"]') in overridden
    assert created[("CKV_AWS_2", "module.ecs.aws_lb_listener.http")] == "passed"
    assert created[("CKV2_AWS_20", "module.ecs.aws_lb.this")] == "passed"
    apply(first)
    _assert_verified_https_and_redirect(production_project)
    _assert_someone_hears_the_alarms(production_project)

    second = plan(settings, sandbox=True)
    assert not second.has_changes and second.drift == ()
    _gates_passed(second)
    assert finding_keys(second) == finding_keys(first)
    assert_same_verdict(created, check_outcomes(second), "production no-change re-plan")

    original = Path(str(settings.source)).read_text(encoding="utf-8")
    try:
        tagged = with_extra_tag(settings, "CostCentre", "mobile")
        third = plan(tagged, sandbox=True)
        assert third.has_changes and third.summary.add == 0 and third.summary.destroy == 0
        _gates_passed(third)
        assert finding_keys(third) == finding_keys(first)
        assert_same_verdict(created, check_outcomes(third), "production tag-change re-plan")
        apply(third)
        fourth = plan(tagged, sandbox=True)
        assert not fourth.has_changes
        _gates_passed(fourth)
    finally:
        Path(str(settings.source)).write_text(original, encoding="utf-8")


def _dns_name(project: Path) -> str:
    import boto3

    from loono_infra.sandbox.control import require_sandbox

    elbv2 = boto3.client("elbv2", endpoint_url=require_sandbox(project).url,
                         region_name="eu-central-1", aws_access_key_id="sandbox",
                         aws_secret_access_key="sandbox")
    balancers = elbv2.describe_load_balancers(Names=["loono-prod-lb"])["LoadBalancers"]
    return str(balancers[0]["DNSName"])


def _assert_someone_hears_the_alarms(project: Path) -> None:
    """The e-mail subscription exists, and an alarm set to ALARM publishes to the topic."""
    import boto3

    from loono_infra.sandbox.control import require_sandbox

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=require_sandbox(project).url,
                            region_name="eu-central-1", aws_access_key_id="sandbox",
                            aws_secret_access_key="sandbox")

    sns, sqs, cloudwatch = client("sns"), client("sqs"), client("cloudwatch")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                 if t["TopicArn"].endswith(":loono-prod-alarms"))
    endpoints = {(s["Protocol"], s["Endpoint"])
                 for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert ("email", "infrastructure-alerts@loono.ceo") in endpoints
    queue = sqs.create_queue(QueueName="alarm-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    alarm = next(a for a in cloudwatch.describe_alarms(AlarmNamePrefix="loono-prod")[
        "MetricAlarms"] if topic in a["AlarmActions"])
    cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM",
                               StateReason="test: the threshold was crossed")
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    notice = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert notice["AlarmName"] == alarm["AlarmName"] and notice["NewStateValue"] == "ALARM"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _assert_verified_https_and_redirect(production_project: Path) -> None:
    host = _dns_name(production_project)
    ca = tls_files(production_project / ".loono" / "sandbox").ca
    verified = ssl.create_default_context(cafile=str(ca))
    with pytest.raises(urllib.error.HTTPError) as no_targets:
        urllib.request.urlopen(f"https://{host}/health", timeout=5, context=verified)
    assert no_targets.value.code == 503  # TLS verified; nothing deployed behind it yet
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://{host}/health", timeout=5,
                               context=ssl.create_default_context())
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(f"http://{host}/v3/api-docs?group=public", timeout=5)
    assert redirected.value.code == 301
    assert redirected.value.headers["Location"] == f"https://{host}/v3/api-docs?group=public"
