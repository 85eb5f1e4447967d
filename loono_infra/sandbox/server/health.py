"""How the sandbox's load balancer judges a task: the target group's health check, as ECS
sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.elbv2.models import elbv2_backends

from loono_infra.sandbox.server.containers import probe
from loono_infra.sandbox.server.tasks import SandboxTask


@dataclass(frozen=True)
class HealthSpec:
    """The target group's health check and the service's grace period."""

    path: str = "/"
    interval: float = 30.0
    timeout: float = 5.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    grace_period: float = 0.0
    target_group_arn: str | None = None


def health_spec(service: Any) -> HealthSpec:
    """The health check of the service's first target group (none: healthy once running)."""
    grace = float(getattr(service, "health_check_grace_period_seconds", 0) or 0)
    for attachment in service.load_balancers or []:
        group = _target_group(service, attachment.get("targetGroupArn", ""))
        if group is not None:
            return HealthSpec(
                path=group.health_check_path or "/",
                interval=float(group.health_check_interval_seconds),
                timeout=float(group.health_check_timeout_seconds),
                healthy_threshold=int(group.healthy_threshold_count),
                unhealthy_threshold=int(group.unhealthy_threshold_count),
                grace_period=grace, target_group_arn=group.arn)
    return HealthSpec(grace_period=grace)


def _target_group(service: Any, arn: str) -> Any:
    backend = elbv2_backends[service._account_id][service.region_name]
    return backend.target_groups.get(arn)


def judge_target(task: SandboxTask, spec: HealthSpec, now: float) -> str | None:
    """Probes the task when due; returns a stop reason once it failed its health checks."""
    if spec.target_group_arn is None:
        task._probe.healthy = True
        task.health_status = "HEALTHY"
        return None
    state = task._probe
    if now < state.next_probe_at or task._host_port is None:
        return None
    state.next_probe_at = now + spec.interval
    passed, _ = probe(f"http://127.0.0.1:{task._host_port}{spec.path}", spec.timeout)
    if passed:
        state.passes, state.failures = state.passes + 1, 0
        state.healthy = state.healthy or state.passes >= spec.healthy_threshold
    else:
        state.passes = 0
        in_grace = now - task._started_monotonic < spec.grace_period
        state.failures = 0 if in_grace else state.failures + 1
        if state.failures >= spec.unhealthy_threshold:
            state.healthy = False
            return f"Task failed ELB health checks in (target-group {spec.target_group_arn})"
    task.health_status = "HEALTHY" if state.healthy else "UNKNOWN"
    return None
