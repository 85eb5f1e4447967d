"""Small fixes to moto so the sandbox answers like AWS where the provider reads back what it wrote.

Applied only inside the sandbox process (never to a user's moto). Each fix is
named after what AWS does and is covered by tests/integration/test_fidelity.py.
Pinned to the moto version in pyproject.toml.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.rds.models import DBInstance, DBParameterGroup

from loono_infra.sandbox.server.deployments import (
    list_tasks_filters_by_service,
    update_service_starts_deployment,
)
from loono_infra.sandbox.server.retries import retried_conditional_writes_succeed_once_applied
from loono_infra.sandbox.server.revisions import (
    family_names_latest_active_revision,
    inactive_revisions_start_nothing,
)
from loono_infra.sandbox.server.strictness import (
    cloudwatch_may_use_key,
    load_balancers_need_room_in_their_subnets,
    rds_refuses_unknown_engine_versions,
)

LOG = logging.getLogger(__name__)

# ECS CreateService request members moto accepts but does not keep on the service.
ECS_SERVICE_MEMBERS_KEPT = {
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "deploymentConfiguration": "deployment_configuration",
    "enableExecuteCommand": "enable_execute_command",
}
_MARK = "_loono_fidelity"


def with_deployment_defaults(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """AWS fills in 200% / 100% for a replica service's deployment when they are not given."""
    return {"maximumPercent": 200, "minimumHealthyPercent": 100, **(configuration or {})}


def ecs_service_keeps_creation_settings() -> None:
    """AWS returns the grace period, managed tags and deployment configuration it got."""
    original: Callable[[EC2ContainerServiceResponse], ActionResult] = (
        EC2ContainerServiceResponse.create_service
    )
    if getattr(original, _MARK, False):
        return

    def create_service(self: EC2ContainerServiceResponse) -> ActionResult:
        result = original(self)
        service = self.ecs_backend.services[
            f"{self._get_param('cluster', 'default').split('/')[-1]}:"
            f"{self._get_param('serviceName')}"
        ]
        for member, attribute in ECS_SERVICE_MEMBERS_KEPT.items():
            value = self._get_param(member)
            if value is not None:
                setattr(service, attribute, value)
        service.deployment_configuration = with_deployment_defaults(  # type: ignore[attr-defined]
            getattr(service, "deployment_configuration", None)
        )
        return result

    setattr(create_service, _MARK, True)
    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]


def rds_parameters_report_user_source() -> None:
    """AWS marks parameters set through ModifyDBParameterGroup with Source "user"."""
    original = DBParameterGroup.update_parameters
    if getattr(original, _MARK, False):
        return

    def update_parameters(self: DBParameterGroup, new_parameters: Iterable[dict[str, Any]]) -> None:
        original(self, new_parameters)
        for parameter in self.parameters.values():
            parameter.setdefault("Source", "user")
            parameter.setdefault("IsModifiable", True)

    setattr(update_parameters, _MARK, True)
    DBParameterGroup.update_parameters = update_parameters  # type: ignore[method-assign]


RDS_DEFAULT_CA = "rds-ca-rsa2048-g1"


def rds_default_ca_is_current() -> None:
    """New instances get RDS's current default CA (rds-ca-rsa2048-g1); moto says rds-ca-default."""
    original = DBInstance.__init__
    if getattr(original, _MARK, False):
        return

    def init(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.ca_certificate_identifier == "rds-ca-default":
            self.ca_certificate_identifier = RDS_DEFAULT_CA

    setattr(init, _MARK, True)
    DBInstance.__init__ = init  # type: ignore[method-assign]


def alarms_notify_their_actions() -> None:
    """An alarm that changes state publishes CloudWatch's notification to its SNS actions
    (moto only records the new state)."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.set_alarm_state
    if getattr(original, _MARK, False):
        return

    def set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str,
                        reason_data: str, state_value: str) -> None:
        previous = getattr(self.alarms.get(alarm_name), "state_value", None)
        original(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        if previous != state_value and getattr(alarm, "actions_enabled", True):
            actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions}.get(state_value)
            _notify(self, alarm, actions or [], previous, reason)

    setattr(set_alarm_state, _MARK, True)
    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]


def _notify(backend: Any, alarm: Any, actions: list[str], previous: str | None,
            reason: str) -> None:
    from moto.sns.models import sns_backends

    message = json.dumps({
        "AlarmName": alarm.name, "AlarmDescription": alarm.description,
        "AWSAccountId": backend.account_id, "NewStateValue": alarm.state_value,
        "NewStateReason": reason, "OldStateValue": previous, "Region": backend.region_name,
        "AlarmArn": alarm.alarm_arn, "Trigger": {"MetricName": alarm.metric_name,
                                                 "Namespace": alarm.namespace,
                                                 "Threshold": alarm.threshold}})
    subject = f'{alarm.state_value}: "{alarm.name}" in {backend.region_name}'[:100]
    for arn in (a for a in actions if ":sns:" in a):
        region = arn.split(":")[3]
        topic = sns_backends[backend.account_id][region].get_topic(arn)
        key = topic.kms_master_key_id
        if key and not cloudwatch_may_use_key(backend.account_id, region, key):
            LOG.warning("alarm %s: notification to %s not delivered: the topic's key %s does "
                        "not let CloudWatch use it (KMS AccessDenied)", alarm.name, arn, key)
            continue
        topic.publish(message, subject=subject)


FIXES: tuple[Callable[[], None], ...] = (
    alarms_notify_their_actions,
    rds_default_ca_is_current,
    ecs_service_keeps_creation_settings,
    rds_parameters_report_user_source,
    update_service_starts_deployment,
    list_tasks_filters_by_service,
    family_names_latest_active_revision,
    inactive_revisions_start_nothing,
    load_balancers_need_room_in_their_subnets,
    rds_refuses_unknown_engine_versions,
    retried_conditional_writes_succeed_once_applied,
)


def apply_fidelity_fixes() -> None:
    """Installs every fix; safe to call twice."""
    for fix in FIXES:
        fix()
