"""The sandbox's ECS agent: runs each service's PRIMARY deployment as Docker containers.

On every tick, for every ECS service in the sandbox: notice containers that exited, probe
targets like the target group does, launch the tasks the PRIMARY deployment is short of,
then judge the deployment: COMPLETED once its tasks are healthy (older deployments drained),
FAILED when the circuit breaker's threshold of failed tasks is reached, with a rollback to the
last completed deployment when the service asks for it. Everything it does is visible through
the ECS API (deployments, counts, tasks with stopped reasons, events), nowhere else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.ecs.models import ecs_backends

from loono_infra.sandbox.server import secrets
from loono_infra.sandbox.server.balancer import Balancers
from loono_infra.sandbox.server.containers import ContainerRunner, ContainerSpec, PullError
from loono_infra.sandbox.server.deployments import (
    add_event,
    circuit_breaker,
    failure_threshold,
    primary,
    start_deployment,
)
from loono_infra.sandbox.server.health import HealthSpec, health_spec, judge_target
from loono_infra.sandbox.server.logship import LogShipper, log_target
from loono_infra.sandbox.server.tasks import SandboxTask, ServiceRun, utc_now

LOG = logging.getLogger("loono_infra.sandbox.server.agent")
DRAINED_REASON = "Scaling activity initiated by (deployment ecs-svc)"


def ecs_services() -> Iterator[tuple[Any, Any]]:
    """(backend, service) for every ACTIVE service moto holds, in every account and region."""
    for regions in list(ecs_backends.values()):
        for backend in list(regions.values()):
            for service in list(backend.services.values()):
                if service.status == "ACTIVE":
                    yield backend, service


class EcsAgent:
    """Plays the ECS scheduler and agent for the sandbox's services."""

    def __init__(self, runner: ContainerRunner, balancers: Balancers, tick_seconds: float = 0.25,
                 clock: Callable[[], float] = time.monotonic,
                 logs: LogShipper | None = None) -> None:
        self._runner = runner
        self._logs = logs
        self._balancers = balancers
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._runs: dict[str, ServiceRun] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecs-agent", daemon=True)

    def start(self) -> None:
        self._runner.sweep()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._runner.sweep()

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            try:
                self.tick()
            except Exception:  # the agent must outlive one bad tick; the log says why
                LOG.exception("ECS agent tick failed")

    def tick(self) -> None:
        active = set()
        for backend, service in ecs_services():
            active.add(service.arn)
            self._drive(backend, service)
        for arn in [arn for arn in self._runs if arn not in active]:
            self._retire(self._runs.pop(arn))

    def _retire(self, run: ServiceRun) -> None:
        """A deleted service's tasks stop, as ECS stops them when the service goes."""
        for task in run.live_tasks():
            task.mark_stopped("Service deleted", "ServiceSchedulerInitiated", None)
            if task._docker_id is not None:
                self._runner.remove(task._docker_id)

    def _drive(self, backend: Any, service: Any) -> None:
        run = self._runs.setdefault(service.arn, ServiceRun())
        spec = health_spec(service)
        self._watch_tasks(service, run, spec)
        deployment = primary(service)
        if deployment is None:
            return
        self._adopt_tasks(run, deployment)
        self._launch_missing(backend, service, run, deployment)
        self._judge(service, run, deployment)
        self._publish(service, run, spec)

    # Tasks -------------------------------------------------------------------------------

    def _watch_tasks(self, service: Any, run: ServiceRun, spec: HealthSpec) -> None:
        for task in run.live_tasks():
            if task._docker_id is None:
                continue
            state = self._runner.state(task._docker_id)
            reason = judge_target(task, spec, self._clock()) if state.running else None
            self._ship_logs(service, task, final=not state.running or reason is not None)
            if not state.running:
                self._stop_task(service, run, task, "Essential container in task exited",
                                "EssentialContainerExited", state.exit_code)
            elif reason is not None:
                add_event(service, f"(task {task.id}) failed ELB health checks in "
                                   f"(target-group {spec.target_group_arn}).")
                self._stop_task(service, run, task, reason, "ServiceSchedulerInitiated", None)

    def _ship_logs(self, service: Any, task: SandboxTask, final: bool) -> None:
        """Container output to CloudWatch; final: the last chance before the container goes."""
        if self._logs is not None and task._log_target is not None:
            self._logs.ship(task, service._account_id, service.region_name, task._log_target,
                            final)

    def _stop_task(self, service: Any, run: ServiceRun, task: SandboxTask, reason: str,
                   code: str, exit_code: int | None) -> None:
        """A task that failed: stopped, and counted against its deployment unless it was healthy."""
        if not task._probe.healthy:
            deployment_id = task._deployment_id
            run.failed_by_deployment[deployment_id] = run.failed_by_deployment.get(
                deployment_id, 0) + 1
        self._remove_task(service, task, reason, code, exit_code)

    def _remove_task(self, service: Any, task: SandboxTask, reason: str, code: str,
              exit_code: int | None) -> None:
        task.mark_stopped(reason, code, exit_code)
        if task._docker_id is not None:
            self._runner.remove(task._docker_id)
        add_event(service, f"has stopped 1 running tasks: (task {task.id}).")

    def _adopt_tasks(self, run: ServiceRun, deployment: dict[str, Any]) -> None:
        """Tasks of the same revision count for the PRIMARY (a rollback finds them running)."""
        for task in run.live_tasks():
            if task.task_definition_arn == deployment["taskDefinition"]:
                task._deployment_id = deployment["id"]
                task.started_by = deployment["id"]

    def _launch_missing(self, backend: Any, service: Any, run: ServiceRun,
                        deployment: dict[str, Any]) -> None:
        if deployment.get("rolloutState") == "FAILED":
            return
        missing = service.desired_count - len(run.tasks_of(deployment["id"]))
        for _ in range(max(0, missing)):
            self._launch(backend, service, run, deployment)

    def _launch(self, backend: Any, service: Any, run: ServiceRun,
                deployment: dict[str, Any]) -> None:
        definition = backend.describe_task_definition(deployment["taskDefinition"])
        container = definition.container_definitions[0]
        task = SandboxTask(service.cluster_arn, definition.arn, f"service:{service.name}",
                           deployment["id"], (container["name"], container["image"]))
        backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
        run.tasks.append(task)
        task._log_target = log_target(container, task)
        add_event(service, f"has started 1 tasks: (task {task.id}).")
        try:
            task.container.image_digest = self._runner.pull(container["image"])
            injected = secrets.resolve(container, getattr(definition, "execution_role_arn", None),
                                       backend.region_name)
        except (PullError, secrets.SecretError) as failure:
            self._stop_task(service, run, task, str(failure), "TaskFailedToStart", None)
            return
        spec = _container_spec(container, injected, getattr(definition, "memory", None))
        docker_id, host_port = self._runner.start(spec)
        task.mark_running(docker_id, host_port, self._clock())

    # Deployments -------------------------------------------------------------------------

    def _judge(self, service: Any, run: ServiceRun, deployment: dict[str, Any]) -> None:
        if deployment.get("rolloutState") != "IN_PROGRESS":
            return
        failed = run.failed_by_deployment.get(deployment["id"], 0)
        deployment["failedTasks"] = failed
        enabled, rollback = circuit_breaker(service)
        if enabled and failed >= failure_threshold(service.desired_count):
            self._fail(service, run, deployment, rollback)
            return
        healthy = [task for task in run.tasks_of(deployment["id"]) if task._probe.healthy]
        if len(healthy) >= service.desired_count:
            self._complete(service, run, deployment)

    def _complete(self, service: Any, run: ServiceRun, deployment: dict[str, Any]) -> None:
        for task in run.live_tasks():
            if task._deployment_id != deployment["id"]:
                self._remove_task(service, task, DRAINED_REASON, "ServiceSchedulerInitiated",
                                  None)
        deployment["rolloutState"] = "COMPLETED"
        deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
        deployment["updatedAt"] = utc_now()
        service.deployments = [deployment]
        run.last_completed_task_definition = deployment["taskDefinition"]
        add_event(service, "has reached a steady state.")

    def _fail(self, service: Any, run: ServiceRun, deployment: dict[str, Any],
              rollback: bool) -> None:
        deployment["rolloutState"] = "FAILED"
        deployment["rolloutStateReason"] = (
            "ECS deployment circuit breaker: tasks failed to start.")
        deployment["updatedAt"] = utc_now()
        add_event(service, f"(deployment {deployment['id']}) deployment failed: "
                           "tasks failed to start.")
        target = run.last_completed_task_definition
        if not rollback or target is None or target == deployment["taskDefinition"]:
            return
        rolled = start_deployment(service, target)
        add_event(service, f"rolling back to deployment {rolled['id']}.")

    def _publish(self, service: Any, run: ServiceRun, spec: HealthSpec) -> None:
        for deployment in service.deployments:
            tasks = run.tasks_of(deployment["id"])
            deployment["runningCount"] = sum(task.last_status == "RUNNING" for task in tasks)
            deployment["pendingCount"] = len(tasks) - deployment["runningCount"]
        live = run.live_tasks()
        service.running_count = sum(task.last_status == "RUNNING" for task in live)
        service.pending_count = len(live) - service.running_count
        targets = [("127.0.0.1", task._host_port) for task in live
                   if task._probe.healthy and task._host_port is not None]
        if spec.target_group_arn is not None:
            registered = sum(task.last_status == "RUNNING" and task._host_port is not None
                             for task in live)
            self._balancers.set_targets(spec.target_group_arn, targets,
                                        unhealthy=registered - len(targets))


def _container_spec(container: dict[str, Any], injected: dict[str, str],
                    task_memory: str | int | None) -> ContainerSpec:
    """The container's environment, with the secrets ECS injected (as ECS: secrets win), and
    its memory limit: the task's (Fargate), else the container's."""
    environment = {item["name"]: item["value"] for item in container.get("environment") or []}
    environment |= injected
    mappings = container.get("portMappings") or []
    port = int(mappings[0]["containerPort"]) if mappings else None
    memory = task_memory or container.get("memory")
    return ContainerSpec(container["image"], environment, port,
                         int(memory) if memory else None)
