"""The AWS clients a deploy needs, for real AWS or the sandbox (the deploy code cannot tell)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.flow.targets import Target, aws_endpoint
from loono_infra.sandbox.control import sandbox_dir
from loono_infra.sandbox.tls import tls_files


@dataclass(frozen=True)
class DeployClients:
    """boto3 clients of ECS, ECR, ELBv2 and DynamoDB in the environment's region, and the CA
    bundle that HTTPS answers are verified with (None: the system's trust store)."""

    ecs: Any
    ecr: Any
    elbv2: Any
    dynamodb: Any
    ca_bundle: Path | None = None

    @property
    def on_sandbox(self) -> bool:
        """Only the sandbox's clients carry a CA bundle of their own."""
        return self.ca_bundle is not None

    @classmethod
    def for_target(cls, target: Target) -> DeployClients:
        ecs, ecr, elbv2, dynamodb = aws_endpoint(target).clients("ecs", "ecr", "elbv2",
                                                                 "dynamodb")
        trust = tls_files(sandbox_dir(target.project.root)).ca if target.sandbox else None
        return cls(ecs, ecr, elbv2, dynamodb, ca_bundle=trust)
