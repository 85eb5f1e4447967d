"""Deploys for real: the Docker engine, the sandbox's registry (docker-registry + htpasswd),
its ECS agent running the tasks as containers, and the applied sandbox stack."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from typer.testing import CliRunner

from loono_infra.core.errors import DeployError, DeployFailedError, DeployLockedError
from loono_infra.core.settings import Settings, load_settings
from loono_infra.deploy import DeployHooks, deploy
from loono_infra.deploy.flow import deployed_tag
from loono_infra.deploy.lock import DeployLock
from loono_infra.deploy.logs import LogQuery, read_logs
from loono_infra.deploy.progress import RolloutProgress
from loono_infra.deploy.push import EcrLogins, Pusher
from loono_infra.deploy.status import service_status
from loono_infra.flow import pipeline
from loono_infra.sandbox.backend_image import build_test_backend
from loono_infra.sandbox.control import require_sandbox, sandbox_dir
from loono_infra.sandbox.server.registry import registry_info, restart_registry
from loono_infra.sandbox.tls import tls_files
from tests.ecr_lifecycle import DAY, StoredImage, expired_digests
from tests.integration.conftest import project_with_sandbox, sandbox_containers

pytestmark = pytest.mark.integration
# The local name of this module's test images: its own, so the images another module (or a
# pytest-xdist worker) builds under the same tags never replace them mid-test.
LOCAL_IMAGE = "loono-test-deploy"
IMAGES = {"v1": ("healthy", "1"), "v2": ("healthy", "2"), "crash": ("crash", "3"),
          "slow": ("slow", "4"), "unhealthy": ("unhealthy", "5"),
          "badapi": ("invalid-api", "6")}


@dataclass(frozen=True)
class Stack:
    project: Path
    settings: Settings
    aws: Any
    baseline: str  # the digest of the v1 image, which every test starts from

    def ecs_service(self) -> dict[str, Any]:
        return dict(self.aws("ecs").describe_services(
            cluster="loono-sbx", services=["loono-sbx"])["services"][0])

    def ecs_primary(self) -> dict[str, Any]:
        return next(d for d in self.ecs_service()["deployments"] if d["status"] == "PRIMARY")

    def assert_settled_on(self, task_definition: str) -> None:
        """The service ended on task_definition: one deployment, completed, every task
        running it (not only the PRIMARY pointer, which UpdateService moves at once)."""
        service = self.ecs_service()
        assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in
                service["deployments"]] == [("PRIMARY", task_definition, "COMPLETED")]
        assert service["runningCount"] == service["desiredCount"] == 1
        ecs = self.aws("ecs")
        arns = ecs.list_tasks(cluster="loono-sbx", serviceName="loono-sbx",
                              desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="loono-sbx", tasks=arns)["tasks"] if arns else []
        assert [t["taskDefinitionArn"] for t in tasks] == [task_definition]

    def revisions(self) -> int:
        return len(self.aws("ecs").list_task_definitions(familyPrefix="loono-sbx")[
            "taskDefinitionArns"])

    def serves(self, path: str) -> bytes:
        balancer = self.aws("elbv2").describe_load_balancers()["LoadBalancers"][0]
        project = Path(str(self.settings.source)).parents[1]
        trusted = ssl.create_default_context(
            cafile=str(tls_files(project / ".loono" / "sandbox").ca))
        with urllib.request.urlopen(f"https://{balancer['DNSName']}{path}", timeout=5,
                                    context=trusted) as answer:
            return bytes(answer.read())


@pytest.fixture(scope="module")
def applied_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The sandbox stack applied on a sandbox of its own, the test images built, v1 deployed."""
    import boto3

    for project in project_with_sandbox(tmp_path_factory.mktemp("deploy")):
        settings = load_settings(project / "environments" / "sandbox.toml")
        pipeline.apply(pipeline.plan(settings), settings)
        client = docker.from_env()
        for tag, (mode, version) in IMAGES.items():
            build_test_backend(client, f"{LOCAL_IMAGE}:{tag}", mode, version, slow_seconds=6)
        url = require_sandbox(project).url

        def aws(name: str, url: str = url) -> Any:
            return boto3.client(name, endpoint_url=url, region_name="eu-central-1",
                                aws_access_key_id="sandbox", aws_secret_access_key="sandbox")

        yield Stack(project, settings, aws, deploy(settings, f"{LOCAL_IMAGE}:v1").digest)


@pytest.fixture
def stack(applied_stack: Stack) -> Stack:
    """The stack serving v1, healthy and settled, whatever the test before left (each test
    runs alone or in any order)."""
    status = service_status(applied_stack.settings)
    if not (status.digest == applied_stack.baseline and status.healthy
            and status.rollout_state == "COMPLETED" and status.running == 1):
        deploy(applied_stack.settings, f"{LOCAL_IMAGE}:v1")
    return applied_stack


def test_a_healthy_image_is_pushed_pinned_by_digest_and_serves(stack: Stack) -> None:
    looks: list[RolloutProgress] = []
    record = deploy(stack.settings, f"{LOCAL_IMAGE}:v2", hooks=DeployHooks(rollout=looks.append))
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
    record = deploy(stack.settings, f"{LOCAL_IMAGE}:v1")
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
            deploy(stack.settings, f"{LOCAL_IMAGE}:v2")
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
            deploy(stack.settings, f"{LOCAL_IMAGE}:v2")
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(policy))
    story = failed.value.failure
    assert "ResourceInitializationError" in story and "AccessDeniedException" in story
    assert "assumed-role/loono-sbx-execution" in story and "is not authorized" in story
    assert "ssm:GetParameters" in story or "secretsmanager:GetSecretValue" in story
    stack.assert_settled_on(before)
    assert stack.serves("/version").strip() == b"1"


def test_an_unchanged_image_is_not_pushed_again(stack: Stack) -> None:
    again = deploy(stack.settings, f"{LOCAL_IMAGE}:v1")
    assert not again.pushed and again.layers_uploaded == 0
    assert stack.serves("/version").strip() == b"1"


def test_a_crash_loop_rolls_back_and_quotes_the_exit_codes(stack: Stack) -> None:
    before = stack.ecs_primary()["taskDefinition"]
    with pytest.raises(DeployFailedError) as failed:
        deploy(stack.settings, f"{LOCAL_IMAGE}:crash")
    assert "exit code 3" in failed.value.failure
    assert "Essential container in task exited" in failed.value.failure
    assert f"back on {before.rsplit('/', 1)[-1]}" in failed.value.rollback
    stack.assert_settled_on(before)
    assert stack.serves("/version").strip() == b"1"


def test_healthy_for_ecs_but_a_down_health_endpoint_rolls_back(stack: Stack) -> None:
    before = stack.ecs_primary()["taskDefinition"]
    with pytest.raises(DeployFailedError) as failed:
        deploy(stack.settings, f"{LOCAL_IMAGE}:unhealthy")
    assert "status DOWN" in failed.value.failure
    stack.assert_settled_on(before)
    assert json.loads(stack.serves("/health"))["status"] == "UP"


def test_an_invalid_api_document_rolls_back(stack: Stack) -> None:
    before = stack.ecs_primary()["taskDefinition"]
    with pytest.raises(DeployFailedError) as failed:
        deploy(stack.settings, f"{LOCAL_IMAGE}:badapi")
    assert "not a valid OpenAPI document" in failed.value.failure
    stack.assert_settled_on(before)


def test_a_slow_start_inside_the_grace_period_succeeds(stack: Stack) -> None:
    record = deploy(stack.settings, f"{LOCAL_IMAGE}:slow")
    assert record.outcome == "succeeded"
    assert stack.serves("/version").strip() == b"4"
    stack.assert_settled_on(record.task_definition)


def test_a_deadline_too_short_rolls_back_with_the_reason(stack: Stack) -> None:
    before = stack.ecs_primary()["taskDefinition"]
    hurried = stack.settings.model_copy(update={"deploy": stack.settings.deploy.model_copy(
        update={"rollout_timeout_seconds": 5})})
    with pytest.raises(DeployFailedError) as failed:
        deploy(hurried, f"{LOCAL_IMAGE}:slow")  # 6 s to start: misses a 5 s deadline
    assert "deadline of 5 s" in failed.value.failure
    stack.assert_settled_on(before)


def test_a_second_concurrent_deploy_is_refused(stack: Stack) -> None:
    first_done: list[Any] = []
    rolling = threading.Event()
    hooks = DeployHooks(step=lambda message: rolling.set() if "rolling out" in message else None)
    worker = threading.Thread(target=lambda: first_done.append(
        deploy(stack.settings, f"{LOCAL_IMAGE}:slow", hooks=hooks)))
    worker.start()
    assert rolling.wait(60)
    revisions = stack.revisions()
    with pytest.raises(DeployLockedError, match="another deploy of this service is running"):
        deploy(stack.settings, f"{LOCAL_IMAGE}:v2")
    assert stack.revisions() == revisions
    worker.join(120)
    assert first_done and first_done[0].outcome == "succeeded"


def test_an_expired_lock_is_taken_over(stack: Stack) -> None:
    lock = DeployLock(stack.aws("dynamodb"), stack.settings.state.lock_table,
                      "loono-sbx/loono-sbx", 60, owner="ci-runner-that-died",
                      clock=lambda: time.time() - 3600)
    lock.acquire()
    assert deploy(stack.settings, f"{LOCAL_IMAGE}:v1").outcome == "succeeded"


def test_the_registry_going_away_mid_push_leaves_nothing_half_done(stack: Stack,
                                                                   tmp_path: Path) -> None:
    registry_dir = sandbox_dir(stack.project) / "registry"
    context = tmp_path / "big"
    context.mkdir()
    (context / "blob").write_bytes(os.urandom(16 * 2**20))  # cut on its first progress event
    (context / "Dockerfile").write_text(f"FROM {LOCAL_IMAGE}:v1\nCOPY blob /blob\n")
    docker.from_env().images.build(path=str(context), tag=f"{LOCAL_IMAGE}:big")
    revisions = stack.revisions()

    def cut(item: dict[str, Any]) -> None:
        info = registry_info(registry_dir)
        if item.get("status") == "Pushing" and info is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)

    try:
        with pytest.raises(DeployError, match="failed after 4 attempts"):
            deploy(stack.settings, f"{LOCAL_IMAGE}:big", hooks=DeployHooks(push=cut))
    finally:
        restart_registry(registry_dir)
    assert stack.revisions() == revisions
    assert stack.serves("/version").strip() == b"1"


def test_a_missing_image_touches_nothing(stack: Stack) -> None:
    revisions = stack.revisions()
    with pytest.raises(DeployError, match="does not exist locally"):
        deploy(stack.settings, f"{LOCAL_IMAGE}:never-built")
    assert stack.revisions() == revisions


def test_a_failing_dockerfile_touches_nothing(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM scratch\nRUN ["/gradlew", "bootJar"]\n')
    revisions = stack.revisions()
    with pytest.raises(DeployError, match="image build failed"):
        deploy(stack.settings, f"{LOCAL_IMAGE}:broken-build", build=tmp_path)
    assert stack.revisions() == revisions


def test_a_missing_service_is_named(stack: Stack) -> None:
    elsewhere = stack.settings.model_copy(update={"name_prefix": "loono-nope"})
    with pytest.raises(DeployError, match="ECS service loono-nope/loono-nope does not exist"):
        deploy(elsewhere, f"{LOCAL_IMAGE}:v1")


def test_the_cli_deploys_and_prints_json(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from loono_infra.cli import app

    monkeypatch.chdir(stack.project)
    result = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--image",
                                      f"{LOCAL_IMAGE}:v2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "succeeded"
    failed = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--image",
                                      f"{LOCAL_IMAGE}:crash", "--json"])
    assert failed.exit_code == 1
    crashed = json.loads(failed.stdout)
    assert crashed["outcome"] == "rolled_back" and "exit code 3" in crashed["failure"]
    assert "Traceback" not in failed.output
    stack.assert_settled_on(json.loads(result.stdout)["task_definition"])


def test_an_expired_token_is_renewed_once(stack: Stack) -> None:
    logins = EcrLogins(stack.aws("ecr"))
    logins.seed(replace(logins.refresh(), password="token-that-expired"))
    image = docker.from_env().images.get(f"{LOCAL_IMAGE}:v2")
    repository = stack.aws("ecr").describe_repositories()["repositories"][0]["repositoryUri"]
    pushed = Pusher(docker.from_env(), logins, attempts=1).push(image, repository, "renewed")
    assert pushed.pushed and pushed.digest.startswith("sha256:")
    assert logins.current().password != "token-that-expired"


class RefusedEcr:
    """An ECR whose tokens the registry never accepts (a role without ecr push rights)."""

    def get_authorization_token(self) -> dict[str, Any]:
        token = base64.b64encode(b"AWS:not-allowed").decode()
        return {"authorizationData": [{"authorizationToken": token, "proxyEndpoint": "http://x",
                                       "expiresAt": datetime.now(UTC) + timedelta(hours=1)}]}


def test_no_permission_to_push_is_said_plainly(stack: Stack) -> None:
    image = docker.from_env().images.get(f"{LOCAL_IMAGE}:v2")
    repository = stack.aws("ecr").describe_repositories()["repositories"][0]["repositoryUri"]
    pusher = Pusher(docker.from_env(), EcrLogins(RefusedEcr()), attempts=1)
    with pytest.raises(DeployError, match="no permission to push"):
        pusher.push(image, repository, "refused")


def test_status_names_the_revision_digest_and_health(stack: Stack) -> None:
    status = service_status(stack.settings)
    assert status.task_definition == stack.ecs_primary()["taskDefinition"]
    assert status.digest == stack.baseline and status.image.endswith(stack.baseline)
    assert (status.rollout_state, status.running, status.desired) == ("COMPLETED", 1, 1)
    assert status.healthy and status.health_url and status.health_url.endswith("/health")


def test_logs_read_what_the_containers_printed(stack: Stack,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    lines = list(read_logs(stack.settings, LogQuery(since=timedelta(hours=1))))
    assert any("serving on 8080" in line.message for line in lines)
    assert all(line.stream.startswith("backend/backend/") for line in lines)
    crashed = list(read_logs(stack.settings, LogQuery(filter_pattern="database")))
    assert crashed and all("database" in line.message for line in crashed)
    from loono_infra.cli import app

    monkeypatch.chdir(stack.project)
    result = CliRunner().invoke(app, ["logs", "--env", "sandbox", "--since", "1h",
                                      "--filter", "serving", "--json"])
    assert result.exit_code == 0, result.output
    served = json.loads(result.stdout)
    assert served and all("serving" in item["message"] for item in served)
    bad = CliRunner().invoke(app, ["logs", "--env", "sandbox", "--since", "yesterday"])
    assert bad.exit_code == 1 and "--since 'yesterday'" in bad.output
    assert "Traceback" not in bad.output


def test_status_json_and_exit_code(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from loono_infra.cli import app

    monkeypatch.chdir(stack.project)
    result = CliRunner().invoke(app, ["status", "--env", "sandbox", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert (status["healthy"], status["deployed"], status["health"]) == (True, True, "healthy")
    assert status["digest"] == stack.baseline and status["image"].endswith(stack.baseline)
    assert status["task_definition"] == stack.ecs_primary()["taskDefinition"]
    assert (status["rollout_state"], status["running"], status["desired"]) == ("COMPLETED", 1, 1)
    assert status["deploy_lock"] is None and status["environment"] == "sandbox"


def _registry_tags(stack: Stack) -> list[str]:
    """The repository's tags as the sandbox's registry (its ECR) lists them."""
    info = registry_info(stack.project / ".loono/sandbox/registry")
    assert info is not None
    request = urllib.request.Request(f"http://{info.address}/v2/loono-backend/tags/list")
    token = base64.b64encode(f"AWS:{info.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return list(json.loads(answer.read())["tags"])


def test_a_successful_deploy_tags_the_image_it_runs_as_deployed(stack: Stack) -> None:
    record = deploy(stack.settings, f"{LOCAL_IMAGE}:v2")
    tag = next(event["tag"] for event in record.timeline if event["event"] == "tagged")
    assert tag.startswith("deployed-sandbox-") and tag.endswith(record.digest[7:19])
    assert tag in _registry_tags(stack)
    with pytest.raises(DeployFailedError) as failed:
        deploy(stack.settings, f"{LOCAL_IMAGE}:crash")
    crash = json.loads(Path(str(failed.value.record_path)).read_text())
    assert not [t for t in _registry_tags(stack) if t.endswith(crash["digest"][7:19])
                and t.startswith("deployed-")]  # only what ran is protected


DEPLOYS = st.lists(st.tuples(st.sampled_from(["new", "again"]), st.integers(0, 999),
                             st.booleans()), min_size=1, max_size=80)


@examples(max_examples=150, deadline=None)
@given(history=DEPLOYS)
def test_the_lifecycle_rules_never_expire_what_runs_or_a_rollback_target(
        applied_stack: Stack, history: list[tuple[str, int, bool]]) -> None:
    """The applied repository policy, evaluated as ECR documents it, against repositories left
    by any history of builds and deploys (new builds, redeploys of old ones, failures)."""
    policy = json.loads(applied_stack.aws("ecr").get_lifecycle_policy(
        repositoryName="loono-backend")["lifecyclePolicyText"])
    images: dict[str, StoredImage] = {}
    ran: list[str] = []
    moment = 0.0
    for kind, pick, succeeded in history:
        moment += 3 * 3600
        if kind == "new" or not images:
            digest = f"sha256:{len(images):064x}"
            images[digest] = StoredImage(digest, (f"build-{len(images)}",), moment)
        else:
            digest = sorted(images)[pick % len(images)]
        if succeeded:
            when = datetime.fromtimestamp(moment, UTC)
            image = images[digest]
            images[digest] = replace(image, tags=(*image.tags,
                                                  deployed_tag("sandbox", when, digest)))
            ran.append(digest)
    expired = expired_digests(policy, list(images.values()), moment + 400 * DAY)
    assert not expired & set(ran[-2:]), "the running image or the rollback target expires"
    assert not expired & set(ran)  # nothing that ever ran
