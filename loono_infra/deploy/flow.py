"""deploy(): image -> push -> new revision -> rollout -> health -> post-deploy tests, with a
rollback to the previous revision on any failure once the rollout began."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from loono_infra.deploy.progress import RolloutListener, RolloutWatcher
from loono_infra.deploy.push import EcrLogins, PushedImage, Pusher, PushProgress
from loono_infra.deploy.record import DeployRecord
from loono_infra.deploy.service import (
    EcsService,
    base_url,
    events_since,
    service_ref,
    task_story,
)
from loono_infra.deploy.taskdef import (
    Families,
    configuration_of,
    deregister,
    image_of,
    latest_revision,
    register_with_image,
)
from loono_infra.flow.targets import resolve_target


@dataclass(frozen=True)
class DeployHooks:
    """Where a deploy reports progress (the CLI draws them; the library stays quiet)."""

    step: Callable[[str], None] | None = None
    push: PushProgress | None = None
    build_log: Callable[[str], None] | None = None
    rollout: RolloutListener | None = None  # each look while the rollout is awaited


@dataclass(frozen=True)
class Timing:
    """Clock and sleep of the waits, injected so tests need no real time."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


DEPLOYED_TAG_PREFIX = "deployed-"  # terraform/modules/ecr keeps every image tagged so


def deployed_tag(environment: str, when: datetime, digest: str) -> str:
    """The tag a successful deploy adds to the image it runs (unique: tags are immutable)."""
    return (f"{DEPLOYED_TAG_PREFIX}{environment}-{when.strftime('%Y%m%dT%H%M%SZ')}-"
            f"{digest.removeprefix('sha256:')[:12]}")


class _RolloutError(Exception):
    """The new revision failed after the rollout began; message is the story."""


def deploy(settings: Settings, image: str, build: Path | None = None, *,
           sandbox: bool | None = None, hooks: DeployHooks | None = None,
           timing: Timing | None = None, docker_client: docker.DockerClient | None = None,
           clients: DeployClients | None = None) -> DeployRecord:
    """Deploys image (name:tag, built from build/Dockerfile when given) to the environment.

    The new revision is Terraform's latest configuration (family <name>-config) with the image
    swapped. Returns the deploy record; raises DeployFailedError after rolling back when the new
    version fails, DeployLockedError when another deploy runs, DeployError when nothing was
    started.
    """
    reference = parse_reference(image)
    target = resolve_target(settings, sandbox)
    run = _Deploy(settings, str(reference), clients or DeployClients.for_target(target),
                  hooks or DeployHooks(), timing or Timing(),
                  target.project.deploys_dir(settings, target.sandbox))
    engine = docker_client or docker_engine()
    return run.run(lambda: run.deploy(reference, engine, build))


def converge_service(settings: Settings, *, sandbox: bool | None = None,
                     hooks: DeployHooks | None = None, timing: Timing | None = None,
                     clients: DeployClients | None = None) -> DeployRecord:
    """After an apply: rolls the service onto Terraform's latest configuration (and
    service.desired_count) with the image deployed now, checked and rolled back as a deploy.

    The record's outcome says what happened: "unchanged" (the service runs that configuration
    already), "nothing_deployed" (no image deployed yet: the first deploy brings it),
    "succeeded", or a DeployFailedError after the rollback.
    """
    target = resolve_target(settings, sandbox)
    run = _Deploy(settings, "(the deployed image)", clients or DeployClients.for_target(target),
                  hooks or DeployHooks(), timing or Timing(),
                  target.project.deploys_dir(settings, target.sandbox))
    return run.run(run.converge)


class _Deploy:
    def __init__(self, settings: Settings, image: str, clients: DeployClients,
                 hooks: DeployHooks, timing: Timing, record_dir: Path) -> None:
        self.settings = settings
        self.clients = clients
        self.hooks = hooks
        self.timing = timing
        self.record_dir = record_dir
        self.service = EcsService(clients.ecs, service_ref(settings))
        self.families = Families(settings.name_prefix)
        self.record = DeployRecord(settings.environment, str(self.service.ref), image)

    def run(self, action: Callable[[], None]) -> DeployRecord:
        lock = DeployLock(self.clients.dynamodb, self.settings.state.lock_table,
                          str(self.service.ref), self.settings.deploy.lock_ttl_seconds)
        with lock:
            self._step(f"deploy lock held ({lock.owner})")
            try:
                action()
            finally:
                self._write_record()
        return self.record

    def deploy(self, reference: ImageReference, engine: docker.DockerClient,
               build: Path | None) -> None:
        described = self.service.describe()
        previous = self._last_good(self.service.current_task_definition(described))
        url = base_url(self.settings, described, self.clients.elbv2,
                       on_sandbox=self.clients.on_sandbox)
        template = self._template()
        image = self._image(engine, reference, build)
        pushed = self._push(engine, image)
        self._roll(template, pushed.reference, previous, url)
        self._tag_deployed(engine, image, pushed)

    def converge(self) -> None:
        described = self.service.describe()
        running = self.service.current_task_definition(described)
        deployed = self._last_good(running)
        if self.families.is_template(deployed):
            self._step("no image deployed yet: the first deploy starts the service")
            self.record.finish("nothing_deployed")
            return
        template = self._template()
        image = image_of(self.clients.ecs, deployed, self.settings.service.container_name)
        self.record.image = image
        if not self._stale(described, running, template):
            self.record.finish("unchanged")
            return
        self._step(f"rolling the service onto {short_revision(template)} with {image}")
        url = base_url(self.settings, described, self.clients.elbv2,
                       on_sandbox=self.clients.on_sandbox)
        self._roll(template, image, deployed, url)

    def _last_good(self, running: str) -> str:
        """What a rollback returns to: the running revision, or, when the service runs the
        template (new or replaced service), the last deployed revision if there is one."""
        if not self.families.is_template(running):
            return running
        return latest_revision(self.clients.ecs, self.families.deployed) or running

    def _stale(self, described: Mapping[str, Any], running: str, template: str) -> bool:
        """Whether the service runs other than the template's configuration and task count."""
        if self.families.is_template(running):
            return True
        container = self.settings.service.container_name
        if described.get("desiredCount") != self.settings.service.desired_count:
            return True
        return bool(configuration_of(self.clients.ecs, template, container)
                    != configuration_of(self.clients.ecs, running, container))

    def _roll(self, template: str, image: str, previous: str, url: str) -> None:
        """Registers the template with image, rolls it out, and rolls back on any failure."""
        self.record.previous_task_definition = previous
        new = register_with_image(self.clients.ecs, template,
                                  self.settings.service.container_name, image,
                                  family=self.families.deployed)
        self.record.task_definition = new
        self._step(f"registered {short_revision(new)} (configuration "
                   f"{short_revision(template)}) with {image}")
        try:
            self._roll_out(new, url)
        except _RolloutError as failure:
            self.record.failure = str(failure)
            rollback = self._roll_back(previous, new)
            self.record.finish("rolled_back")
            raise DeployFailedError(str(failure), rollback, str(self._record_path())) from None
        except BaseException as error:  # interrupted or broken mid-rollout: never stay there
            self.record.failure = f"{type(error).__name__}: {error}"
            self._roll_back(previous, new)
            raise
        self.record.finish("succeeded")

    # Steps -------------------------------------------------------------------------------

    def _tag_deployed(self, engine: docker.DockerClient, image: Image,
                      pushed: PushedImage) -> None:
        """Tags the image that now runs deployed-<env>-<time>-<digest>: the repository's
        lifecycle policy never expires it (the running image and every rollback target)."""
        tag = deployed_tag(self.settings.environment, datetime.now(UTC), pushed.digest)
        pusher = Pusher(engine, EcrLogins(self.clients.ecr),
                        self.settings.deploy.push_attempts, None)
        try:
            pusher.add_tag(image, pushed.repository_uri, tag)
        except DeployError as error:  # the deploy stands; the record says what is unprotected
            self._step(f"could not tag the running image {tag}: {error.message}")
            return
        self.record.note("tagged", tag=tag)

    def _template(self) -> str:
        template = latest_revision(self.clients.ecs, self.families.template)
        if template is None:
            raise DeployError(f"task definition family {self.families.template} (Terraform's "
                              "configuration) has no active revision: apply the stack first")
        return template

    def _image(self, engine: docker.DockerClient, reference: ImageReference,
               build: Path | None) -> Image:
        if build is None:
            return local_image(engine, reference)
        self._step(f"building {reference} from {build}")
        return build_image(engine, build, reference, self.hooks.build_log)

    def _push(self, engine: docker.DockerClient, image: Image) -> PushedImage:
        repository = self._repository_uri()
        reference = parse_reference(self.record.image)
        self._step(f"pushing {reference} to {repository}")
        pusher = Pusher(engine, EcrLogins(self.clients.ecr),
                        self.settings.deploy.push_attempts, self.hooks.push)
        pushed = pusher.push(image, repository, reference.tag)
        record = self.record
        record.repository, record.digest, record.pushed = repository, pushed.digest, pushed.pushed
        record.layers_uploaded = pushed.layers_uploaded
        record.note("pushed" if pushed.pushed else "already in the repository",
                    digest=pushed.digest, layers_uploaded=pushed.layers_uploaded,
                    seconds=round(pushed.seconds, 3))
        return pushed

    def _roll_out(self, new: str, service_url: str) -> None:
        since = datetime.now(UTC) - timedelta(seconds=2)
        self.service.update(new, self.settings.service.desired_count)
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
        listener = self.hooks.rollout
        result = wait_for(
            lambda: self.service.observe(task_definition, since),
            Expectation(task_definition, deploy.failed_tasks_limit),
            timeout=deploy.rollout_timeout_seconds, interval=deploy.poll_seconds,
            clock=self.timing.clock, sleep=self.timing.sleep,
            on_look=None if listener is None else RolloutWatcher(task_definition, since,
                                                                 listener))
        for elapsed, summary in result.timeline:
            self.record.note("rollout", at=began + elapsed,
                             revision=short_revision(task_definition), state=summary)
        self.record.note(f"rollout {result.outcome}", acceptor=result.acceptor,
                         reason=result.reason, polls=result.polls)
        return result

    def _check_health(self, service_url: str) -> None:
        deploy, checks = self.settings.deploy, self.settings.service.health_check
        url = service_url + deploy.health_path
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
        checks = PostDeployChecks(deploy.health_path, deploy.openapi_path,
                                  deploy.required_paths, deploy.required_health_components)
        result = post_deploy_tests(self._fetch(), service_url, checks)
        self.record.post_deploy = result.as_dict()
        self.record.note("post-deploy tests", passed=result.passed)
        if not result.passed:
            raise _RolloutError("post-deploy tests: " + "; ".join(result.problems))

    def _roll_back(self, previous: str, failed: str) -> str:
        """Back to previous (no tasks when that is the template: nothing was deployed); the
        failed revision is deregistered so it never passes for the last deployed one."""
        self._step(f"rolling back to {short_revision(previous)}")
        count = 0 if self.families.is_template(previous) else self.settings.service.desired_count
        try:
            described = self.service.describe()
            if (self.service.current_task_definition(described) != previous
                    or described.get("desiredCount") != count):
                self.service.update(previous, count)
            result = self._wait(previous)
            deregister(self.clients.ecs, failed)
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
