"""Drift in a plan document: what changed outside Terraform, told apart from read-back values.

Terraform's refresh also lists values nobody changed by hand: computed ones (a timestamp, an
association id), ones other resources of the stack manage (security group rules, policy
attachments, routes) and empty values the provider 3.x reads back in another shape (null for
[] or {}). Only a change to an attribute the configuration sets is drift; the rest is listed
apart. Pure: reads `show -json` documents only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_EMPTY: tuple[Any, ...] = (None, "", [], {}, 0, False)


@dataclass(frozen=True)
class DriftedResource:
    """One resource changed outside Terraform, and the attributes that differ."""

    address: str
    action: str
    attributes: tuple[str, ...]


def changed_attributes(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose values differ, where an empty value equals any other empty value."""
    if _is_empty(before) and _is_empty(after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        return [path for key in sorted(set(before) | set(after))
                for path in changed_attributes(before.get(key), after.get(key),
                                               f"{prefix}{key}.")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [path for index, (old, new) in enumerate(zip(before, after, strict=True))
                for path in changed_attributes(old, new, f"{prefix}{index}.")]
    return [] if before == after else [prefix.rstrip(".") or "(whole resource)"]


def _is_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_empty(v) for v in value)
    return any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY)


_INDEX = re.compile(r"\[[^\]]*\]")
ALWAYS_CONFIGURED = frozenset({"tags_all"})  # the provider's default_tags merged with tags


def configured_attributes(module: Mapping[str, Any], prefix: str = "") -> dict[str, set[str]]:
    """Resource address (no instance keys) -> the attributes the configuration sets."""
    found = {f"{prefix}{r['address']}": set(r.get("expressions") or {}) | ALWAYS_CONFIGURED
             for r in module.get("resources", [])}
    for name, call in (module.get("module_calls") or {}).items():
        found |= configured_attributes(call.get("module") or {}, f"{prefix}module.{name}.")
    return found


def classify(resource_drift: list[dict[str, Any]], configured: Mapping[str, set[str]] | None = None,
             ) -> tuple[list[DriftedResource], list[str]]:
    """(drift of configured attributes, addresses whose differences are not drift)."""
    real: list[DriftedResource] = []
    other: list[str] = []
    for item in resource_drift:
        change = item.get("change") or {}
        action = ",".join(change.get("actions") or [])
        attributes = changed_attributes(change.get("before"), change.get("after"))
        if configured is not None:
            managed = configured.get(_INDEX.sub("", str(item["address"])), set())
            attributes = [a for a in attributes if a.split(".", 1)[0] in managed]
        if attributes or action in ("delete", "create"):
            real.append(DriftedResource(str(item["address"]), action, tuple(attributes)))
        else:
            other.append(str(item["address"]))
    return real, other


def classify_document(document: Mapping[str, Any]) -> tuple[list[DriftedResource], list[str]]:
    """classify() over a `show -json` document's resource_drift and configuration."""
    configuration = (document.get("configuration") or {}).get("root_module") or {}
    return classify(list(document.get("resource_drift") or []),
                    configured_attributes(configuration))
