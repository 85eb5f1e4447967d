"""Settings -> a Terraform root module directory, as JSON. Pure: it never runs a process.

Settings values reach Terraform only through ``terraform.tfvars.json`` (literal
values, never templates); ``main.tf.json`` wires the modules to those variables.
The same inputs always give byte-identical files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from loono_infra.core.providers import AWS_PROVIDER_VERSION
from loono_infra.core.settings import Settings
from loono_infra.core.variable_types import terraform_type
from loono_infra.core.workspace import log_group_name

BackendDialect = Literal["current", "legacy"]
"""S3 backend keys: "current" for Terraform >= 1.6 (endpoints map), "legacy" before."""

MODULES = ("network", "ecr", "ecs", "rds", "cloudwatch")
SANDBOX_ACCESS_KEY = "sandbox"
# Every service the provider calls; one left out sends the provider to real AWS.
SANDBOX_SERVICES = (
    "acm", "autoscaling", "cloudwatch", "cloudwatchlogs", "dynamodb", "ec2", "ecr", "ecs",
    "elb", "iam", "kms", "rds", "s3", "secretsmanager", "sns", "ssm", "sts",
)
LOCK_FILE = ".terraform.lock.hcl"
PASSWORD_VARIABLE = "db_master_password"
DATABASE_PORT = 5432
ACCOUNT = "${data.aws_caller_identity.current.account_id}"
PARTITION = "${data.aws_partition.current.partition}"  # aws, aws-cn, aws-us-gov


@dataclass(frozen=True)
class SandboxEndpoint:
    """The sandbox's single AWS endpoint, e.g. http://127.0.0.1:40123, and what it issued.

    certificate_arn is the sandbox's own certificate in its ACM: an environment rehearsed
    on the sandbox terminates TLS with it instead of its AWS certificate.
    """

    url: str
    certificate_arn: str | None = None


@dataclass(frozen=True)
class RenderedRoot:
    """File name -> text of a root module directory."""

    files: dict[str, str]


def render(
    settings: Settings,
    *,
    modules_source: str,
    lock_file_text: str,
    sandbox: SandboxEndpoint | None = None,
    dialect: BackendDialect = "current",
    moved: bool = True,
) -> RenderedRoot:
    """Renders the root module; modules_source is the modules dir relative to the root."""
    main: dict[str, Any] = {
        "terraform": _terraform_block(settings, sandbox, dialect),
        "provider": {"aws": _provider_block(settings, sandbox)},
        "variable": _variable_blocks(),
        "data": {"aws_caller_identity": {"current": {}}, "aws_partition": {"current": {}}},
        "module": _module_blocks(modules_source),
        "output": _output_blocks(),
    }
    if moved:  # where resources of earlier versions now live (Terraform >= 1.1 moves them)
        main["moved"] = [{"from": old, "to": new} for old, new in moved_resources(settings)]
    return RenderedRoot(
        files={
            "main.tf.json": _dump(main),
            "terraform.tfvars.json": _dump(tfvars(settings, sandbox)),
            LOCK_FILE: lock_file_text,
        }
    )


def write_root(rendered: RenderedRoot, directory: Path) -> bool:
    """Writes the files that differ, atomically; returns whether anything changed.

    The directory will hold plan files (variable values in clear text): it is private (0700).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    changed = False
    for name, text in sorted(rendered.files.items()):
        path = directory / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        partial = path.with_name(name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        changed = True
    return changed


def moved_resources(settings: Settings) -> list[tuple[str, str]]:
    """Where resources of earlier versions of the modules live now (Terraform moves them in
    state instead of replacing them): the healthy-host alarm beside its target group, and the
    network's per-zone resources keyed by zone instead of by position."""
    moved = [("module.cloudwatch.aws_cloudwatch_metric_alarm.no_healthy_targets",
              "module.ecs.aws_cloudwatch_metric_alarm.no_healthy_targets")]
    network = "module.network"
    for index, zone in enumerate(settings.availability_zones):
        for resource in ("aws_subnet.public", "aws_subnet.private",
                         "aws_route_table_association.public",
                         "aws_route_table_association.private"):
            moved.append((f"{network}.{resource}[{index}]", f'{network}.{resource}["{zone}"]'))
    first = settings.availability_zones[0]
    for resource in ("aws_eip.nat", "aws_nat_gateway.this", "aws_route_table.private",
                     "aws_route.private_nat"):
        moved.append((f"{network}.{resource}", f'{network}.{resource}["{first}"]'))
    return moved


def modules_source_for(root_dir: Path, modules_dir: Path) -> str:
    """The modules directory as a relative module source ("../..")."""
    relative = os.path.relpath(modules_dir, root_dir)
    return relative if relative.startswith("..") else f"./{relative}"


def tfvars(settings: Settings, sandbox: SandboxEndpoint | None = None) -> dict[str, Any]:
    """The literal values of the root variables, one per settings section."""
    service = settings.service
    certificate = sandbox.certificate_arn if sandbox else settings.load_balancer.certificate_arn
    return {
        "environment": settings.environment,
        "name_prefix": settings.name_prefix,
        "region": settings.region,
        "availability_zones": list(settings.availability_zones),
        "tags": {"ManagedBy": "loono-infra", **settings.tags},
        "network": settings.network.model_dump(),
        "load_balancer": {"certificate_arn": certificate,
                          "tls_policy": settings.load_balancer.tls_policy},
        "service": {
            **service.model_dump(exclude={"health_check", "environment"}),
            "environment": dict(sorted(service.environment.items())),
            "health_check": service.health_check.model_dump(),
        },
        "database": {
            **settings.database.model_dump(exclude={"password_env"}),
            "parameter_group_family": settings.database.parameter_group_family,
        },
        "logs": settings.logs.model_dump(),
        "alarms": settings.alarms.model_dump(),
    }


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def _terraform_block(
    settings: Settings, sandbox: SandboxEndpoint | None, dialect: BackendDialect
) -> dict[str, Any]:
    return {
        "required_version": ">= 1.0.0",
        "required_providers": {
            "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
        },
        "backend": {"s3": _backend(settings, sandbox, dialect)},
    }


def _backend(
    settings: Settings, sandbox: SandboxEndpoint | None, dialect: BackendDialect
) -> dict[str, Any]:
    backend: dict[str, Any] = {
        "bucket": settings.state.bucket,
        "key": settings.state.key,
        "region": settings.region,
        "dynamodb_table": settings.state.lock_table,
        "encrypt": True,
    }
    if sandbox is None:
        return backend
    backend |= {
        "skip_credentials_validation": True,
        "skip_region_validation": True,
        "skip_metadata_api_check": True,
    }
    if dialect == "legacy":
        return backend | {
            "force_path_style": True,
            "endpoint": sandbox.url,
            "dynamodb_endpoint": sandbox.url,
            "iam_endpoint": sandbox.url,
            "sts_endpoint": sandbox.url,
        }
    return backend | {
        "use_path_style": True,
        "skip_requesting_account_id": True,
        "endpoints": {key: sandbox.url for key in ("s3", "dynamodb", "iam", "sts")},
    }


def _provider_block(settings: Settings, sandbox: SandboxEndpoint | None) -> dict[str, Any]:
    provider: dict[str, Any] = {
        "region": settings.region,
        "default_tags": {"tags": "${var.tags}"},
    }
    if sandbox is None:
        return provider
    return provider | {
        "skip_credentials_validation": True,
        "skip_get_ec2_platforms": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "skip_requesting_account_id": True,
        "s3_force_path_style": True,
        "endpoints": [{service: sandbox.url for service in SANDBOX_SERVICES}],
    }


def _variable_blocks() -> dict[str, Any]:
    blocks: dict[str, Any] = {name: {"type": kind} for name, kind in _root_variable_types().items()}
    blocks[PASSWORD_VARIABLE] = {
        "type": "string",
        "sensitive": True,
        "default": None,
        "description": "Database master password, needed only when the database is created; "
                       "from the environment, never from a file.",
    }
    return blocks


def _root_variable_types() -> dict[str, str]:
    """Each root variable's type: its settings section's model (tfvars() writes the values)."""
    fields = Settings.model_fields
    kinds = {name: terraform_type(fields[name].annotation)
             for name in ("environment", "name_prefix", "region", "availability_zones", "tags",
                          "network", "load_balancer", "service", "logs", "alarms")}
    kinds["database"] = terraform_type(fields["database"].annotation,
                                       drop=frozenset({"password_env"}),
                                       extra={"parameter_group_family": "string"})
    return kinds


def _module_blocks(modules_source: str) -> dict[str, Any]:
    def source(name: str) -> str:
        return f"{modules_source}/{name}"

    return {
        "network": {
            "source": source("network"),
            "name": "${var.name_prefix}",
            "cidr_block": "${var.network.cidr_block}",
            "nat_gateway_per_zone": "${var.network.nat_gateway_per_zone}",
            "availability_zones": "${var.availability_zones}",
            "service_port": "${var.service.container_port}",
        },
        "ecr": {"source": source("ecr"), "name": "${var.service.repository}"},
        "ecs": _ecs_module(source("ecs")),
        "rds": _rds_module(source("rds")),
        "cloudwatch": _cloudwatch_module(source("cloudwatch")),
    }


def _ecs_module(source: str) -> dict[str, Any]:
    health = "var.service.health_check"
    return {
        "source": source,
        "name": "${var.name_prefix}",
        "region": "${var.region}",
        "container_name": "${var.service.container_name}",
        # Built from known values (not the repository's computed URL) so the task definition,
        # and the policies that read it, are known at plan time.
        "container_image": "${data.aws_caller_identity.current.account_id}.dkr.ecr."
                           "${var.region}.amazonaws.com/${var.service.repository}:"
                           "${var.service.initial_image_tag}",
        "container_port": "${var.service.container_port}",
        "cpu": "${var.service.cpu}",
        "memory": "${var.service.memory}",
        "environment": "${var.service.environment}",
        "log_group_name": "${module.cloudwatch.log_group_name}",
        "alarm_topic_arn": "${module.cloudwatch.alarm_topic_arn}",
        # Built from known values (not the secret's computed ARN): the task definition is known
        # at plan time, so the policy gate judges it the same before and after it exists.
        "database_secret_arn": f"arn:{PARTITION}:secretsmanager:${{var.region}}:{ACCOUNT}:secret:"
                               "${var.name_prefix}-db/master",
        "database_host_parameter_arn": f"arn:{PARTITION}:ssm:${{var.region}}:{ACCOUNT}:parameter/"
                                       "${var.name_prefix}-db/host",
        "database_port": DATABASE_PORT,
        "database_name": "${var.database.database_name}",
        "database_variables": "${var.service.database_variables}",
        "vpc_id": "${module.network.vpc_id}",
        "public_subnet_ids": "${module.network.public_subnet_ids}",
        "private_subnet_ids": "${module.network.private_subnet_ids}",
        "load_balancer_security_group_id": "${module.network.load_balancer_security_group_id}",
        "service_security_group_id": "${module.network.service_security_group_id}",
        "load_balancer_name": "${var.name_prefix}-lb",
        "certificate_arn": "${var.load_balancer.certificate_arn}",
        "tls_policy": "${var.load_balancer.tls_policy}",
        "target_group_name_prefix": "tg-",
        "health_check_path": f"${{{health}.path}}",
        "health_check_healthy_threshold": f"${{{health}.healthy_threshold}}",
        "health_check_unhealthy_threshold": f"${{{health}.unhealthy_threshold}}",
        "health_check_interval_seconds": f"${{{health}.interval_seconds}}",
        "health_check_timeout_seconds": f"${{{health}.timeout_seconds}}",
        "health_check_grace_period_seconds": f"${{{health}.grace_period_seconds}}",
    }


def _rds_module(source: str) -> dict[str, Any]:
    names = ("engine_version", "parameter_group_family", "instance_class", "database_name",
             "master_username", "allocated_storage_gb", "max_allocated_storage_gb",
             "backup_retention_days", "multi_az", "deletion_protection", "final_snapshot",
             "apply_immediately")
    return {
        "source": source,
        "name": "${var.name_prefix}-db",
        "subnet_ids": "${module.network.private_subnet_ids}",
        "security_group_id": "${module.network.database_security_group_id}",
        "master_password": f"${{var.{PASSWORD_VARIABLE}}}",
        "port": DATABASE_PORT,
        "log_retention_days": "${var.logs.retention_days}",
        **{name: f"${{var.database.{name}}}" for name in names},
    }


def _cloudwatch_module(source: str) -> dict[str, Any]:
    return {
        "source": source,
        "name": "${var.name_prefix}",
        "log_group_name": log_group_name("${var.name_prefix}"),
        "log_retention_days": "${var.logs.retention_days}",
        "cluster_name": "${module.ecs.cluster_name}",
        "service_name": "${module.ecs.service_name}",
        "load_balancer_arn_suffix": "${module.ecs.load_balancer_arn_suffix}",
        "target_group_arn_suffix": "${module.ecs.target_group_arn_suffix}",
        "database_identifier": "${module.rds.instance_identifier}",
        "cpu_alarm_percent": "${var.alarms.cpu_percent}",
        "memory_alarm_percent": "${var.alarms.memory_percent}",
        "http_5xx_alarm_count": "${var.alarms.http_5xx_count}",
        "free_storage_alarm_gb": "${var.alarms.free_storage_gb}",
        "database_free_memory_alarm_mb": "${var.alarms.db_free_memory_mb}",
        "database_connections_alarm_count": "${var.alarms.db_connections}",
        "database_credit_alarm_percent": "${var.alarms.db_credit_percent}",
        "alarm_subscriptions": "${var.alarms.subscriptions}",
    }


def _output_blocks() -> dict[str, Any]:
    outputs = {
        "repository_url": "module.ecr.repository_url",
        "cluster_name": "module.ecs.cluster_name",
        "service_name": "module.ecs.service_name",
        "task_definition_arn": "module.ecs.task_definition_arn",
        "load_balancer_dns_name": "module.ecs.load_balancer_dns_name",
        "log_group_name": "module.cloudwatch.log_group_name",
        "alarm_topic_arn": "module.cloudwatch.alarm_topic_arn",
        "log_reader_role_arn": "module.cloudwatch.log_reader_role_arn",
        "database_endpoint": "module.rds.endpoint",
    }
    return {name: {"value": f"${{{expression}}}"} for name, expression in outputs.items()}
