"""Argument lists are built without Terraform."""

from __future__ import annotations

import pytest

from loono_infra.core.terraform import args


def test_plan_saves_a_file_with_json_and_detailed_exit_codes() -> None:
    built = args.plan_args(args.PlanOptions())
    assert built[0] == "plan"
    assert {"-input=false", "-json", "-detailed-exitcode", "-out=plan.tfplan"} <= set(built)
    assert "-refresh=false" not in built and "-destroy" not in built


@pytest.mark.parametrize(("options", "flag"), [
    (args.PlanOptions(mode="destroy"), "-destroy"),
    (args.PlanOptions(mode="refresh-only"), "-refresh-only"),
    (args.PlanOptions(refresh=False), "-refresh=false"),
    (args.PlanOptions(lock_timeout_seconds=5), "-lock-timeout=5s"),
])
def test_plan_options_become_flags(options: args.PlanOptions, flag: str) -> None:
    assert flag in args.plan_args(options)


def test_bad_plan_options_are_refused() -> None:
    with pytest.raises(ValueError):
        args.PlanOptions(mode="yolo")
    with pytest.raises(ValueError):
        args.PlanOptions(mode="refresh-only", refresh=False)


def test_apply_takes_exactly_the_plan_file_last() -> None:
    built = args.apply_args("plan.tfplan")
    assert built[0] == "apply" and built[-1] == "plan.tfplan" and "-auto-approve" not in built


def test_init_json_only_when_supported() -> None:
    assert "-json" in args.init_args(json_output=True)
    assert "-json" not in args.init_args(json_output=False)
    assert "-reconfigure" in args.init_args(json_output=False)


def test_show_and_validate_are_json() -> None:
    assert args.show_args("p") == ["show", "-json", "-no-color", "p"]
    assert "-json" in args.validate_args() and "-json" in args.version_args()
