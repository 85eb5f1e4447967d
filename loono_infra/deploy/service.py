"""The ECS service a deploy rolls: where it is, what it runs, what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from loono_infra.core.errors import DeployError
from loono_infra.core.settings import Settings
from loono_infra.deploy.acceptors import Observation, short_revision


@dataclass(frozen=True)
class ServiceRef:
    """One ECS service by cluster and name."""

    cluster: str
    name: str

    def __str__(self) -> str:
        return f"{self.cluster}/{self.name}"


class EcsService:
    """A thin seam over boto3's ECS client for one service."""

    def __init__(self, ecs: Any, ref: ServiceRef) -> None:
        self.ecs = ecs
        self.ref = ref

    def describe(self) -> Mapping[str, Any]:
        """DescribeServices' answer for the service; a DeployError when it does not exist."""
        try:
            answer = self.ecs.describe_services(cluster=self.ref.cluster, services=[self.ref.name])
        except ClientError as error:
            if _code(error) != "ClusterNotFoundException":
                raise DeployError(f"ECS service {self.ref}: {_aws_message(error)}") from error
            answer = {}
        services = [s for s in answer.get("services", []) if s.get("status") == "ACTIVE"]
        if not services:
            raise DeployError(f"ECS service {self.ref} does not exist: apply the stack first "
                              "(loono-infra plan / apply)")
        return dict(services[0])

    def current_task_definition(self, described: Mapping[str, Any] | None = None) -> str:
        """The revision the service runs now (of an answer already at hand, else a fresh one)."""
        arn = running_revision(self.describe() if described is None else described)
        if not arn:
            raise DeployError(f"ECS service {self.ref} reports no task definition")
        return arn

    def update(self, task_definition_arn: str, desired_count: int | None = None) -> None:
        """Sets the service's revision (and its task count, when given): a new deployment."""
        count = {} if desired_count is None else {"desiredCount": desired_count}
        try:
            self.ecs.update_service(cluster=self.ref.cluster, service=self.ref.name,
                                    taskDefinition=task_definition_arn, **count)
        except ClientError as error:
            raise DeployError(f"updating ECS service {self.ref} to "
                              f"{short_revision(task_definition_arn)}: "
                              f"{_aws_message(error)}") from error

    def observe(self, task_definition_arn: str, since: datetime) -> Observation:
        """The service and the tasks of one revision that stopped since a moment."""
        service = self.describe()
        stopped = [task for task in self.stopped_tasks(task_definition_arn)
                   if _after(task.get("stoppedAt"), since)]
        return Observation(service, tuple(stopped))

    def stopped_tasks(self, task_definition_arn: str) -> list[Mapping[str, Any]]:
        arns = self.ecs.list_tasks(cluster=self.ref.cluster, serviceName=self.ref.name,
                                   desiredStatus="STOPPED").get("taskArns", [])
        tasks: list[Mapping[str, Any]] = []
        for start in range(0, len(arns), 100):
            answer = self.ecs.describe_tasks(cluster=self.ref.cluster,
                                             tasks=arns[start:start + 100])
            tasks += [task for task in answer.get("tasks", [])
                      if task.get("taskDefinitionArn") == task_definition_arn]
        return tasks



def running_revision(described: Mapping[str, Any]) -> str:
    """The task definition of a DescribeServices service's PRIMARY deployment ("" if none)."""
    primary = Observation(described).primary
    arn = primary.get("taskDefinition") if primary else described.get("taskDefinition")
    return str(arn or "")


def service_ref(settings: Settings) -> ServiceRef:
    """The environment's ECS service: cluster and service are both named name_prefix."""
    return ServiceRef(settings.name_prefix, settings.name_prefix)


def base_url(settings: Settings, described: Mapping[str, Any], elbv2: Any,
             on_sandbox: bool = False) -> str:
    """Where the service answers: deploy.base_url, else https:// and its load balancer's DNS name
    (described: the service as DescribeServices returned it)."""
    if settings.deploy.base_url and not on_sandbox:  # a rehearsal answers on the sandbox's ALB
        return settings.deploy.base_url
    attachments = described.get("loadBalancers") or []
    if not attachments:
        raise DeployError(f"ECS service {service_ref(settings)} has no load balancer: set "
                          "deploy.base_url in the settings")
    target_group = str(attachments[0]["targetGroupArn"])
    group = elbv2.describe_target_groups(TargetGroupArns=[target_group])["TargetGroups"][0]
    balancers = elbv2.describe_load_balancers(LoadBalancerArns=group["LoadBalancerArns"][:1])
    return f"https://{balancers['LoadBalancers'][0]['DNSName']}"


def task_story(task: Mapping[str, Any]) -> str:
    """'task 1a2b: Essential container in task exited (exit code 3)'."""
    task_id = str(task.get("taskArn", "")).rsplit("/", 1)[-1][:12]
    exits = [f"exit code {c['exitCode']}" for c in task.get("containers", [])
             if c.get("exitCode") is not None]
    reasons = [str(c["reason"]) for c in task.get("containers", []) if c.get("reason")]
    extra = ", ".join(exits + [r for r in reasons if r != task.get("stoppedReason")])
    suffix = f" ({extra})" if extra else ""
    return f"task {task_id}: {task.get('stoppedReason') or 'stopped'}{suffix}"


def events_since(service: Mapping[str, Any], since: datetime, limit: int = 4) -> list[str]:
    """The service's event messages from since on, oldest first."""
    recent = [e for e in service.get("events") or [] if _after(e.get("createdAt"), since)]
    return [str(e.get("message", "")) for e in reversed(recent)][-limit:]


def _after(moment: Any, since: datetime) -> bool:
    return isinstance(moment, datetime) and moment >= since


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _aws_message(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    return f"{detail.get('Code', 'error')}: {detail.get('Message', str(error))}"
