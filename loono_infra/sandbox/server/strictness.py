"""What AWS refuses and moto accepts, refused by the sandbox too (each rule names the AWS
behaviour; tests/integration/test_fidelity.py covers each)."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend

_MARK = "_loono_strict"
ALB_SMALLEST_SUBNET_PREFIX = 27  # an ALB needs 8 free addresses in each subnet


def load_balancers_need_room_in_their_subnets() -> None:
    """CreateLoadBalancer fails with InvalidSubnet when a subnet is smaller than a /27."""
    original: Callable[..., Any] = ELBv2Backend.create_load_balancer
    if getattr(original, _MARK, False):
        return

    def create_load_balancer(self: ELBv2Backend, name: str, security_groups: list[str],
                             subnet_ids: list[str], *args: Any, **kwargs: Any) -> Any:
        ec2 = ec2_backends[self.account_id][self.region_name]
        for subnet_id in subnet_ids or []:
            block = ipaddress.ip_network(ec2.get_subnet(subnet_id).cidr_block)
            if block.prefixlen > ALB_SMALLEST_SUBNET_PREFIX:
                raise ELBClientError(
                    "InvalidSubnet", f"Not enough IP space available in {subnet_id}. ELB "
                                     "requires at least 8 free IP addresses in each subnet.")
        return original(self, name, security_groups, subnet_ids, *args, **kwargs)

    setattr(create_load_balancer, _MARK, True)
    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]


# RDS for PostgreSQL: per major version, the first and the last minor RDS released (a major
# alone, "16", is RDS's default minor of that major).
POSTGRES_MINORS = {11: (1, 22), 12: (2, 22), 13: (1, 20), 14: (1, 17), 15: (2, 12), 16: (1, 8),
                   17: (1, 4)}


def postgres_version_exists(version: str) -> bool:
    """RDS offers this PostgreSQL version ("16" or "16.4")."""
    major, _, minor = version.partition(".")
    if not major.isdigit() or int(major) not in POSTGRES_MINORS:
        return False
    if not minor:
        return True
    first, last = POSTGRES_MINORS[int(major)]
    return minor.isdigit() and first <= int(minor) <= last


def rds_refuses_unknown_engine_versions() -> None:
    """CreateDBInstance and ModifyDBInstance fail with InvalidParameterCombination ("Cannot find
    version 12.99 for postgres") for a PostgreSQL version RDS does not offer."""
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import RDSBackend

    create: Callable[..., Any] = RDSBackend.create_db_instance
    modify: Callable[..., Any] = RDSBackend.modify_db_instance
    if getattr(create, _MARK, False):
        return

    def refuse_unknown(kwargs: dict[str, Any], engine: str | None) -> None:
        version = kwargs.get("engine_version")
        if (engine or "").startswith("postgres") and version and not postgres_version_exists(
                str(version)):
            raise RDSClientError("InvalidParameterCombination",
                                 f"Cannot find version {version} for postgres")

    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        refuse_unknown(db_kwargs, db_kwargs.get("engine"))
        return create(self, db_kwargs)

    def modify_db_instance(self: RDSBackend, identifier: str, db_kwargs: dict[str, Any]) -> Any:
        current = self.databases.get(identifier)
        refuse_unknown(db_kwargs, getattr(current, "engine", None))
        return modify(self, identifier, db_kwargs)

    setattr(create_db_instance, _MARK, True)
    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.modify_db_instance = modify_db_instance  # type: ignore[method-assign,assignment]


CLOUDWATCH = "cloudwatch.amazonaws.com"
KEY_USES = ("kms:GenerateDataKey", "kms:Decrypt")  # what SNS needs of the publisher's key


def cloudwatch_may_use_key(account: str, region: str, key_id: str) -> bool:
    """The key's policy lets this account's CloudWatch encrypt for the topic. AWS managed
    keys (alias/aws/sns) never do: an alarm's notification to their topic fails silently."""
    from moto.kms.models import kms_backends

    kms = kms_backends[account][region]
    try:
        key = kms.describe_key(key_id)
    except (KeyError, TypeError):
        return False
    try:
        policy = json.loads(key.policy)
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    allowed = [s for s in statements if isinstance(s, dict) and _allows_cloudwatch(s, account)]
    return all(any(_grants(s, use) for s in allowed) for use in KEY_USES)


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]


def _allows_cloudwatch(statement: dict[str, Any], account: str) -> bool:
    principal = statement.get("Principal")
    services = _listed(principal.get("Service")) if isinstance(principal, dict) else []
    conditions = statement.get("Condition") or {}
    source = {value for test in conditions.values() if isinstance(test, dict)
              for key, value in test.items() if key.lower() == "aws:sourceaccount"}
    return (statement.get("Effect") == "Allow" and CLOUDWATCH in services
            and all(value == account for value in source))


def _grants(statement: dict[str, Any], use: str) -> bool:
    return any(fnmatch.fnmatchcase(use, pattern) or fnmatch.fnmatchcase(f"{use}*", pattern)
               for pattern in _listed(statement.get("Action")))
