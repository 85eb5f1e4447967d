"""The running service as ECS reports it, and one health check through its load balancer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from loono_infra.core.errors import DeployError
from loono_infra.core.settings import Settings
from loono_infra.deploy.acceptors import Observation
from loono_infra.deploy.checks import health_verdict, http_fetch
from loono_infra.deploy.clients import DeployClients
from loono_infra.deploy.lock import lock_holder
from loono_infra.deploy.service import EcsService, base_url, running_revision, service_ref
from loono_infra.deploy.taskdef import Families, image_of, latest_revision
from loono_infra.flow.targets import resolve_target

NOTHING_DEPLOYED = "no image deployed yet (the service has no tasks until the first deploy)"


@dataclass(frozen=True)
class ServiceStatus:
    """What runs now: revision, image and digest, the deployments, health, recent events."""

    environment: str
    service: str
    task_definition: str
    image: str
    digest: str | None
    rollout_state: str
    running: int
    desired: int
    deployments: list[str]
    health_url: str | None
    health: str
    events: list[str]
    deploy_lock: str | None = None  # a deploy under way, or one that died holding the lock

    @property
    def healthy(self) -> bool:
        return self.health == "healthy"

    @property
    def deployed(self) -> bool:
        """False until the first deploy: the service runs Terraform's template with no tasks."""
        return self.health != NOTHING_DEPLOYED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy, "deployed": self.deployed}


def service_status(settings: Settings, sandbox: bool | None = None,
                   clients: DeployClients | None = None) -> ServiceStatus:
    """The service's state as ECS reports it, and one health check through the load balancer."""
    clients = clients or DeployClients.for_target(resolve_target(settings, sandbox))
    service = EcsService(clients.ecs, service_ref(settings))
    seen = Observation(service.describe())
    primary = seen.primary or {}
    revision = running_revision(seen.service)
    families = Families(settings.name_prefix)
    on_template = not revision or families.is_template(revision)
    image = "" if on_template else image_of(clients.ecs, revision, settings.service.container_name)
    if not on_template:
        url, health = _health(settings, seen.service, clients)
    elif latest_revision(clients.ecs, families.deployed) is None:
        url, health = None, NOTHING_DEPLOYED
    else:  # e.g. a replaced service whose rollout failed: an outage, not a fresh environment
        url, health = None, ("no tasks: the service runs Terraform's template although "
                             f"{families.deployed} was deployed (apply or deploy to restore)")
    return ServiceStatus(
        environment=settings.environment, service=str(service.ref), task_definition=revision,
        image=image, digest=image.split("@", 1)[1] if "@" in image else None,
        rollout_state=str(primary.get("rolloutState", "UNKNOWN")),
        running=int(primary.get("runningCount", 0)), desired=int(primary.get("desiredCount", 0)),
        deployments=seen.summary().split("; "), health_url=url, health=health,
        events=[str(e.get("message", "")) for e in (seen.service.get("events") or [])[:5]],
        deploy_lock=lock_holder(clients.dynamodb, settings.state.lock_table, str(service.ref)))


def _health(settings: Settings, described: Mapping[str, Any],
            clients: DeployClients) -> tuple[str | None, str]:
    try:
        root = base_url(settings, described, clients.elbv2,
                        on_sandbox=clients.on_sandbox)
        url = root + settings.deploy.health_path
    except DeployError as error:
        return None, f"unknown ({error.message})"
    fetch = http_fetch(settings.deploy.request_timeout_seconds, clients.ca_bundle)
    verdict = health_verdict(fetch(url))
    return url, verdict or "healthy"
