"""The judged view of a plan: the same configuration judged the same before and after apply."""

from __future__ import annotations

import copy
from typing import Any

from loono_infra.gates.policy.plan_view import (
    Shape,
    judged_values,
    judged_view,
    resource_types,
    shapes_from_schema,
)

SCHEMA = {"provider_schemas": {"aws": {"resource_schemas": {
    "aws_security_group": {"block": {"attributes": {
        "id": {"type": "string", "optional": True, "computed": True},
        "arn": {"type": "string", "computed": True},
        "name": {"type": "string", "optional": True},
        "ingress": {"type": ["set", ["object", {}]], "optional": True, "computed": True},
    }}},
    "aws_security_group_rule": {"block": {"attributes": {
        "type": {"type": "string", "required": True},
        "from_port": {"type": "number", "required": True},
        "cidr_blocks": {"type": ["list", "string"], "optional": True},
        "prefix_list_ids": {"type": ["list", "string"], "optional": True},
        "security_group_id": {"type": "string", "required": True},
    }}},
    "aws_lb_target_group": {"block": {"attributes": {
        "port": {"type": "number", "optional": True},
    }, "block_types": {"health_check": {"nesting_mode": "list", "block": {"attributes": {
        "path": {"type": "string", "optional": True, "computed": True},
        "protocol": {"type": "string", "optional": True},
    }}}}}},
}}}}
SHAPES = shapes_from_schema(SCHEMA)
RULE = {"type": "ingress", "from_port": 80, "cidr_blocks": ["0.0.0.0/0"],
        "security_group_id": "sg-1"}


def _document(values: dict[str, dict[str, Any]], expressions: dict[str, Any]) -> dict[str, Any]:
    resources = [{"address": f"module.n.{name}", "mode": "managed", "type": name.split(".")[0],
                  "name": name.split(".")[1], "values": dict(v)} for name, v in values.items()]
    changes = [{"address": r["address"], "mode": "managed", "type": r["type"],
                "change": {"actions": ["no-op"], "before": dict(r["values"]),
                           "after": dict(r["values"])}} for r in resources]
    configured = [{"address": name, "expressions": expressions.get(name, {})} for name in values]
    return {"planned_values": {"root_module": {"child_modules": [
                {"address": "module.n", "resources": resources}]}},
            "resource_changes": changes, "resource_drift": [{"address": "x"}],
            "timestamp": "2026-11-27T00:00:00Z",
            "configuration": {"root_module": {"module_calls": {"n": {"module": {
                "resources": configured}}}}}}


def test_null_and_empty_collections_judge_alike() -> None:
    create = _document({"aws_security_group_rule.r": {**RULE, "prefix_list_ids": None}}, {})
    after = _document({"aws_security_group_rule.r": {**RULE, "prefix_list_ids": []}}, {})
    assert judged_view(create, SHAPES)["planned_values"] == \
        judged_view(after, SHAPES)["planned_values"]
    values = judged_view(after, SHAPES)["planned_values"]["root_module"]["child_modules"][0][
        "resources"][0]["values"]
    assert "prefix_list_ids" not in values and values["cidr_blocks"] == ["0.0.0.0/0"]


def test_rules_read_back_into_a_group_are_not_the_group_s_configuration() -> None:
    read_back = {"id": "sg-1", "arn": "arn:x", "name": "lb",
                 "ingress": [{"from_port": 80, "cidr_blocks": ["0.0.0.0/0"]}]}
    view = judged_view(_document({"aws_security_group.g": read_back},
                                 {"aws_security_group.g": {"name": {}}}), SHAPES)
    group = view["planned_values"]["root_module"]["child_modules"][0]["resources"][0]
    assert group["values"] == {"name": "lb"}
    assert view["resource_changes"][0]["change"]["after"] == {"name": "lb"}
    assert "resource_drift" not in view and "timestamp" not in view


def test_inline_rules_the_configuration_sets_are_kept() -> None:
    inline = {"name": "lb", "ingress": [{"from_port": 80, "cidr_blocks": ["0.0.0.0/0"]}]}
    view = judged_view(_document({"aws_security_group.g": inline},
                                 {"aws_security_group.g": {"name": {}, "ingress": {}}}), SHAPES)
    group = view["planned_values"]["root_module"]["child_modules"][0]["resources"][0]
    assert group["values"]["ingress"] == inline["ingress"]


def test_nested_blocks_follow_their_own_schema() -> None:
    values = {"port": 8080, "health_check": [{"path": "/health", "protocol": "HTTP"}]}
    configured = {"health_check": [{"protocol": {}}]}
    judged = judged_values(values, SHAPES["aws_lb_target_group"], configured)
    assert judged == {"port": 8080, "health_check": [{"protocol": "HTTP"}]}


def test_unknown_types_and_the_original_document_are_left_alone() -> None:
    document = _document({"aws_other.x": {"a": None, "b": 1}}, {})
    before = copy.deepcopy(document)
    view = judged_view(document, SHAPES)
    assert document == before
    assert view["planned_values"]["root_module"]["child_modules"][0]["resources"][0][
        "values"] == {"a": None, "b": 1}


def test_shapes_round_trip_through_json() -> None:
    shape = SHAPES["aws_lb_target_group"]
    assert Shape.from_json(shape.to_json()) == shape
    assert SHAPES["aws_security_group"].computed == frozenset({"arn"})
    assert SHAPES["aws_security_group"].provider_chosen == frozenset({"id", "ingress"})


def test_the_shapes_of_the_documents_own_types_judge_as_all_shapes_do() -> None:
    document = _document({"aws_security_group.g": {"id": "sg-1", "arn": "a", "name": "web"},
                          "aws_security_group_rule.r": RULE}, {})
    types = resource_types(document)
    assert types == {"aws_security_group", "aws_security_group_rule"}
    own = {name: shape for name, shape in SHAPES.items() if name in types}  # as the cache reads
    assert set(SHAPES) - set(own) == {"aws_lb_target_group"}
    assert judged_view(document, SHAPES) != judged_view(document, {})  # shapes matter here ...
    assert judged_view(document, own) == judged_view(document, SHAPES)  # ... only the own types'


def test_the_judged_view_leaves_its_document_as_it_was_and_drops_the_prior_state() -> None:
    read_back = {"id": "sg-1", "arn": "arn:x", "name": "lb"}
    document = {**_document({"aws_security_group.g": read_back},
                            {"aws_security_group.g": {"name": {}}}),
                "prior_state": {"values": {"root_module": {}}}, "relevant_attributes": []}
    before = copy.deepcopy(document)
    view = judged_view(document, SHAPES)
    assert document == before
    assert not {"prior_state", "relevant_attributes", "resource_drift", "timestamp"} & set(view)
    assert view["configuration"] == document["configuration"]
    assert view["configuration"] is not document["configuration"]
