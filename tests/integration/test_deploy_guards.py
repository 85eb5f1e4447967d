"""What a deploy refuses, survives and reports, for real: locks, a registry that goes away,
tokens, images that do not exist, the CLI's JSON, status and logs, the tags that keep an image
from expiring; on the applied sandbox stack (the `applied_stack` fixture, a sandbox of this
module's own, beside test_deploy_rollouts.py's)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import threading
import time
import urllib.request
from dataclasses import replace
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
from loono_infra.deploy import DeployHooks, deploy
from loono_infra.deploy.flow import deployed_tag
from loono_infra.deploy.lock import DeployLock
from loono_infra.deploy.logs import LogQuery, read_logs
from loono_infra.deploy.push import EcrLogins, Pusher
from loono_infra.deploy.status import service_status
from loono_infra.sandbox.control import sandbox_dir
from loono_infra.sandbox.server.registry import registry_info, restart_registry
from tests.ecr_lifecycle import DAY, StoredImage, expired_digests
from tests.integration.deploy_stack import Stack

pytestmark = pytest.mark.integration


def test_a_second_concurrent_deploy_is_refused(stack: Stack) -> None:
    first_done: list[Any] = []
    rolling = threading.Event()
    hooks = DeployHooks(step=lambda message: rolling.set() if "rolling out" in message else None)
    worker = threading.Thread(target=lambda: first_done.append(
        deploy(stack.settings, stack.image("slow"), hooks=hooks)))
    worker.start()
    assert rolling.wait(60)
    revisions = stack.revisions()
    with pytest.raises(DeployLockedError, match="another deploy of this service is running"):
        deploy(stack.settings, stack.image("v2"))
    assert stack.revisions() == revisions
    worker.join(120)
    assert first_done and first_done[0].outcome == "succeeded"


def test_an_expired_lock_is_taken_over(stack: Stack) -> None:
    lock = DeployLock(stack.aws("dynamodb"), stack.settings.state.lock_table,
                      "loono-sbx/loono-sbx", 60, owner="ci-runner-that-died",
                      clock=lambda: time.time() - 3600)
    lock.acquire()
    assert deploy(stack.settings, stack.image("v1")).outcome == "succeeded"


def test_the_registry_going_away_mid_push_leaves_nothing_half_done(stack: Stack,
                                                                   tmp_path: Path) -> None:
    registry_dir = sandbox_dir(stack.project) / "registry"
    context = tmp_path / "big"
    context.mkdir()
    (context / "blob").write_bytes(os.urandom(16 * 2**20))  # cut on its first progress event
    (context / "Dockerfile").write_text(f"FROM {stack.image('v1')}\nCOPY blob /blob\n")
    docker.from_env().images.build(path=str(context), tag=stack.image("big"))
    revisions = stack.revisions()

    def cut(item: dict[str, Any]) -> None:
        info = registry_info(registry_dir)
        if item.get("status") == "Pushing" and info is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)

    try:
        with pytest.raises(DeployError, match="failed after 4 attempts"):
            deploy(stack.settings, stack.image("big"), hooks=DeployHooks(push=cut))
    finally:
        restart_registry(registry_dir)
    assert stack.revisions() == revisions
    assert stack.serves("/version").strip() == b"1"


def test_a_missing_image_touches_nothing(stack: Stack) -> None:
    revisions = stack.revisions()
    with pytest.raises(DeployError, match="does not exist locally"):
        deploy(stack.settings, stack.image("never-built"))
    assert stack.revisions() == revisions


def test_a_failing_dockerfile_touches_nothing(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text('FROM scratch\nRUN ["/gradlew", "bootJar"]\n')
    revisions = stack.revisions()
    with pytest.raises(DeployError, match="image build failed"):
        deploy(stack.settings, stack.image("broken-build"), build=tmp_path)
    assert stack.revisions() == revisions


def test_a_missing_service_is_named(stack: Stack) -> None:
    elsewhere = stack.settings.model_copy(update={"name_prefix": "loono-nope"})
    with pytest.raises(DeployError, match="ECS service loono-nope/loono-nope does not exist"):
        deploy(elsewhere, stack.image("v1"))


def test_the_cli_deploys_and_prints_json(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from loono_infra.cli import app

    monkeypatch.chdir(stack.project)
    result = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--image",
                                      stack.image("v2"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "succeeded"
    failed = CliRunner().invoke(app, ["deploy", "--env", "sandbox", "--image",
                                      stack.image("crash"), "--json"])
    assert failed.exit_code == 1
    crashed = json.loads(failed.stdout)
    assert crashed["outcome"] == "rolled_back" and "exit code 3" in crashed["failure"]
    assert "Traceback" not in failed.output
    stack.assert_settled_on(json.loads(result.stdout)["task_definition"])


def test_an_expired_token_is_renewed_once(stack: Stack) -> None:
    logins = EcrLogins(stack.aws("ecr"))
    logins.seed(replace(logins.refresh(), password="token-that-expired"))
    image = docker.from_env().images.get(stack.image("v2"))
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
    image = docker.from_env().images.get(stack.image("v2"))
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
    record = deploy(stack.settings, stack.image("v2"))
    tag = next(event["tag"] for event in record.timeline if event["event"] == "tagged")
    assert tag.startswith("deployed-sandbox-") and tag.endswith(record.digest[7:19])
    assert tag in _registry_tags(stack)
    with pytest.raises(DeployFailedError) as failed:
        deploy(stack.settings, stack.image("crash"))
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
