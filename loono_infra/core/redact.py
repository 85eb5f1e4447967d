"""Removing secrets from Terraform's plan documents before anything else reads or stores them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

REDACTED = "(redacted)"
_MIN_SECRET_LENGTH = 4


def _masked(value: Any, mask: Any) -> Iterator[Any]:
    """The values of value that mask (Terraform's *_sensitive shape) marks true."""
    if mask is True:
        yield value
    elif isinstance(mask, dict) and isinstance(value, dict):
        for key, sub in mask.items():
            yield from _masked(value.get(key), sub)
    elif isinstance(mask, list) and isinstance(value, list):
        for item, sub in zip(value, mask, strict=False):
            yield from _masked(item, sub)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def sensitive_values(document: dict[str, Any]) -> set[str]:
    """Every value a plan document marks sensitive (variables, resources, outputs)."""
    found: list[Any] = []
    declared = ((document.get("configuration") or {}).get("root_module") or {}).get(
        "variables") or {}
    for name, variable in (document.get("variables") or {}).items():
        if (declared.get(name) or {}).get("sensitive"):
            found.append(variable.get("value"))
    for change in [rc.get("change") or {} for rc in document.get("resource_changes") or []] + [
            oc for oc in (document.get("output_changes") or {}).values()]:
        for side in ("before", "after"):
            found.extend(_masked(change.get(side), change.get(f"{side}_sensitive")))
    return {leaf for value in found for leaf in _leaves(value) if len(leaf) >= _MIN_SECRET_LENGTH}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Text bound for humans with every known secret value (longest first) replaced."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len,
                         reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redacted_json(document: dict[str, Any], extra_secrets: set[str] | None = None) -> str:
    """The document as JSON with every sensitive value replaced by "(redacted)"."""
    text = json.dumps(document, sort_keys=True)
    for secret in sorted(sensitive_values(document) | (extra_secrets or set()), key=len,
                         reverse=True):
        text = text.replace(json.dumps(secret)[1:-1], REDACTED)
    return text
