"""The sandbox ECS agent's secrets: a task definition's `secrets` resolved as ECS does.

Each `valueFrom` (a Secrets Manager ARN, full or partial, optionally `:json-key:stage:version`,
or an SSM parameter ARN or name) is read from the sandbox's own Secrets Manager and SSM — but
only if the task's *execution role* may read it: its inline and attached policies are evaluated
(Allow matches action and resource, an explicit Deny wins). A missing secret or a denied read
stops the task with ECS's ResourceInitializationError, which the deploy quotes.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator
from typing import Any

ACCOUNT = "123456789012"
_PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: "


class SecretError(Exception):
    """A secret the task needs could not be read; the message is ECS's stoppedReason."""


def resolve(container: dict[str, Any], execution_role_arn: str | None,
            region: str) -> dict[str, str]:
    """Environment name -> value for every `secrets` entry of a container definition."""
    resolved = {}
    for item in container.get("secrets") or []:
        resolved[str(item["name"])] = _read(str(item["valueFrom"]), execution_role_arn, region)
    return resolved


def _read(value_from: str, role_arn: str | None, region: str) -> str:
    if ":secretsmanager:" in value_from:
        return _secret(value_from, role_arn, region)
    return _parameter(value_from, role_arn, region)


def _secret(value_from: str, role_arn: str | None, region: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = value_from.split(":")
    secret_id, json_key = ":".join(parts[:7]), parts[7] if len(parts) > 7 else ""
    name = parts[6] if len(parts) > 6 else value_from
    backend = secretsmanager_backends[ACCOUNT][region]
    try:
        answer = backend.get_secret_value(name, None, None)  # type: ignore[arg-type]
    except Exception:  # moto raises its own SecretNotFoundException (a plain AWS error)
        raise SecretError(f"{_PREFIX}execution resource retrieval failed: unable to retrieve "
                          f"secret from asm: ResourceNotFoundException: Secrets Manager can't "
                          f"find the specified secret. (secret {secret_id})") from None
    _require(role_arn, "secretsmanager:GetSecretValue", str(answer["ARN"]), "asm")
    text = str(answer.get("SecretString") or "")
    if not json_key:
        return text
    try:
        value = json.loads(text)[json_key]
        if value is None:
            raise KeyError(json_key)
        return str(value)
    except (ValueError, KeyError, TypeError):
        raise SecretError(f"{_PREFIX}execution resource retrieval failed: unable to retrieve "
                          f"secret from asm: the secret {secret_id} has no JSON key "
                          f"{json_key!r}") from None


def _parameter(value_from: str, role_arn: str | None, region: str) -> str:
    from moto.ssm.models import ssm_backends

    name = value_from.split(":parameter", 1)[-1] if value_from.startswith("arn:") else value_from
    arn = f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{name if name.startswith('/') else '/' + name}"
    parameter = ssm_backends[ACCOUNT][region].get_parameter(name)
    if parameter is None:
        raise SecretError(f"{_PREFIX}execution resource retrieval failed: unable to retrieve "
                          f"secrets from ssm: invalid parameters: {name}")
    _require(role_arn, "ssm:GetParameters", arn, "ssm")
    return str(parameter.decrypt(parameter.value) or "")


def _require(role_arn: str | None, action: str, resource: str, service: str) -> None:
    role = (role_arn or "").rsplit("/", 1)[-1]
    if not role or not allowed(_documents(role), action, resource):
        principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role or '(no execution role)'}/task"
        raise SecretError(
            f"{_PREFIX}execution resource retrieval failed: unable to retrieve secret from "
            f"{service}: AccessDeniedException: User: {principal} is not authorized to perform: "
            f"{action} on resource: {resource}")


def _documents(role_name: str) -> list[dict[str, Any]]:
    """The role's inline and attached policy documents (empty when the role is unknown)."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[ACCOUNT]["global"].get_role(role_name)
    except Exception:  # moto's IAMNotFoundException
        return []
    texts = [*role.policies.values(),
             *(_default_document(policy) for policy in role.managed_policies.values())]
    documents = []
    for text in texts:
        try:
            documents.append(json.loads(text) if isinstance(text, str) else dict(text))
        except (ValueError, TypeError):
            continue
    return documents


def _default_document(policy: Any) -> str:
    versions = [v for v in getattr(policy, "versions", []) if getattr(v, "is_default", False)]
    return str(versions[0].document) if versions else "{}"


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v is not None]


def _statements(documents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for document in documents:
        statements = document.get("Statement") or []
        yield from (statements if isinstance(statements, list) else [statements])


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    actions = _listed(statement.get("Action"))
    resources = _listed(statement.get("Resource"))
    return (any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources))


def allowed(documents: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM's verdict for one action on one resource: an explicit Deny wins, else an Allow."""
    matching = [s for s in _statements(documents) if _matches(s, action, resource)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)
