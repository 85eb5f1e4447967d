"""The AWS clients a deploy needs, for real AWS or the sandbox (the deploy code cannot tell)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.bootstrap import aws_client
from loono_infra.sandbox.control import SANDBOX_REGION_CREDENTIALS, sandbox_dir
from loono_infra.sandbox.tls import tls_files
from loono_infra.targets import Target, sandbox_info


def target_clients(target: Target, *services: str) -> list[Any]:
    """boto3 clients for the target: its region, and the sandbox (looked up once) if it is one."""
    sandbox = sandbox_info(target)
    return [aws_client(service, target.settings.region, sandbox.url if sandbox else None,
                       SANDBOX_REGION_CREDENTIALS if sandbox else None) for service in services]


@dataclass(frozen=True)
class DeployClients:
    """boto3 clients of ECS, ECR, ELBv2 and DynamoDB in the environment's region, and the CA
    bundle that HTTPS answers are verified with (None: the system's trust store)."""

    ecs: Any
    ecr: Any
    elbv2: Any
    dynamodb: Any
    ca_bundle: Path | None = None

    @classmethod
    def for_target(cls, target: Target) -> DeployClients:
        ecs, ecr, elbv2, dynamodb = target_clients(target, "ecs", "ecr", "elbv2", "dynamodb")
        trust = tls_files(sandbox_dir(target.project.root)).ca if target.sandbox else None
        return cls(ecs, ecr, elbv2, dynamodb, ca_bundle=trust)
