"""The plan as the policy gate judges it: what the configuration decides, before and after apply.

A create plan and a re-plan of the same configuration describe a resource differently:

- attributes the provider computes (ids, ARNs, an RDS instance's CA) are unknown while the
  resource does not exist and known afterwards;
- optional-and-computed attributes the configuration leaves alone are filled in by the
  provider after apply: an `aws_security_group` reads back as `ingress` every rule that
  separate `aws_security_group_rule` resources manage;
- unset optional values are `null` in a create plan and `""`, `[]` or `{}` once the provider
  (SDKv2) has written them to state. Checkov reads `prefix_list_ids = null` as "a prefix
  list is set" and `[]` as "none", so CKV_AWS_260 passed a rule open to the world on port 80
  at create time and refused it after apply.

The judged view keeps, per resource, the attributes the configuration sets and the provider's
defaults, and drops the rest in the same way for every plan; an empty value and an absent
one are the same. The provider's schema (`terraform providers schema -json`) says which
attributes are computed; `shapes_from_schema` reduces it to what this module needs.
Pure: no process, no file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_INDEX = re.compile(r"\[[^\]]*\]")
_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class Shape:
    """One resource type's (or nested block's) attributes the configuration does not decide."""

    computed: frozenset[str] = frozenset()  # set only by the provider (id, arn, ...)
    provider_chosen: frozenset[str] = frozenset()  # optional + computed: the provider's unless set
    blocks: dict[str, Shape] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"computed": sorted(self.computed), "provider_chosen": sorted(self.provider_chosen),
                "blocks": {name: shape.to_json() for name, shape in sorted(self.blocks.items())}}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Shape:
        return cls(frozenset(raw["computed"]), frozenset(raw["provider_chosen"]),
                   {name: cls.from_json(sub) for name, sub in raw["blocks"].items()})


def _shape_of_block(block: dict[str, Any]) -> Shape:
    attributes = block.get("attributes") or {}
    computed = {name for name, a in attributes.items()
                if a.get("computed") and not a.get("optional") and not a.get("required")}
    chosen = {name for name, a in attributes.items() if a.get("computed") and a.get("optional")}
    blocks = {name: _shape_of_block(nested.get("block") or {})
              for name, nested in (block.get("block_types") or {}).items()}
    return Shape(frozenset(computed), frozenset(chosen), blocks)


def shapes_from_schema(schema: dict[str, Any]) -> dict[str, Shape]:
    """Resource type -> Shape, from `terraform providers schema -json`."""
    shapes: dict[str, Shape] = {}
    for provider in (schema.get("provider_schemas") or {}).values():
        for resource_type, resource in (provider.get("resource_schemas") or {}).items():
            shapes[resource_type] = _shape_of_block(resource.get("block") or {})
    return shapes


def without_index(address: str) -> str:
    """module.a.aws_x.y["k"] -> module.a.aws_x.y (configuration addresses carry no index)."""
    return _INDEX.sub("", address)


def _configured_resources(module: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for resource in module.get("resources") or []:
        yield prefix + resource["address"], resource.get("expressions") or {}
    for name, call in (module.get("module_calls") or {}).items():
        yield from _configured_resources(call.get("module") or {}, f"{prefix}module.{name}.")


def configured_expressions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Configuration address -> the expressions its configuration sets."""
    root = (document.get("configuration") or {}).get("root_module") or {}
    return dict(_configured_resources(root, ""))


def _is_empty(value: Any) -> bool:
    return any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY)


def _without_empties(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empties(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _is_empty(v)}
    if isinstance(value, list):
        return [_without_empties(item) for item in value]
    return value


def _first_configured(expressions: Any) -> dict[str, Any] | None:
    if isinstance(expressions, list) and expressions and isinstance(expressions[0], dict):
        return expressions[0]
    return None


def judged_values(values: dict[str, Any], shape: Shape,
                  configured: dict[str, Any] | None) -> dict[str, Any]:
    """A resource's values as judged: configured attributes and defaults; no computed ones."""
    judged: dict[str, Any] = {}
    for key, value in values.items():
        if key in shape.computed:
            continue
        if key in shape.provider_chosen and (configured is None or key not in configured):
            continue
        if key in shape.blocks and isinstance(value, list):
            nested = _first_configured((configured or {}).get(key))
            value = [judged_values(item, shape.blocks[key], nested) if isinstance(item, dict)
                     else item for item in value]
        value = _without_empties(value)
        if not _is_empty(value):
            judged[key] = value
    return judged


def _judged(resource: dict[str, Any], values: Any, shapes: dict[str, Shape],
            configured: dict[str, dict[str, Any]]) -> Any:
    """A managed resource's values as judged (anything else unchanged)."""
    shape = shapes.get(str(resource.get("type")))
    if shape is None or not isinstance(values, dict) or resource.get("mode") == "data":
        return values
    address = without_index(str(resource.get("address")))
    return judged_values(values, shape, configured.get(address))


def _planned_resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _planned_resources(child)


def resource_types(document: dict[str, Any]) -> set[str]:
    """The resource types whose shapes judged_view looks up in document."""
    root = (document.get("planned_values") or {}).get("root_module") or {}
    return {str(item.get("type")) for item in [*_planned_resources(root),
                                               *(document.get("resource_changes") or [])]}


_NOT_JUDGED = frozenset({"resource_drift", "prior_state", "timestamp", "relevant_attributes"})


def judged_view(document: dict[str, Any], shapes: dict[str, Shape]) -> dict[str, Any]:
    """A copy of a `show -json` document whose planned values are the judged values, without
    what was read back and what differs on every identical re-plan (left out before copying:
    the prior state is about half of a changed plan's document)."""
    view = copy.deepcopy({k: v for k, v in document.items() if k not in _NOT_JUDGED})
    configured = configured_expressions(view)
    root = (view.get("planned_values") or {}).get("root_module") or {}
    for resource in _planned_resources(root):
        if "values" in resource:
            resource["values"] = _judged(resource, resource["values"], shapes, configured)
    for change in view.get("resource_changes") or []:
        body = change.get("change")
        if isinstance(body, dict) and "after" in body:
            body["after"] = _judged(change, body["after"], shapes, configured)
    return view
