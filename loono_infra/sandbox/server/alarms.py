"""The load balancer's health metrics and the alarms on them, as CloudWatch would run them.

moto stores alarms but evaluates none. Here every target group reports HealthyHostCount and
UnHealthyHostCount (what the ECS agent registered) once per sandbox period, and each alarm on
those metrics changes state as CloudWatch's would: ALARM when `datapoints_to_alarm` of the last
`evaluation_periods` samples breach, OK when fewer do. One sandbox period (a second) stands
for the alarm's period (a minute on AWS), so a dead task raises its alarm in seconds.
"""

from __future__ import annotations

import logging
import operator
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.elbv2.models import elbv2_backends

from loono_infra.sandbox.server.balancer import TargetCounts

LOG = logging.getLogger(__name__)
NAMESPACE = "AWS/ApplicationELB"
HEALTH_METRICS = ("HealthyHostCount", "UnHealthyHostCount")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
KEPT_SAMPLES = 60


@dataclass
class _Group:
    account: str
    region: str
    dimensions: dict[str, str]
    samples: deque[TargetCounts] = field(default_factory=lambda: deque(maxlen=KEPT_SAMPLES))


class TargetHealthAlarms:
    """Samples every target group each period and evaluates the alarms that watch them."""

    def __init__(self, counts: Callable[[str], TargetCounts], period_seconds: float = 1.0) -> None:
        self._counts = counts
        self._period = period_seconds
        self._groups: dict[str, _Group] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarm-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self.tick()
            except Exception:  # the clock must outlive one bad tick; the log says why
                LOG.exception("alarm evaluation failed")

    def tick(self) -> None:
        """One period: a sample per target group, then every alarm on a sampled group."""
        seen = set()
        for arn, group in _target_groups():
            seen.add(arn)
            kept = self._groups.setdefault(arn, group)
            kept.dimensions = group.dimensions  # a listener may attach the group later
            kept.samples.append(self._counts(arn))
            for alarm in _alarms_on(kept):
                _evaluate(kept, alarm)
        for arn in [arn for arn in self._groups if arn not in seen]:
            del self._groups[arn]


def _target_groups() -> Iterator[tuple[str, _Group]]:
    for account, regions in elbv2_backends.items():
        for region, backend in regions.items():
            for group in list(backend.target_groups.values()):
                dimensions = {"TargetGroup": _suffix(group.arn)}
                if group.load_balancer_arns:
                    dimensions["LoadBalancer"] = _suffix(group.load_balancer_arns[0])
                yield group.arn, _Group(account, region, dimensions)


def _suffix(arn: str) -> str:
    """`targetgroup/name/id` or `app/name/id`: what CloudWatch's dimensions name."""
    return arn.split(":", 5)[5].removeprefix("loadbalancer/")


def _alarms_on(group: _Group) -> list[Any]:
    backend = cloudwatch_backends[group.account][group.region]
    return [alarm for alarm in list(backend.alarms.values())
            if alarm.namespace == NAMESPACE and alarm.metric_name in HEALTH_METRICS
            and alarm.comparison_operator in COMPARISONS
            and _watches(alarm, group.dimensions)]


def _watches(alarm: Any, dimensions: dict[str, str]) -> bool:
    named = {d.name: d.value for d in alarm.dimensions}
    return named.get("TargetGroup") == dimensions["TargetGroup"] and all(
        dimensions.get(key) == value for key, value in named.items())


def _evaluate(group: _Group, alarm: Any) -> None:
    periods = max(1, int(alarm.evaluation_periods))
    if len(group.samples) < periods:
        return
    compare = COMPARISONS[alarm.comparison_operator]
    recent = list(group.samples)[-periods:]
    breaching = sum(compare(s.metric(alarm.metric_name), float(alarm.threshold)) for s in recent)
    needed = int(alarm.datapoints_to_alarm or periods)
    state = "ALARM" if breaching >= needed else "OK"
    if state == alarm.state_value:
        return
    latest = recent[-1].metric(alarm.metric_name)
    reason = (f"Threshold Crossed: {breaching} of the last {periods} datapoints of "
              f"{alarm.metric_name} ({latest} most recently) were {alarm.comparison_operator} "
              f"{alarm.threshold}")
    cloudwatch_backends[group.account][group.region].set_alarm_state(
        alarm.name, reason, "{}", state)
