"""Every Loono policy, through real Checkov: one fixture resource passes it, one fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.clients.checkov import CheckResult, Scan
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
POLICIES = PROJECT_ROOT / "policies"
EXPECTED = {
    "CKV2_LOONO_1": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV2_LOONO_2": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV2_LOONO_3": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV2_LOONO_4": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV2_LOONO_5": ("aws_ecs_service.pass_service", "aws_ecs_service.fail_service"),
    "CKV2_LOONO_6": ("aws_ecs_service.pass_service", "aws_ecs_service.fail_service"),
    "CKV2_LOONO_7": ("aws_lb_target_group.pass_tg", "aws_lb_target_group.fail_tg"),
    "CKV2_LOONO_8": ("aws_ecr_repository.pass_repo", "aws_ecr_repository.fail_repo"),
    "CKV2_LOONO_9": ("aws_ecr_repository.pass_repo", "aws_ecr_repository.fail_repo"),
    "CKV2_LOONO_10": ("aws_cloudwatch_log_group.pass_logs", "aws_cloudwatch_log_group.fail_logs"),
    "CKV_LOONO_11": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV_LOONO_12": ("aws_ecs_task_definition.pass_task", "aws_ecs_task_definition.fail_task"),
    "CKV_LOONO_13": ("aws_iam_role_policy_attachment.pass_log_reader",
                     "aws_iam_role_policy_attachment.fail_log_reader"),
    "CKV_LOONO_14": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV_LOONO_15": ("aws_iam_role_policy.pass_execution", "aws_iam_role_policy.fail_execution"),
    "CKV_LOONO_16": ("aws_db_instance.pass_db", "aws_db_instance.fail_db"),
    "CKV_LOONO_17": ("aws_sns_topic.pass_topic", "aws_sns_topic.fail_topic"),
    "CKV_LOONO_18": ("aws_iam_role.pass_trust", "aws_iam_role.fail_trust"),
    "CKV_LOONO_19": ("aws_subnet.pass_subnet", "aws_subnet.fail_subnet"),
    "CKV2_LOONO_20": ("aws_lb_target_group.pass_tg", "aws_lb_target_group.fail_tg"),
    "CKV_LOONO_21": ("aws_nat_gateway.pass_nat", "aws_nat_gateway.fail_nat"),
    "CKV2_LOONO_22": ("aws_db_instance.pass_exports_db", "aws_db_instance.fail_exports_db"),
}
# Checks with a second kind of resource they judge
MORE = {
    "CKV_LOONO_13": ("aws_iam_role_policy.pass_log_reader_inline",
                     "aws_iam_role_policy.fail_log_reader_inline"),
}


@pytest.fixture(scope="module")
def fixture_scan() -> Scan:
    checkov = ck.find_checkov(PROJECT_ROOT)
    return ck.run_checkov(ck.hcl_args(checkov, FIXTURES / "policies", POLICIES), "fixtures")


def _outcome(scan: Scan, check_id: str, resource: str) -> str | None:
    return next((r.outcome for r in scan.results
                 if r.check_id == check_id and r.resource == resource), None)


def test_every_own_policy_has_fixtures() -> None:
    assert set(EXPECTED) == ck.own_check_ids(POLICIES)


@pytest.mark.parametrize(("check_id", "pair"), [*EXPECTED.items(), *MORE.items()])
def test_policy_passes_and_fails_its_fixtures(fixture_scan: Scan, check_id: str,
                                              pair: tuple[str, str]) -> None:
    passing, failing = pair
    assert _outcome(fixture_scan, check_id, passing) == "passed"
    assert _outcome(fixture_scan, check_id, failing) == "failed"


@pytest.mark.parametrize("resource", ['aws_iam_role_policy.evading-log-reader',
                                      "aws_iam_role_policy.log_reader_wildcard"])
def test_log_reader_evasions_fail(fixture_scan: Scan, resource: str) -> None:
    assert _outcome(fixture_scan, "CKV_LOONO_13", resource) == "failed"


def test_inline_skips_carry_their_reason() -> None:
    checkov = ck.find_checkov(PROJECT_ROOT)
    scan = ck.run_checkov(ck.hcl_args(checkov, FIXTURES / "inline_skip", POLICIES), "skips")
    skipped: dict[str, CheckResult] = {r.resource: r for r in scan.results
                                       if r.outcome == "skipped"}
    assert skipped["aws_ecr_repository.skipped_with_reason"].skip_reason == (
        "mutable tags needed for the nightly build channel")
    assert skipped["aws_ecr_repository.skipped_without_reason"].skip_reason == ck.NO_REASON


def test_our_modules_use_no_inline_skip_without_reason() -> None:
    for path in (PROJECT_ROOT / "terraform" / "modules").rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert ":" in line.split("checkov:skip=", 1)[1], f"{path}: {line}"


def test_a_checkov_that_prints_garbage_or_crashes_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "checkov"
    broken.write_text("#!/bin/sh\necho 'Traceback: boom' >&2\nexit 2\n")
    broken.chmod(0o755)
    with pytest.raises(ck.CheckovError, match="crashed"):
        ck.run_checkov(ck.hcl_args(broken, FIXTURES / "policies", POLICIES), "fixtures")
    liar = tmp_path / "liar"
    liar.write_text("#!/bin/sh\necho 'all good'\nexit 0\n")
    liar.chmod(0o755)
    with pytest.raises(ck.CheckovError, match="not JSON"):
        ck.run_checkov(ck.hcl_args(liar, FIXTURES / "policies", POLICIES), "fixtures")
