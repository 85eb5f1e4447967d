"""Terraform type constraints of the root variables, read from the settings models.

Each root variable holds one settings section; its type is that section's model written as
Terraform types (str -> string, int -> number, bool -> bool, list -> list(...), dict -> map(...),
a model -> object({...})), so Terraform checks what it is given and reviewers see the shape.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

SCALARS: dict[Any, str] = {str: "string", int: "number", float: "number", bool: "bool"}


def terraform_type(annotation: Any, drop: frozenset[str] = frozenset(),
                   extra: dict[str, str] | None = None) -> str:
    """The Terraform type of a settings annotation; drop/extra adjust a model's attributes."""
    if annotation in SCALARS:
        return SCALARS[annotation]
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return SCALARS[type(arguments[0])]
    if origin in (Union, types.UnionType):
        return terraform_type(next(a for a in arguments if a is not type(None)))
    if origin is list:
        return f"list({terraform_type(arguments[0])})"
    if origin is dict:
        return f"map({terraform_type(arguments[1])})"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _object_type(annotation, drop, extra or {})
    raise TypeError(f"no Terraform type for {annotation!r}")


def _object_type(model: type[BaseModel], drop: frozenset[str], extra: dict[str, str]) -> str:
    attributes = {name: terraform_type(field.annotation)
                  for name, field in model.model_fields.items() if name not in drop}
    attributes |= extra
    return "object({" + ", ".join(f"{name} = {kind}" for name, kind in attributes.items()) + "})"
