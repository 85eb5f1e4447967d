"""Points the sandbox's AWS at its local parts: ECR at the registry, ALBs at local proxies,
RDS instances at PostgreSQL servers.

Installed only inside the sandbox process, after the registry and the balancers exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import docker.errors
from moto.core.responses import ActionResult
from moto.ecr.models import Repository
from moto.ecr.responses import ECRResponse
from moto.elbv2.models import ELBv2Backend
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend

from loono_infra.core.errors import SandboxError
from loono_infra.sandbox.server.balancer import Balancers, ListenerLookup, ListenerView
from loono_infra.sandbox.server.databases import DatabaseRequest, DatabaseServers
from loono_infra.sandbox.server.registry import RegistryInfo

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
    """Each ALB gets a loopback address (its DNS name); each listener a server on its port."""
    original_create: Callable[..., Any] = ELBv2Backend.create_load_balancer
    original_delete: Callable[..., Any] = ELBv2Backend.delete_load_balancer
    original_listener: Callable[..., Any] = ELBv2Backend.create_listener
    original_delete_listener: Callable[..., Any] = ELBv2Backend.delete_listener

    def create_load_balancer(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        load_balancer = original_create(self, *args, **kwargs)
        load_balancer.dns_name = balancers.open(load_balancer.arn)
        return load_balancer

    def delete_load_balancer(self: ELBv2Backend, arn: str) -> None:
        original_delete(self, arn)
        balancers.close_balancer(arn)

    def create_listener(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        listener = original_listener(self, *args, **kwargs)
        balancers.open_listener(listener.load_balancer_arn, int(listener.port),
                                _lookup(self, listener.load_balancer_arn, listener.arn))
        return listener

    def delete_listener(self: ELBv2Backend, listener_arn: str) -> Any:
        listener = original_delete_listener(self, listener_arn)
        balancers.close_listener(listener.load_balancer_arn, int(listener.port))
        return listener

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
    ELBv2Backend.delete_load_balancer = delete_load_balancer  # type: ignore[method-assign]
    ELBv2Backend.create_listener = create_listener  # type: ignore[method-assign]
    ELBv2Backend.delete_listener = delete_listener  # type: ignore[method-assign]


def _lookup(backend: ELBv2Backend, load_balancer_arn: str, listener_arn: str) -> ListenerLookup:
    """Reads the listener as the sandbox's ELBv2 holds it now (it may have been modified)."""

    def lookup() -> ListenerView | None:
        balancer = backend.load_balancers.get(load_balancer_arn)
        listener = balancer.listeners.get(listener_arn) if balancer else None
        if listener is None:
            return None
        actions = listener.default_actions or []
        first = actions[0].data if actions else {}
        certificate, key = _certificate(backend, listener.certificate)
        return ListenerView(
            protocol=listener.protocol, ssl_policy=listener.ssl_policy, certificate=certificate,
            key=key, redirect=first.get("RedirectConfig") if first.get("Type") == "redirect"
            else None, forwards_to=_forward_target(first))

    return lookup


def _forward_target(action: dict[str, Any]) -> str | None:
    """The target group a forward action sends to (TargetGroupArn, or ForwardConfig's first)."""
    if action.get("Type") != "forward":
        return None
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{}]
    found = action.get("TargetGroupArn") or groups[0].get("TargetGroupArn")
    return str(found) if found else None


def _certificate(backend: ELBv2Backend, arn: str | None) -> tuple[bytes | None, bytes | None]:
    """The certificate (with its chain) and private key ACM holds for arn."""
    from moto.acm.exceptions import CertificateNotFound
    from moto.acm.models import acm_backends

    if not arn:
        return None, None
    try:
        bundle = acm_backends[backend.account_id][backend.region_name].get_certificate(arn)
    except CertificateNotFound:
        return None, None
    chain = bundle.chain or b""
    return bundle.cert + (b"\n" + chain if chain else b""), bundle.key


def rds_instances_run_postgres(servers: DatabaseServers) -> None:
    """A PostgreSQL instance gets a real server at its endpoint; deleting it removes it."""
    original_create: Callable[..., Any] = RDSBackend.create_db_instance
    original_delete: Callable[..., Any] = RDSBackend.delete_db_instance

    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        database = original_create(self, db_kwargs)
        if str(database.engine).startswith("postgres") and database.master_username:
            try:
                servers.start(DatabaseRequest(
                    database.db_instance_identifier, database.address, int(database.port),
                    database.master_username, str(db_kwargs.get("master_user_password") or ""),
                    database.db_name))
            except (SandboxError, docker.errors.DockerException) as error:
                self.databases.pop(database.db_instance_identifier, None)
                raise RDSClientError("InternalFailure", f"sandbox: {error}") from error
        return database

    def delete_db_instance(self: RDSBackend, db_instance_identifier: str,
                           *args: Any, **kwargs: Any) -> Any:
        deleted = original_delete(self, db_instance_identifier, *args, **kwargs)
        servers.remove(db_instance_identifier)
        return deleted

    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
