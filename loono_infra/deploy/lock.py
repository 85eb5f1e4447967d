"""One deploy of a service at a time: a lock item in the state's DynamoDB table, with an owner
and an expiry (a lock whose holder died is taken over once it expires)."""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from loono_infra.core.errors import DeployError, DeployLockedError


def lock_owner() -> str:
    """Who holds a lock: user@host, process and a unique suffix."""
    return f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"


class DeployLock:
    """A context manager that holds ``LockID = deploy/<cluster>/<service>`` in the lock table."""

    def __init__(self, dynamodb: Any, table: str, service: str, ttl_seconds: int,
                 owner: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self.key = f"loono-deploy/{service}"
        self.owner = owner or lock_owner()
        self._ttl = ttl_seconds
        self._clock = clock

    def acquire(self) -> None:
        now = int(self._clock())
        item = {"LockID": {"S": self.key}, "Owner": {"S": self.owner},
                "AcquiredAt": {"N": str(now)}, "ExpiresAt": {"N": str(now + self._ttl)}}
        try:
            self._dynamodb.put_item(
                TableName=self._table, Item=item,
                ConditionExpression="attribute_not_exists(LockID) OR ExpiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}})
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise DeployLockedError(self._held_message()) from error
            raise DeployError(f"deploy lock in table {self._table}: {error}") from error

    def release(self) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self._table, Key={"LockID": {"S": self.key}},
                ConditionExpression="#owner = :me", ExpressionAttributeNames={"#owner": "Owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}})
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise DeployError(f"releasing the deploy lock {self.key}: {error}") from error

    def _held_message(self) -> str:
        try:
            item = self._dynamodb.get_item(TableName=self._table,
                                           Key={"LockID": {"S": self.key}}).get("Item", {})
        except ClientError:
            item = {}
        holder = item.get("Owner", {}).get("S", "unknown")
        expires = item.get("ExpiresAt", {}).get("N")
        left = f", expires in {int(expires) - int(self._clock())} s" if expires else ""
        return f"another deploy of this service is running (lock {self.key} held by {holder}{left})"

    def __enter__(self) -> DeployLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def lock_holder(dynamodb: Any, table: str, service: str, now: float | None = None) -> str | None:
    """Who holds the deploy lock of service, for how long, and when it expires; None if free."""
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": f"loono-deploy/{service}"}},
                             ConsistentRead=True).get("Item")
    if not item:
        return None
    now = time.time() if now is None else now
    acquired = int(item.get("AcquiredAt", {}).get("N", now))
    expires = int(item.get("ExpiresAt", {}).get("N", now))
    left = f"expires in {expires - int(now)} s" if expires > now else "expired: the next deploy " \
        "takes it over"
    return f"held by {item.get('Owner', {}).get('S', 'unknown')} for {int(now) - acquired} s " \
        f"({left})"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
