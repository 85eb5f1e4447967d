"""Points the sandbox's AWS at its local parts: ECR at the registry, ALBs at local proxies.

Installed only inside the sandbox process, after the registry and the balancers exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.models import Repository
from moto.ecr.responses import ECRResponse
from moto.elbv2.models import ELBv2Backend

from loono_infra.sandbox.balancer import Balancers
from loono_infra.sandbox.registry import RegistryInfo

SANDBOX_ACCOUNT = "123456789012"
SANDBOX_REGISTRY_PASSWORD = f"{SANDBOX_ACCOUNT}-auth-token"  # what moto's ECR hands out
TOKEN_LIFETIME = timedelta(hours=12)


def ecr_lives_in_registry(registry: RegistryInfo) -> None:
    """Repository URIs name the sandbox registry; tokens point at it and last 12 hours."""
    original_init: Callable[..., None] = Repository.__init__
    original_token: Callable[[ECRResponse], ActionResult] = ECRResponse.get_authorization_token

    def init(self: Repository, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.uri = f"{registry.address}/{self.name}"

    def get_authorization_token(self: ECRResponse) -> ActionResult:
        result = original_token(self)
        expires = datetime.now(UTC) + TOKEN_LIFETIME
        for data in result.result["authorizationData"]:  # type: ignore[index]
            data["proxyEndpoint"] = f"http://{registry.address}"
            data["expiresAt"] = expires
        return result

    Repository.__init__ = init  # type: ignore[method-assign]
    ECRResponse.get_authorization_token = get_authorization_token  # type: ignore[method-assign]


def load_balancers_are_local_proxies(balancers: Balancers) -> None:
    """Each new ALB gets a proxy on 127.0.0.1; its DNS name is the proxy's address."""
    original: Callable[..., Any] = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        load_balancer = original(self, *args, **kwargs)
        load_balancer.dns_name = balancers.open(load_balancer.arn)
        return load_balancer

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
