"""Removing secrets from Terraform's plan documents and from text bound for humans.

Plan documents are redacted **by structure**: every value Terraform marks sensitive — with
`before_sensitive` / `after_sensitive` on resource changes, drift and outputs, `sensitive_values`
on planned and prior values, `sensitive` outputs and variables the configuration declares
sensitive — is replaced by "(redacted)", whatever its type (a number, a null, a list's items).
The result is valid JSON, no sensitive leaf survives and no other leaf changes.

Text for humans (comments, summaries, logs, Terraform's messages) gets a last net, `scrub`:
known secret values and their base64, URL-encoded and JSON-escaped forms are replaced.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "(redacted)"
_MIN_SECRET_LENGTH = 4  # shorter values are not scrubbed from free text (they would maul it)
_CHANGE_SIDES = (("before", "before_sensitive"), ("after", "after_sensitive"))


def mask_leaves(value: Any, mask: Any) -> Any:
    """value with every leaf the mask marks (Terraform's *_sensitive shape) redacted."""
    if mask is True:
        return _all_leaves(value)
    if isinstance(mask, dict) and isinstance(value, dict):
        return {k: mask_leaves(v, mask[k]) if k in mask else v for k, v in value.items()}
    if isinstance(mask, list) and isinstance(value, list):
        return [mask_leaves(v, mask[i]) if i < len(mask) else v for i, v in enumerate(value)]
    return value


def _all_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _all_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_all_leaves(v) for v in value]
    return REDACTED


def _redact_change(change: dict[str, Any]) -> None:
    for side, mask in _CHANGE_SIDES:
        if side in change:
            change[side] = mask_leaves(change[side], change.get(mask))


def _redact_module(module: dict[str, Any]) -> None:
    for resource in module.get("resources") or []:
        if "values" in resource:
            resource["values"] = mask_leaves(resource["values"], resource.get("sensitive_values"))
    for child in module.get("child_modules") or []:
        _redact_module(child)


def _redact_values(values: dict[str, Any]) -> None:
    """A planned_values / prior_state.values block: outputs and resources."""
    for output in (values.get("outputs") or {}).values():
        if output.get("sensitive"):
            output["value"] = _all_leaves(output.get("value"))
    _redact_module(values.get("root_module") or {})


def _sensitive_variables(document: dict[str, Any]) -> set[str]:
    declared = ((document.get("configuration") or {}).get("root_module") or {}).get(
        "variables") or {}
    return {name for name, variable in declared.items() if (variable or {}).get("sensitive")}


def redact_document(document: dict[str, Any], known_secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of a `show -json` document with every sensitive value redacted (by structure),
    and any string leaf that still holds a known secret redacted too."""
    redacted: dict[str, Any] = json.loads(json.dumps(document))
    secret_names = _sensitive_variables(redacted)
    for name, variable in (redacted.get("variables") or {}).items():
        if name in secret_names:
            variable["value"] = _all_leaves(variable.get("value"))
    for part in ("resource_changes", "resource_drift"):
        for item in redacted.get(part) or []:
            _redact_change(item.get("change") or {})
    for change in (redacted.get("output_changes") or {}).values():
        _redact_change(change)
    _redact_values(redacted.get("planned_values") or {})
    _redact_values((redacted.get("prior_state") or {}).get("values") or {})
    forms = _scrubbed_forms(known_secrets)  # once, not for every string of the document
    return _map_strings(redacted, lambda text: _without(text, forms)) if forms else redacted


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, change) for v in value]
    return change(value) if isinstance(value, str) else value


def redacted_json(document: dict[str, Any], extra_secrets: set[str] | None = None) -> str:
    """The document as JSON with every sensitive value replaced by "(redacted)"."""
    return json.dumps(redact_document(document, extra_secrets or ()), sort_keys=True)


def secret_forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as is, base64 (standard and URL-safe, with and
    without padding), URL-encoded and JSON-escaped."""
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret), *encoded, *(e.rstrip("=") for e in encoded)}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Text bound for humans with every known secret value, in every form, replaced."""
    return _without(text, _scrubbed_forms(secrets))


def _scrubbed_forms(secrets: Iterable[str]) -> list[str]:
    """Every form of every secret long enough to scrub, longest first (a form inside a longer
    one is replaced after it)."""
    forms = {form for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH
             for form in secret_forms(secret) if len(form) >= _MIN_SECRET_LENGTH}
    return sorted(forms, key=len, reverse=True)


def _without(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, REDACTED)
    return text
