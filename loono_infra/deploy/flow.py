"""deploy(): image -> push -> new revision -> rollout -> health -> post-deploy tests, with a
rollback to the previous revision on any failure once the rollout began."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
from botocore.exceptions import ClientError
from docker.models.images import Image

from loono_infra.core.errors import DeployError, DeployFailedError
from loono_infra.core.settings import Settings
from loono_infra.deploy.acceptors import Expectation, WaitResult, short_revision, wait_for
from loono_infra.deploy.checks import (
    Fetch,
    PostDeployChecks,
    consecutive_health,
    http_fetch,
    post_deploy_tests,
)
from loono_infra.deploy.clients import DeployClients
from loono_infra.deploy.image import (
    ImageReference,
    build_image,
    docker_engine,
    local_image,
    parse_reference,
)
from loono_infra.deploy.lock import DeployLock
from loono_infra.deploy.push import EcrLogins, PushedImage, Pusher, PushProgress
from loono_infra.deploy.record import DeployRecord
from loono_infra.deploy.service import (
    EcsService,
    base_url,
    events_since,
    service_ref,
    task_story,
)
from loono_infra.deploy.taskdef import register_with_image
from loono_infra.flow.targets import resolve_target


@dataclass(frozen=True)
class DeployHooks:
    """Where a deploy reports progress (the CLI draws them; the library stays quiet)."""

    step: Callable[[str], None] | None = None
    push: PushProgress | None = None
    build_log: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Timing:
    """Clock and sleep of the waits, injected so tests need no real time."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class _RolloutError(Exception):
    """The new revision failed after the rollout began; message is the story."""


def deploy(settings: Settings, image: str, build: Path | None = None, *,
           sandbox: bool | None = None, hooks: DeployHooks | None = None,
           timing: Timing | None = None, docker_client: docker.DockerClient | None = None,
           clients: DeployClients | None = None) -> DeployRecord:
    """Deploys image (name:tag, built from build/Dockerfile when given) to the environment.

    Returns the deploy record; raises DeployFailedError after rolling back when the new version
    fails, DeployLockedError when another deploy runs, DeployError when nothing was started.
    """
    reference = parse_reference(image)
    target = resolve_target(settings, sandbox)
    run = _Deploy(settings, reference, clients or DeployClients.for_target(target),
                  docker_client or docker_engine(), hooks or DeployHooks(), timing or Timing(),
                  target.project.deploys_dir(settings, target.sandbox))
    return run.run(build)


class _Deploy:
    def __init__(self, settings: Settings, reference: ImageReference, clients: DeployClients,
                 engine: docker.DockerClient, hooks: DeployHooks, timing: Timing,
                 record_dir: Path) -> None:
        self.settings = settings
        self.reference = reference
        self.clients = clients
        self.engine = engine
        self.hooks = hooks
        self.timing = timing
        self.record_dir = record_dir
        self.service = EcsService(clients.ecs, service_ref(settings))
        self.record = DeployRecord(settings.environment, str(self.service.ref), str(reference))

    def run(self, build: Path | None) -> DeployRecord:
        lock = DeployLock(self.clients.dynamodb, self.settings.state.lock_table,
                          str(self.service.ref), self.settings.deploy.lock_ttl_seconds)
        with lock:
            self._step(f"deploy lock held ({lock.owner})")
            try:
                self._deploy(build)
            finally:
                self._write_record()
        return self.record

    def _deploy(self, build: Path | None) -> None:
        described = self.service.describe()
        previous = self.service.current_task_definition(described)
        self.record.previous_task_definition = previous
        url = base_url(self.settings, described, self.clients.elbv2,
                       on_sandbox=self.clients.on_sandbox)
        local = self._image(build)
        pushed = self._push(local)
        new = register_with_image(self.clients.ecs, previous,
                                  self.settings.service.container_name, pushed.reference)
        self.record.task_definition = new
        self._step(f"registered {short_revision(new)} with {pushed.reference}")
        try:
            self._roll_out(new, url)
        except _RolloutError as failure:
            self.record.failure = str(failure)
            rollback = self._roll_back(previous)
            self.record.finish("rolled_back")
            raise DeployFailedError(str(failure), rollback, str(self._record_path())) from None
        except BaseException as error:  # interrupted or broken mid-rollout: never stay there
            self.record.failure = f"{type(error).__name__}: {error}"
            self._roll_back(previous)
            raise
        self.record.finish("succeeded")

    # Steps -------------------------------------------------------------------------------

    def _image(self, build: Path | None) -> Image:
        if build is None:
            return local_image(self.engine, self.reference)
        self._step(f"building {self.reference} from {build}")
        return build_image(self.engine, build, self.reference, self.hooks.build_log)

    def _push(self, image: Image) -> PushedImage:
        repository = self._repository_uri()
        self._step(f"pushing {self.reference} to {repository}")
        pusher = Pusher(self.engine, EcrLogins(self.clients.ecr),
                        self.settings.deploy.push_attempts, self.hooks.push)
        pushed = pusher.push(image, repository, self.reference.tag)
        record = self.record
        record.repository, record.digest, record.pushed = repository, pushed.digest, pushed.pushed
        record.layers_uploaded = pushed.layers_uploaded
        record.note("pushed" if pushed.pushed else "already in the repository",
                    digest=pushed.digest, layers_uploaded=pushed.layers_uploaded,
                    seconds=round(pushed.seconds, 3))
        return pushed

    def _roll_out(self, new: str, service_url: str) -> None:
        since = datetime.now(UTC) - timedelta(seconds=2)
        self.service.update(new)
        self._step(f"rolling out {short_revision(new)}")
        result = self._wait(new)
        if result.outcome == "failure":
            raise _RolloutError(self._rollout_story(result, new, since))
        self._check_health(service_url)
        self._post_deploy(service_url)

    def _wait(self, task_definition: str) -> WaitResult:
        deploy = self.settings.deploy
        since = datetime.now(UTC) - timedelta(seconds=2)
        began = self.record.elapsed()
        result = wait_for(
            lambda: self.service.observe(task_definition, since),
            Expectation(task_definition, deploy.failed_tasks_limit),
            timeout=deploy.rollout_timeout_seconds, interval=deploy.poll_seconds,
            clock=self.timing.clock, sleep=self.timing.sleep)
        for elapsed, summary in result.timeline:
            self.record.note("rollout", at=began + elapsed,
                             revision=short_revision(task_definition), state=summary)
        self.record.note(f"rollout {result.outcome}", acceptor=result.acceptor,
                         reason=result.reason, polls=result.polls)
        return result

    def _check_health(self, service_url: str) -> None:
        deploy, checks = self.settings.deploy, self.settings.service.health_check
        url = service_url + checks.path
        self._step(f"checking {url} ({deploy.health_checks} healthy answers in a row)")
        result = consecutive_health(self._fetch(), url,
                                    deploy.health_checks, checks.unhealthy_threshold,
                                    deploy.health_interval_seconds, self.timing.sleep)
        self.record.health = {"url": url, "passes": result.passes,
                              "required": result.required, "checks": result.checks}
        self.record.note("health", passes=result.passes, healthy=result.healthy)
        if not result.healthy:
            raise _RolloutError(result.story())

    def _fetch(self) -> Fetch:
        return http_fetch(self.settings.deploy.request_timeout_seconds, self.clients.ca_bundle)

    def _post_deploy(self, service_url: str) -> None:
        deploy = self.settings.deploy
        checks = PostDeployChecks(self.settings.service.health_check.path, deploy.openapi_path,
                                  deploy.required_paths, deploy.required_health_components)
        result = post_deploy_tests(self._fetch(), service_url, checks)
        self.record.post_deploy = result.as_dict()
        self.record.note("post-deploy tests", passed=result.passed)
        if not result.passed:
            raise _RolloutError("post-deploy tests: " + "; ".join(result.problems))

    def _roll_back(self, previous: str) -> str:
        self._step(f"rolling back to {short_revision(previous)}")
        try:
            if self.service.current_task_definition() != previous:
                self.service.update(previous)
            result = self._wait(previous)
        except DeployError as error:
            story = f"rollback to {short_revision(previous)} failed: {error.message}"
        else:
            state = "back on" if result.outcome == "success" else "did not settle on"
            story = f"service {state} {short_revision(previous)}: {result.reason}"
        self.record.rollback = {"task_definition": previous, "story": story}
        return story

    # Helpers -----------------------------------------------------------------------------

    def _rollout_story(self, result: WaitResult, new: str, since: datetime) -> str:
        seen = result.observation
        parts = [f"rollout of {short_revision(new)} failed ({result.acceptor}): {result.reason}"]
        if seen is not None:
            parts += [task_story(task) for task in list(seen.stopped_tasks)[:3]]
            events = events_since(seen.service, since)
            if events:
                parts.append("service events: " + " / ".join(events))
        return "; ".join(parts)

    def _repository_uri(self) -> str:
        name = self.settings.service.repository
        try:
            answer = self.clients.ecr.describe_repositories(repositoryNames=[name])
        except ClientError as error:
            raise DeployError(f"ECR repository {name!r} (service.repository): "
                              f"{error.response.get('Error', {}).get('Message', error)}") from error
        return str(answer["repositories"][0]["repositoryUri"])

    def _step(self, message: str) -> None:
        self.record.note(message)
        if self.hooks.step is not None:
            self.hooks.step(message)

    def _record_path(self) -> Path:
        return self.record.path_in(self.record_dir)

    def _write_record(self) -> None:
        if self.record.outcome == "running":
            self.record.finish("failed")
        self.record.write(self.record_dir)
