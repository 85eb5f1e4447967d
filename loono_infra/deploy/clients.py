"""The AWS clients a deploy needs, for real AWS or the sandbox (the deploy code cannot tell)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loono_infra.sandbox.control import SANDBOX_REGION_CREDENTIALS
from loono_infra.targets import Target, sandbox_info


@dataclass(frozen=True)
class DeployClients:
    """boto3 clients of ECS, ECR, ELBv2 and DynamoDB in the environment's region."""

    ecs: Any
    ecr: Any
    elbv2: Any
    dynamodb: Any

    @classmethod
    def for_target(cls, target: Target) -> DeployClients:
        import boto3

        options: dict[str, Any] = {"region_name": target.settings.region}
        sandbox = sandbox_info(target)
        if sandbox is not None:
            options["endpoint_url"] = sandbox.url
            options["aws_access_key_id"] = SANDBOX_REGION_CREDENTIALS["AWS_ACCESS_KEY_ID"]
            options["aws_secret_access_key"] = SANDBOX_REGION_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        session = boto3.session.Session()
        return cls(*(session.client(name, **options)
                     for name in ("ecs", "ecr", "elbv2", "dynamodb")))
