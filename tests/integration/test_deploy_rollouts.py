"""Deploys that roll out for real: the Docker engine, the sandbox's registry (docker-registry +
htpasswd), its ECS agent running the tasks as containers, its load balancer's health checks, on
the applied sandbox stack (the `applied_stack` fixture, a sandbox of this module's own). A
healthy image serves; every way a new version can fail rolls back to the last good one.
test_deploy_guards.py holds what a deploy refuses or reports (on a stack of its own, beside)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from loono_infra.core.errors import DeployFailedError
from loono_infra.core.settings import Settings
from loono_infra.deploy import DeployHooks, deploy
from loono_infra.deploy.progress import RolloutProgress
from tests.integration.conftest import sandbox_containers
from tests.integration.deploy_stack import Stack

pytestmark = pytest.mark.integration


def test_a_healthy_image_is_pushed_pinned_by_digest_and_serves(stack: Stack) -> None:
    looks: list[RolloutProgress] = []
    record = deploy(stack.settings, stack.image("v2"), hooks=DeployHooks(rollout=looks.append))
    assert looks and looks[-1].state == "COMPLETED" and looks[-1].running == 1
    assert looks[-1].revision == record.task_definition.rsplit("/", 1)[-1]
    assert all(look.seconds_left <= stack.settings.deploy.rollout_timeout_seconds
               for look in looks)
    assert record.outcome == "succeeded" and record.pushed
    assert record.digest.startswith("sha256:")
    stack.assert_settled_on(record.task_definition)
    definition = stack.aws("ecs").describe_task_definition(
        taskDefinition=record.task_definition)["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == \
        f"{record.repository}@{record.digest}"
    assert stack.serves("/version").strip() == b"2"
    assert record.health["passes"] == 3 and record.post_deploy["passed"]
    saved = json.loads((Path(stack.project) / ".loono/deploys/sandbox/sandbox/latest.json")
                       .read_text())
    assert saved["digest"] == record.digest and saved["outcome"] == "succeeded"


def _running_environment(stack: Stack) -> dict[str, str]:
    """The environment of the service's running container, as Docker reports it."""
    containers = sandbox_containers(stack.project)
    mine = [c for c in containers
            if str(c.attrs["Config"]["Image"]).endswith(stack.settings.service.repository)
            or stack.settings.service.repository in str(c.attrs["Config"]["Image"])]
    assert mine, "no running task container"
    return dict(item.split("=", 1) for item in mine[0].attrs["Config"]["Env"])


def test_the_container_is_told_where_its_database_is(stack: Stack) -> None:
    environment = _running_environment(stack)
    database = stack.aws("rds").describe_db_instances()["DBInstances"][0]
    secrets = json.loads((Path(stack.project) / ".loono/sandbox/secrets.json").read_text())
    assert environment["DB_HOST"] == database["Endpoint"]["Address"]
    assert environment["DB_PORT"] == "5432" and environment["DB_NAME"] == "loono"
    assert environment["DB_USERNAME"] == "loono"
    assert environment["DB_PASSWORD"] == secrets["sandbox"]
    definition = stack.aws("ecs").describe_task_definition(
        taskDefinition=stack.ecs_primary()["taskDefinition"])["taskDefinition"]
    container = definition["containerDefinitions"][0]
    assert secrets["sandbox"] not in json.dumps(definition)  # the value never sits in ECS
    assert {s["name"] for s in container["secrets"]} == {"DB_HOST", "DB_USERNAME",
                                                          "DB_PASSWORD"}


def _database_container(stack: Stack) -> Any:
    """The sandbox's PostgreSQL container that plays the stack's RDS instance."""
    identifier = stack.aws("rds").describe_db_instances()["DBInstances"][0][
        "DBInstanceIdentifier"]
    found = [c for c in sandbox_containers(stack.project) if c.name.endswith(f"-db-{identifier}")]
    assert len(found) == 1, f"no database container for {identifier}"
    return found[0]


def test_health_says_db_up_against_the_sandboxs_postgresql(stack: Stack) -> None:
    record = deploy(stack.settings, stack.image("v1"))
    assert record.post_deploy["passed"], record.post_deploy
    health = json.loads(stack.serves("/health"))
    assert health == {"status": "UP", "components": {"db": {"status": "UP"}}}
    database = _database_container(stack)
    password = json.loads((stack.project / ".loono/sandbox/secrets.json").read_text())["sandbox"]
    answer = database.exec_run(
        ["psql", "-h", "127.0.0.1", "-U", "loono", "-d", "loono", "-tAc",
         "select current_user || '@' || current_database()"],
        environment={"PGPASSWORD": password})
    assert (answer.exit_code, answer.output.strip()) == (0, b"loono@loono")
    wrong = database.exec_run(["psql", "-h", "127.0.0.1", "-U", "loono", "-d", "loono",
                               "-c", "select 1"], environment={"PGPASSWORD": "not-it"})
    assert wrong.exit_code != 0 and b"password authentication failed" in wrong.output
    data = stack.project / ".loono/sandbox/databases"
    assert oct(data.stat().st_mode & 0o777) == "0o700"
    assert not list(data.glob("*/init/password"))  # read once, then removed


def _alarm_reader(stack: Stack) -> str:
    """An SQS queue subscribed to the alarm topic: what an on-call tool would receive."""
    sns, sqs = stack.aws("sns"), stack.aws("sqs")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                 if t["TopicArn"].endswith(":loono-sbx-alarms"))
    queue = sqs.create_queue(QueueName=f"alarm-reader-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(queue)


def _next_notice(stack: Stack, queue: str, alarm: str, state: str,
                 within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for message in stack.aws("sqs").receive_message(
                QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            notice = json.loads(json.loads(message["Body"])["Message"])
            if (notice["AlarmName"], notice["NewStateValue"]) == (alarm, state):
                return dict(notice)
    raise AssertionError(f"no {state} notice of {alarm} within {within} s")


def _alarm_state(stack: Stack, alarm: str) -> str:
    alarms = stack.aws("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    return str(alarms[0]["StateValue"])


def test_a_dead_task_raises_the_healthy_host_alarm_and_its_return_clears_it(
        stack: Stack) -> None:
    alarm = "loono-sbx-no-healthy-targets"
    deadline = time.monotonic() + 15
    while _alarm_state(stack, alarm) != "OK" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _alarm_state(stack, alarm) == "OK"  # a healthy target: nothing to say
    queue = _alarm_reader(stack)
    running = sandbox_containers(stack.project)
    task = next(c for c in running if "loono-backend" in str(c.attrs["Config"]["Image"]))
    task.kill()
    raised = _next_notice(stack, queue, alarm, "ALARM", within=30)
    assert raised["OldStateValue"] == "OK"
    assert raised["Trigger"]["MetricName"] == "HealthyHostCount"
    assert "HealthyHostCount (0 most recently)" in raised["NewStateReason"]
    # ECS starts a replacement; once the load balancer finds it healthy the alarm clears
    cleared = _next_notice(stack, queue, alarm, "OK", within=90)
    assert cleared["OldStateValue"] == "ALARM"
    assert stack.serves("/version").strip() == b"1"
    assert _alarm_state(stack, alarm) == "OK"


def test_a_database_that_does_not_answer_fails_the_deploy_and_rolls_back(
        stack: Stack) -> None:
    before = stack.ecs_primary()["taskDefinition"]
    database = _database_container(stack)
    database.pause()
    try:
        with pytest.raises(DeployFailedError) as failed:
            deploy(stack.settings, stack.image("v2"))
    finally:
        database.unpause()
    assert "status DOWN" in failed.value.failure
    assert f"back on {before.rsplit('/', 1)[-1]}" in failed.value.rollback
    stack.assert_settled_on(before)
    assert stack.serves("/version").strip() == b"1"
    deadline = time.monotonic() + 30
    while json.loads(stack.serves("/health"))["status"] != "UP":
        assert time.monotonic() < deadline, "the database never came back UP"
        time.sleep(0.5)


def test_a_denied_secret_read_fails_the_task_and_rolls_back(stack: Stack) -> None:
    iam = stack.aws("iam")
    role, name = "loono-sbx-execution", "read-database-credentials"
    policy = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    before = stack.ecs_primary()["taskDefinition"]
    iam.delete_role_policy(RoleName=role, PolicyName=name)
    try:
        with pytest.raises(DeployFailedError) as failed:
            deploy(stack.settings, stack.image("v2"))
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(policy))
    story = failed.value.failure
    assert "ResourceInitializationError" in story and "AccessDeniedException" in story
    assert "assumed-role/loono-sbx-execution" in story and "is not authorized" in story
    assert "ssm:GetParameters" in story or "secretsmanager:GetSecretValue" in story
    stack.assert_settled_on(before)
    assert stack.serves("/version").strip() == b"1"


def test_an_unchanged_image_is_not_pushed_again(stack: Stack) -> None:
    again = deploy(stack.settings, stack.image("v1"))
    assert not again.pushed and again.layers_uploaded == 0
    assert stack.serves("/version").strip() == b"1"


def _rolled_back(stack: Stack, tag: str, settings: Settings | None = None) -> DeployFailedError:
    """Deploys the image tag (with settings, else the stack's), which must fail; the service
    must end settled on the revision it ran before. Returns the failure, to say why."""
    before = stack.ecs_primary()["taskDefinition"]
    with pytest.raises(DeployFailedError) as failed:
        deploy(settings or stack.settings, stack.image(tag))
    stack.assert_settled_on(before)
    return failed.value


def test_a_crash_loop_rolls_back_and_quotes_the_exit_codes(stack: Stack) -> None:
    failed = _rolled_back(stack, "crash")
    assert "exit code 3" in failed.failure
    assert "Essential container in task exited" in failed.failure
    back_on = stack.ecs_primary()["taskDefinition"]  # the revision it was on (settled above)
    assert f"back on {back_on.rsplit('/', 1)[-1]}" in failed.rollback
    assert stack.serves("/version").strip() == b"1"


def test_healthy_for_ecs_but_a_down_health_endpoint_rolls_back(stack: Stack) -> None:
    assert "status DOWN" in _rolled_back(stack, "unhealthy").failure
    assert json.loads(stack.serves("/health"))["status"] == "UP"


def test_an_invalid_api_document_rolls_back(stack: Stack) -> None:
    assert "not a valid OpenAPI document" in _rolled_back(stack, "badapi").failure


def test_a_slow_start_inside_the_grace_period_succeeds(stack: Stack) -> None:
    record = deploy(stack.settings, stack.image("slow"))
    assert record.outcome == "succeeded"
    assert stack.serves("/version").strip() == b"4"
    stack.assert_settled_on(record.task_definition)


def test_a_deadline_too_short_rolls_back_with_the_reason(stack: Stack) -> None:
    hurried = stack.settings.model_copy(update={"deploy": stack.settings.deploy.model_copy(
        update={"rollout_timeout_seconds": 5})})
    failed = _rolled_back(stack, "slow", hurried)  # 6 s to start: misses a 5 s deadline
    assert "deadline of 5 s" in failed.failure
