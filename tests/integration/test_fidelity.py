"""The sandbox answers like AWS where moto alone does not (loono_infra.sandbox.server.fidelity)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from loono_infra.sandbox.control import SandboxInfo

pytestmark = pytest.mark.integration


def test_ecs_service_keeps_grace_period_tags_and_deployment_defaults(sandbox: SandboxInfo,
                                                                     aws: Any) -> None:
    ec2, ecs = aws("ec2"), aws("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="fidelity", Description="d", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="fidelity")
    ecs.register_task_definition(family="fidelity", containerDefinitions=[
        {"name": "c", "image": "i", "memory": 512}], requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc", cpu="256", memory="512")
    ecs.create_service(cluster="fidelity", serviceName="svc", taskDefinition="fidelity",
                       desiredCount=1, launchType="FARGATE", healthCheckGracePeriodSeconds=45,
                       enableECSManagedTags=True, networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet], "securityGroups": [group]}})
    service = ecs.describe_services(cluster="fidelity", services=["svc"])["services"][0]
    assert service["healthCheckGracePeriodSeconds"] == 45
    assert service["enableECSManagedTags"] is True
    assert service["deploymentConfiguration"]["maximumPercent"] == 200
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 100


def test_rds_parameters_set_by_the_user_report_source_user(sandbox: SandboxInfo,
                                                           aws: Any) -> None:
    rds = aws("rds")
    rds.create_db_parameter_group(DBParameterGroupName="fidelity", Description="d",
                                  DBParameterGroupFamily="postgres12")
    rds.modify_db_parameter_group(DBParameterGroupName="fidelity", Parameters=[
        {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
    parameters = rds.describe_db_parameters(DBParameterGroupName="fidelity", Source="user")[
        "Parameters"]
    assert [(p["ParameterName"], p["Source"]) for p in parameters] == [("rds.force_ssl", "user")]


def test_a_deregistered_revision_starts_nothing_and_a_family_names_its_latest_active(
        sandbox: SandboxInfo, aws: Any) -> None:
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="revisions")
    arns = [ecs.register_task_definition(family="revisions", containerDefinitions=[
        {"name": "c", "image": f"i:{n}", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
        for n in (1, 2)]
    ecs.deregister_task_definition(taskDefinition=arns[1])
    latest = ecs.describe_task_definition(taskDefinition="revisions")["taskDefinition"]
    assert latest["taskDefinitionArn"] == arns[0]  # the latest ACTIVE one, as ECS answers
    with pytest.raises(ClientError, match="TaskDefinition is inactive"):
        ecs.create_service(cluster="revisions", serviceName="svc", taskDefinition=arns[1],
                           desiredCount=0)
    ecs.create_service(cluster="revisions", serviceName="svc", taskDefinition=arns[0],
                       desiredCount=0)
    with pytest.raises(ClientError, match="TaskDefinition is inactive"):
        ecs.update_service(cluster="revisions", service="svc", taskDefinition=arns[1])
    ecs.deregister_task_definition(taskDefinition=arns[0])
    with pytest.raises(ClientError, match="Unable to describe task definition"):
        ecs.describe_task_definition(taskDefinition="revisions")


def test_a_load_balancer_needs_room_in_its_subnets(sandbox: SandboxInfo, aws: Any) -> None:
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/20")["Vpc"]["VpcId"]
    small = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.78.0.{16 * n}/28",
                               AvailabilityZone=zone)["Subnet"]["SubnetId"]
             for n, zone in enumerate(("eu-central-1a", "eu-central-1b"))]
    with pytest.raises(ClientError, match=r"InvalidSubnet.*8 free IP addresses"):
        elbv2.create_load_balancer(Name="too-small", Subnets=small, Type="application")
    roomy = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.78.{1 + n}.0/27",
                               AvailabilityZone=zone)["Subnet"]["SubnetId"]
             for n, zone in enumerate(("eu-central-1a", "eu-central-1b"))]
    created = elbv2.create_load_balancer(Name="roomy", Subnets=roomy, Type="application")
    elbv2.delete_load_balancer(LoadBalancerArn=created["LoadBalancers"][0]["LoadBalancerArn"])


def test_rds_refuses_a_postgresql_version_it_does_not_offer(sandbox: SandboxInfo,
                                                          aws: Any) -> None:
    rds = aws("rds")
    for version in ("12.99", "9", "12.x"):
        with pytest.raises(ClientError, match=f"Cannot find version {version} for postgres"):
            rds.create_db_instance(DBInstanceIdentifier="no-such-version", Engine="postgres",
                                   EngineVersion=version, DBInstanceClass="db.t3.micro",
                                   AllocatedStorage=20, MasterUsername="loono",
                                   MasterUserPassword="a-long-password-1")
    assert not [d for d in rds.describe_db_instances()["DBInstances"]
                if d["DBInstanceIdentifier"] == "no-such-version"]


def _alarm_to(aws: Any, topic: str, name: str) -> None:
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="Loono/Test", MetricName="M", Statistic="Sum",
        ComparisonOperator="GreaterThanThreshold", Threshold=1, Period=60,
        EvaluationPeriods=1, AlarmActions=[topic])


def test_an_alarm_cannot_publish_to_a_topic_whose_key_shuts_cloudwatch_out(
        sandbox: SandboxInfo, aws: Any) -> None:
    sns, sqs, kms, cloudwatch = aws("sns"), aws("sqs"), aws("kms"), aws("cloudwatch")
    own_key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}))[
        "KeyMetadata"]["Arn"]
    queue = sqs.create_queue(QueueName="fidelity-alarm-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    for key, name in (("alias/aws/sns", "managed-key"), (own_key, "own-key")):
        topic = sns.create_topic(Name=f"fidelity-{name}",
                                 Attributes={"KmsMasterKeyId": key})["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        _alarm_to(aws, topic, f"fidelity-{name}")
        cloudwatch.set_alarm_state(AlarmName=f"fidelity-{name}", StateValue="ALARM",
                                   StateReason="test")
    received = [json.loads(json.loads(m["Body"])["Message"])["AlarmName"] for m in
                sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2,
                                    MaxNumberOfMessages=10).get("Messages", [])]
    assert received == ["fidelity-own-key"]  # alias/aws/sns: KMS AccessDenied, nothing sent


def test_a_retried_lock_write_succeeds_and_another_lock_is_still_refused(
        sandbox: SandboxInfo, aws: Any) -> None:
    """A conditional PutItem repeated with the identical item (a retry whose first answer was
    lost) succeeds; another run's lock fails the condition as on AWS."""
    dynamodb = aws("dynamodb")
    table = "loono-retry-locks"
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "LockID",
                                                 "AttributeType": "S"}])
    mine = {"LockID": {"S": "state/sandbox"}, "Info": {"S": '{"ID": "a1", "Operation": "Apply"}'}}
    condition = {"ConditionExpression": "attribute_not_exists(LockID)"}
    dynamodb.put_item(TableName=table, Item=mine, **condition)
    dynamodb.put_item(TableName=table, Item=mine, **condition)  # the retry
    theirs = {**mine, "Info": {"S": '{"ID": "b2", "Operation": "Apply"}'}}
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item=theirs, **condition)
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    stored = dynamodb.get_item(TableName=table, Key={"LockID": {"S": "state/sandbox"}})["Item"]
    assert stored == mine
