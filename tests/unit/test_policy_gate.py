"""The policy gate's pure parts: levels, overrides, every failure collected, fail closed."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.clients.checkov import CheckResult, Scan
from loono_infra.core.decision import Decision
from loono_infra.core.errors import GateRefusedError, SettingsError
from loono_infra.core.plans import normalized_plan
from loono_infra.core.settings import Settings, load_settings
from loono_infra.core.terraform.models import ChangeSummary
from loono_infra.flow.pipeline import Plan, require_passed_decision
from loono_infra.gates.policy.enforcement import CheckLevel, Enforcement, load_enforcement
from loono_infra.gates.policy.evaluate import check_override_resources, evaluate
from loono_infra.reports.markdown import decision_markdown
from loono_infra.reports.terminal import decision_text
from tests.conftest import PROJECT_ROOT

TODAY = datetime.date(2026, 11, 26)
RDS = "module.rds.aws_db_instance.this"
ENFORCEMENT = Enforcement("soft-mandatory", {
    "CKV2_LOONO_1": CheckLevel("hard-mandatory", {}, ""),
    "CKV_LOONO_14": CheckLevel("soft-mandatory", {}, ""),
    "CKV2_LOONO_4": CheckLevel("advisory", {"production": "hard-mandatory"}, "r"),
    "CKV_AWS_91": CheckLevel("advisory", {}, "no bucket"),
}, "enforcement.toml")


def failed(check_id: str, resource: str = RDS) -> CheckResult:
    return CheckResult(check_id, f"name of {check_id}", resource, "failed", None, None)


def settings_with(overrides: list[dict[str, Any]], env: str = "production") -> Settings:
    data = load_settings(PROJECT_ROOT / "environments" / "production.toml").model_dump()
    data["environment"] = env
    data["policy"] = {"overrides": overrides}
    return Settings.model_validate(data)


def override(check: str = "CKV_LOONO_14", **changes: Any) -> dict[str, Any]:
    return {"check": check, "resource": RDS, "reason": "upgrade planned",
            "expires": datetime.date(2027, 3, 31), **changes}


def decide(results: list[CheckResult], overrides: list[dict[str, Any]],
           env: str = "production") -> Decision:
    scan = Scan(tuple(results), 52)
    return evaluate(settings_with(overrides, env), "sha256:x", scan, Scan((), 47), ENFORCEMENT,
                    TODAY, "terraform/modules")


def test_clean_plan_passes() -> None:
    assert decide([], []).passed


def test_hard_mandatory_blocks_and_names_the_check() -> None:
    decision = decide([failed("CKV2_LOONO_1")], [])
    assert not decision.passed
    assert "CKV2_LOONO_1" in decision.failures[0].message and RDS in decision.failures[0].message


def test_soft_mandatory_blocks_unless_overridden_with_reason_and_date() -> None:
    assert not decide([failed("CKV_LOONO_14")], []).passed
    decision = decide([failed("CKV_LOONO_14")], [override()])
    assert decision.passed and decision.findings[0].overridden_by == "upgrade planned"


@pytest.mark.parametrize(("changes", "message"), [
    ({"expires": datetime.date(2026, 11, 25)}, "expired on 2026-11-25"),
    ({"reason": "  "}, "has no reason"),
    ({"check": "CKV2_LOONO_1"}, "hard-mandatory and cannot be overridden"),
])
def test_bad_overrides_are_failures(changes: dict[str, Any], message: str) -> None:
    decision = decide([failed("CKV_LOONO_14"), failed("CKV2_LOONO_1")], [override(**changes)])
    assert not decision.passed
    assert any(message in f.message for f in decision.failures)


def test_every_failure_is_collected_not_only_the_first() -> None:
    decision = decide([failed("CKV2_LOONO_1"), failed("CKV_LOONO_14"), failed("CKV_NEW_1")],
                      [override(expires=datetime.date(2020, 1, 1))])
    kinds = sorted(f.kind for f in decision.failures)
    assert kinds == ["check", "check", "check", "override"]
    assert any("CKV_NEW_1 (soft-mandatory)" in f.message for f in decision.failures)


def test_levels_differ_per_environment_and_advisory_never_blocks() -> None:
    assert not decide([failed("CKV2_LOONO_4")], []).passed
    assert decide([failed("CKV2_LOONO_4"), failed("CKV_AWS_91")], [], env="sandbox").passed


def test_inline_skip_without_reason_blocks() -> None:
    skipped = CheckResult("CKV2_LOONO_9", "n", "aws_ecr_repository.x", "skipped", "/ecr/main.tf",
                          (1, 5), ck.NO_REASON)
    decision = decide([skipped], [])
    assert [f.kind for f in decision.failures] == ["inline-skip"]


def test_plan_findings_are_mapped_to_module_files() -> None:
    module_result = CheckResult("CKV2_LOONO_1", "n", "aws_db_instance.this", "passed",
                                "/rds/main.tf", (25, 54))
    decision = evaluate(settings_with([]), "sha256:x", Scan((failed("CKV2_LOONO_1"),), 52),
                        Scan((module_result,), 47), ENFORCEMENT, TODAY, "terraform/modules")
    assert decision.findings[0].file == "terraform/modules/rds/main.tf"
    assert decision.findings[0].lines == (25, 54)


def test_override_of_a_resource_not_in_the_plan_is_a_settings_error() -> None:
    settings = settings_with([override(resource="module.rds.aws_db_instance.typo")])
    with pytest.raises(SettingsError) as caught:
        check_override_resources(settings, {RDS})
    assert caught.value.problems[0].field == "policy.overrides[0].resource"


def test_an_override_date_that_is_not_a_date_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="expires"):
        settings_with([override(expires="next spring")])


@pytest.mark.parametrize(("stdout", "message"), [
    ("Traceback (most recent call last)", "not JSON"),
    (json.dumps({"passed": 0, "failed": 0, "resource_count": 0}), "no resources"),
    (json.dumps({"summary": {"parsing_errors": 2, "resource_count": 3}, "results": {}}),
     "could not parse"),
    (json.dumps([{"results": {}}, {"results": {}}]), "unexpected"),
])
def test_unusable_checkov_reports_are_refused(stdout: str, message: str) -> None:
    with pytest.raises(ck.CheckovError, match=message):
        ck.parse_report(stdout, "the plan")


def test_enforcement_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "enforcement.toml"
    path.write_text('default_level = "soft-mandatory"\n[checks]\n'
                    'CKV_AWS_1 = { level = "advisory", reason = "ok" }\n'
                    'CKV_NOPE_9 = { level = "hard-mandatory" }\n'
                    'CKV_AWS_2 = { level = "sometimes" }\n'
                    'CKV_AWS_3 = { level = "advisory" }\n')
    with pytest.raises(SettingsError) as caught:
        load_enforcement(path, {"CKV_AWS_1", "CKV_AWS_2", "CKV_AWS_3"})
    messages = [str(p) for p in caught.value.problems]
    assert any("CKV_NOPE_9 (line 4)" in m and "unknown check id" in m for m in messages)
    assert any("CKV_AWS_2" in m and "'sometimes' is not one of" in m for m in messages)
    assert any("CKV_AWS_3" in m and "needs a reason" in m for m in messages)


def test_the_committed_enforcement_file_loads() -> None:
    path = PROJECT_ROOT / "policies" / "enforcement.toml"
    ids = set(__import__("re").findall(r"CKV2?_[A-Z0-9]+_\d+", path.read_text()))
    enforcement = load_enforcement(path, ids)
    assert enforcement.level_for("CKV2_LOONO_4", "production") == "hard-mandatory"
    assert enforcement.level_for("CKV2_LOONO_4", "sandbox") == "advisory"
    assert enforcement.level_for("CKV_UNLISTED_1", "sandbox") == "soft-mandatory"


def test_identical_replans_normalise_to_the_same_bytes() -> None:
    a = {"timestamp": "t1", "relevant_attributes": [{"resource": "b"}, {"resource": "a"}]}
    b = {"timestamp": "t2", "relevant_attributes": [{"resource": "a"}, {"resource": "b"}]}
    assert normalized_plan(json.dumps(a)) == normalized_plan(json.dumps(b))


def _plan(decision: Decision | None, digest: str = "sha256:x") -> Plan:
    return Plan("production", True, Path("/w"), digest, (), ChangeSummary(), (), decision=decision)


def test_apply_needs_a_passed_decision_for_the_same_digest() -> None:
    passed = Decision("policy", "sha256:x", "production")
    require_passed_decision(_plan(passed))
    with pytest.raises(GateRefusedError, match="no policy decision"):
        require_passed_decision(_plan(None))
    with pytest.raises(GateRefusedError, match="not sha256:y"):
        require_passed_decision(_plan(passed, "sha256:y"))
    refused = decide([failed("CKV2_LOONO_1")], [])
    with pytest.raises(GateRefusedError) as caught:
        require_passed_decision(_plan(refused))
    assert caught.value.exit_code == 3 and "CKV2_LOONO_1" in caught.value.details()[0]


def test_decision_renders_as_text_markdown_and_json() -> None:
    decision = decide([failed("CKV2_LOONO_1"), failed("CKV_AWS_91")], [])
    assert "REFUSED" in decision_text(decision) and "CKV2_LOONO_1" in decision_text(decision)
    markdown = decision_markdown(decision)
    assert "❌ refused" in markdown and "| check |" in markdown and "CKV_AWS_91" in markdown
    assert Decision.from_dict(json.loads(decision.to_json())) == decision
