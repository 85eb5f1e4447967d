"""The applied sandbox stack the deploy tests roll out on (tests/integration/conftest.py makes
one per test module: each module's deploys run beside the other's, on a sandbox of its own)."""

from __future__ import annotations

import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.core.settings import Settings
from loono_infra.sandbox.tls import tls_files

# The test images, by tag: (the test backend's mode, the version it serves).
IMAGES = {"v1": ("healthy", "1"), "v2": ("healthy", "2"), "crash": ("crash", "3"),
          "slow": ("slow", "4"), "unhealthy": ("unhealthy", "5"),
          "badapi": ("invalid-api", "6")}


@dataclass(frozen=True)
class Stack:
    project: Path
    settings: Settings
    aws: Any
    baseline: str  # the digest of the v1 image, which every test starts from
    local_image: str  # the local name of this module's test images

    def image(self, tag: str) -> str:
        """The local reference of one of this module's test images (IMAGES names them)."""
        return f"{self.local_image}:{tag}"

    def ecs_service(self) -> dict[str, Any]:
        return dict(self.aws("ecs").describe_services(
            cluster="loono-sbx", services=["loono-sbx"])["services"][0])

    def ecs_primary(self) -> dict[str, Any]:
        return next(d for d in self.ecs_service()["deployments"] if d["status"] == "PRIMARY")

    def assert_settled_on(self, task_definition: str) -> None:
        """The service ended on task_definition: one deployment, completed, every task
        running it (not only the PRIMARY pointer, which UpdateService moves at once)."""
        service = self.ecs_service()
        assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in
                service["deployments"]] == [("PRIMARY", task_definition, "COMPLETED")]
        assert service["runningCount"] == service["desiredCount"] == 1
        ecs = self.aws("ecs")
        arns = ecs.list_tasks(cluster="loono-sbx", serviceName="loono-sbx",
                              desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="loono-sbx", tasks=arns)["tasks"] if arns else []
        assert [t["taskDefinitionArn"] for t in tasks] == [task_definition]

    def revisions(self) -> int:
        return len(self.aws("ecs").list_task_definitions(familyPrefix="loono-sbx")[
            "taskDefinitionArns"])

    def serves(self, path: str) -> bytes:
        balancer = self.aws("elbv2").describe_load_balancers()["LoadBalancers"][0]
        trusted = ssl.create_default_context(
            cafile=str(tls_files(self.project / ".loono" / "sandbox").ca))
        with urllib.request.urlopen(f"https://{balancer['DNSName']}{path}", timeout=5,
                                    context=trusted) as answer:
            return bytes(answer.read())
