"""A lock write whose answer was lost on the way back, retried: answered as the first time.

A deliberate departure from AWS, kept as narrow as it can be: real DynamoDB refuses such a
retry too (a conditional write is not idempotent), and Terraform then reports its own lock.

Under load the sandbox's HTTP server can process a request and lose its answer; the client's
SDK then sends the request again. For Terraform's state lock (a DynamoDB PutItem on the
condition that no lock exists) the retry fails its condition against the lock the first
attempt took, and Terraform reports its own fresh lock as another run's ("locked by Apply,
1 s ago") and leaves it behind. So a conditional PutItem whose item is already stored,
identical attribute for attribute (a lock carries a unique ID and time, so only a retry of the
same request matches), on the condition that no item exists yet (`attribute_not_exists`:
the lock pattern), succeeds as the first did; any other item or condition still fails, as on
AWS. Two runs locking together still refuse each other. The lost answers themselves are the
sandbox server's (moto's threaded werkzeug) under load, not found yet.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.exceptions import ConditionalCheckFailed
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType


def _stored_identical(backend: DynamoDBBackend, table_name: str,
                      item_attrs: dict[str, Any]) -> Any:
    """The stored item with exactly item_attrs, if there is one."""
    table = backend.get_table(table_name)
    hash_key = item_attrs.get(table.hash_key_attr)
    range_key = item_attrs.get(table.range_key_attr) if table.range_key_attr else None
    if hash_key is None or (table.range_key_attr and range_key is None):
        return None
    stored = table.get_item(DynamoType(hash_key),
                            DynamoType(range_key) if range_key is not None else None)
    if stored is not None and stored.to_json()["Attributes"] == item_attrs:
        return stored
    return None


def retried_conditional_writes_succeed_once_applied() -> None:
    """Installs the rule on moto's DynamoDB backend (once)."""
    original = DynamoDBBackend.put_item
    if getattr(original, "_loono_retries", False):
        return

    def put_item(self: DynamoDBBackend, table_name: str, item_attrs: dict[str, Any],
                 expected: Any = None, condition_expression: str | None = None,
                 *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, table_name, item_attrs, expected, condition_expression,
                            *args, **kwargs)
        except ConditionalCheckFailed:
            lock_pattern = "attribute_not_exists" in (condition_expression or "")
            stored = _stored_identical(self, table_name, item_attrs) if lock_pattern else None
            if stored is None:
                raise
            return stored

    put_item._loono_retries = True  # type: ignore[attr-defined]
    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
