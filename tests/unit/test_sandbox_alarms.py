"""The sandbox's evaluation of target-health alarms, on moto's in-process backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from loono_infra.sandbox.server.alarms import TargetHealthAlarms
from loono_infra.sandbox.server.balancer import TargetCounts

REGION = "eu-central-1"


def _suffix(arn: str) -> str:
    return arn.split(":", 5)[5].removeprefix("loadbalancer/")


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda name: boto3.client(name, region_name=REGION)


def _target_group_then_listener(aws: Any, alarms: TargetHealthAlarms) -> tuple[str, str]:
    """A target group sampled before any listener attaches it (Terraform's order)."""
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in enumerate("ab")]
    group = elb.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc,
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    alarms.tick()
    balancer = elb.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0][
        "LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    return group, balancer


def _alarm(aws: Any, metric: str, operator: str, group: str, balancer: str) -> str:
    name = f"{metric}-{operator}"
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="AWS/ApplicationELB", MetricName=metric, Statistic="Minimum",
        ComparisonOperator=operator, Threshold=1, Period=60, EvaluationPeriods=2,
        Dimensions=[{"Name": "LoadBalancer", "Value": _suffix(balancer)},
                    {"Name": "TargetGroup", "Value": _suffix(group)}])
    return name


def _state(aws: Any, name: str) -> tuple[str, str]:
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return alarm["StateValue"], alarm["StateReason"]


def test_no_healthy_target_for_the_evaluation_periods_raises_then_clears(aws: Any) -> None:
    counts = {"now": TargetCounts(healthy=1, unhealthy=0)}
    alarms = TargetHealthAlarms(lambda arn: counts["now"])
    group, balancer = _target_group_then_listener(aws, alarms)
    name = _alarm(aws, "HealthyHostCount", "LessThanThreshold", group, balancer)
    alarms.tick()
    alarms.tick()
    assert _state(aws, name)[0] == "OK"
    counts["now"] = TargetCounts(healthy=0, unhealthy=0)
    alarms.tick()
    assert _state(aws, name)[0] == "OK"  # one breaching datapoint of two
    alarms.tick()
    state, reason = _state(aws, name)
    assert state == "ALARM" and "2 of the last 2 datapoints" in reason
    counts["now"] = TargetCounts(healthy=1, unhealthy=0)
    alarms.tick()
    assert _state(aws, name)[0] == "OK"


def test_unhealthy_hosts_and_other_target_groups_are_told_apart(aws: Any) -> None:
    counts = {"now": TargetCounts(healthy=1, unhealthy=1)}
    alarms = TargetHealthAlarms(lambda arn: counts["now"])
    group, balancer = _target_group_then_listener(aws, alarms)
    unhealthy = _alarm(aws, "UnHealthyHostCount", "GreaterThanOrEqualToThreshold", group,
                       balancer)
    elsewhere = _alarm(aws, "HealthyHostCount", "LessThanThreshold",
                       group.replace("/tg/", "/other/"), balancer)
    counts["now"] = TargetCounts(healthy=0, unhealthy=1)
    for _ in range(3):
        alarms.tick()
    assert _state(aws, unhealthy)[0] == "ALARM"
    assert _state(aws, elsewhere) == ("OK", "Unchecked: Initial alarm creation")
