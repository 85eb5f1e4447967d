"""The production-shaped stack on the sandbox: plan, apply, plan again (no changes), change a
tag, plan, apply, destroy; the policy gate's verdict asserted at every plan."""

from __future__ import annotations

import json
import stat
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from loono_infra import apply, destroy, load_settings, plan
from loono_infra.core.plans import REDACTED_PLAN
from loono_infra.core.redact import REDACTED
from loono_infra.core.settings import Settings
from loono_infra.core.terraform.events import TerraformEvent
from loono_infra.flow import last_scan
from loono_infra.flow.pipeline import Plan, show
from loono_infra.reports.terminal import decision_text
from loono_infra.sandbox.control import SandboxInfo
from tests.integration.verdicts import (
    Outcomes,
    assert_same_verdict,
    check_outcomes,
    finding_keys,
    with_extra_tag,
)

pytestmark = pytest.mark.integration

EXPECTED_TYPES = {"aws_ecs_service", "aws_ecs_task_definition", "aws_lb_target_group",
                  "aws_ecr_repository", "aws_db_instance", "aws_cloudwatch_log_group"}


def _active_clusters(aws: Any) -> list[str]:
    """Deleted clusters stay describable as INACTIVE in AWS (and moto); only ACTIVE ones count."""
    arns = aws("ecs").list_clusters()["clusterArns"]
    clusters = aws("ecs").describe_clusters(clusters=arns)["clusters"] if arns else []
    return [c["clusterName"] for c in clusters
            if c["status"] == "ACTIVE" and c["clusterName"].startswith("loono-sbx")]


def _leftovers(aws: Any) -> dict[str, list[str]]:
    return {
        "active ecs clusters": _active_clusters(aws),
        "rds instances": [d["DBInstanceIdentifier"]
                          for d in aws("rds").describe_db_instances()["DBInstances"]],
        "ecr repositories": [r["repositoryName"]
                             for r in aws("ecr").describe_repositories()["repositories"]],
        "log groups": [g["logGroupName"] for g in aws("logs").describe_log_groups()["logGroups"]
                       if g["logGroupName"].startswith("/ecs/loono-sbx")],
        "load balancers": [lb["LoadBalancerName"] for lb in
                           aws("elbv2").describe_load_balancers()["LoadBalancers"]],
        "vpcs": [v["VpcId"] for v in aws("ec2").describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": ["loono-sbx"]}])["Vpcs"]],
        "iam roles": [r["RoleName"] for r in aws("iam").list_roles()["Roles"]
                      if r["RoleName"].startswith("loono-sbx")],
    }


def test_plan_apply_replan_change_destroy(sandbox_project: Path, sandbox: SandboxInfo,
                                          aws: Any) -> None:
    settings = load_settings(sandbox_project / "environments" / "sandbox.toml")

    planning: list[TerraformEvent] = []
    first = plan(settings, on_event=planning.append)
    assert first.has_changes and first.summary.add >= 40
    planned = {e.address for e in planning if e.kind == "planned_change"}
    assert {c.address for c in first.changes if c.changes_something} <= planned
    assert [e.counts["add"] for e in planning if e.kind == "change_summary"] == [
        first.summary.add]
    assert {c.resource_type for c in first.changes} >= EXPECTED_TYPES
    assert first.digest.startswith("sha256:") and first.plan_file.is_file()
    assert first.decision is not None and first.decision.passed, decision_text(first.decision)
    created = check_outcomes(first)
    _the_password_is_only_in_private_files(sandbox_project)

    applying: list[TerraformEvent] = []
    heard_at: list[float] = []

    def hear(event: TerraformEvent) -> None:
        applying.append(event)
        heard_at.append(time.monotonic())

    assert (first.workdir / last_scan.LAST_SCAN).is_file()  # its plan scan was remembered ...
    result = apply(first, on_event=hear)
    returned_at = time.monotonic()
    assert not (first.workdir / last_scan.LAST_SCAN).exists()  # ... and forgotten by the apply
    assert result.outputs["cluster_name"] == "loono-sbx"
    assert heard_at[0] < returned_at - 10  # events arrive while Terraform applies, not at its end
    started = [e.address for e in applying if e.kind == "apply_start"]
    finished = [e.address for e in applying if e.kind == "apply_complete"]
    assert sorted(started) == sorted(finished) and len(finished) == first.summary.add
    assert not [e for e in applying if e.kind == "apply_errored"]
    service = aws("ecs").describe_services(cluster="loono-sbx", services=["loono-sbx"])[
        "services"][0]
    assert service["healthCheckGracePeriodSeconds"] == \
        settings.service.health_check.grace_period_seconds
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True, "rollback": True}
    assert aws("rds").describe_db_instances()["DBInstances"][0]["AllocatedStorage"] == 20

    second = plan(settings)
    changing = [(c.address, c.action) for c in second.changes if c.changes_something]
    assert changing == [], f"the re-plan after apply is not empty: {changing}"
    assert not second.has_changes
    assert second.decision is not None and second.decision.passed, decision_text(second.decision)
    assert second.drift == (), [c.address for c in second.drift]
    assert finding_keys(second) == finding_keys(first)
    assert_same_verdict(created, check_outcomes(second), "no-change re-plan")

    original = Path(str(settings.source)).read_text(encoding="utf-8")
    try:
        _change_a_tag_and_apply(with_extra_tag(settings, "Round", "2"), first, created, aws)
    finally:
        Path(str(settings.source)).write_text(original, encoding="utf-8")


def _change_a_tag_and_apply(tagged: Settings, first: Plan, created: Outcomes, aws: Any) -> None:
    third = plan(tagged)
    assert third.has_changes and third.summary.change > 0 and third.summary.add == 0
    assert third.decision is not None and third.decision.passed, decision_text(third.decision)
    assert finding_keys(third) == finding_keys(first)
    assert_same_verdict(created, check_outcomes(third), "tag-change re-plan")
    apply(third)
    fourth = plan(tagged)
    assert not fourth.has_changes
    assert fourth.decision is not None and fourth.decision.passed, decision_text(fourth.decision)

    destroy(tagged)
    assert not any(_leftovers(aws).values()), _leftovers(aws)


def _holds(path: Path, secret: bytes) -> bool:
    data = path.read_bytes()
    if zipfile.is_zipfile(path):  # a plan file: look inside its entries too
        with zipfile.ZipFile(path) as archive:
            return any(secret in archive.read(name) for name in archive.namelist())
    return secret in data


def _the_password_is_only_in_private_files(project: Path) -> None:
    password = json.loads((project / ".loono/sandbox/secrets.json").read_text())["sandbox"]
    holders = [path for path in (project / ".loono").rglob("*")
               if path.is_file() and not path.is_symlink() and _holds(path, password.encode())]
    assert any(path.name == "plan.tfplan" for path in holders), holders  # a real search
    for path in holders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} holds the password"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, f"{path.parent} is open"


def test_secret_stays_out_of_files_and_reports(sandbox_project: Path, sandbox: SandboxInfo,
                                               monkeypatch: Any) -> None:
    password = "planted-Secret-4711-xyz"
    monkeypatch.setenv("LOONO_DB_PASSWORD", password)
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    planned = plan(settings, sandbox=True, refresh=False)
    document = show(planned)  # the whole document, as `terraform show -json` gives it
    rds = document.find("module.rds.aws_db_instance.this")
    assert rds is not None and rds.after is not None
    assert rds.after["password"] == password  # the planted secret did reach the plan ...
    assert _holds(planned.plan_file, password.encode())
    checked = [path for path in planned.workdir.iterdir()
               if path.is_file() and path.suffix in (".json", ".hcl")]
    assert planned.workdir / REDACTED_PLAN in checked
    for path in checked:  # ... and stays out of every file loono-infra writes beside it
        assert password not in path.read_text(), path
    redacted = json.loads((planned.workdir / REDACTED_PLAN).read_text())
    after = next(c["change"]["after"] for c in redacted["resource_changes"]
                 if c["address"] == "module.rds.aws_db_instance.this")
    assert after["password"] == REDACTED
    assert password not in json.dumps(planned.to_dict())
