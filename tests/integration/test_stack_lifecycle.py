"""The production-shaped stack on the sandbox: plan, apply, plan again (no changes), destroy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loono_infra import apply, destroy, load_settings, plan
from loono_infra.pipeline import show
from loono_infra.sandbox.control import SandboxInfo

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


def test_plan_apply_replan_destroy(sandbox_project: Path, sandbox: SandboxInfo, aws: Any) -> None:
    settings = load_settings(sandbox_project / "environments" / "sandbox.toml")

    first = plan(settings)
    assert first.has_changes and first.summary.add >= 40
    assert {c.resource_type for c in first.changes} >= EXPECTED_TYPES
    assert first.digest.startswith("sha256:") and first.plan_file.is_file()

    result = apply(first)
    assert result.outputs["cluster_name"] == "loono-sbx"
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

    destroy(settings)
    assert not any(_leftovers(aws).values()), _leftovers(aws)


def test_secret_stays_out_of_files_and_reports(sandbox_project: Path, sandbox: SandboxInfo,
                                               monkeypatch: Any) -> None:
    password = "planted-Secret-4711-xyz"
    monkeypatch.setenv("LOONO_DB_PASSWORD", password)
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    planned = plan(settings, sandbox=True, refresh=False)
    for path in planned.workdir.iterdir():
        if path.is_file() and path.suffix in (".json", ".hcl"):
            assert password not in path.read_text(), path
    assert password not in str(planned.to_dict())
    document = show(planned)
    rds = document.find("module.rds.aws_db_instance.this")
    assert rds is not None and rds.after is not None
    assert document.raw["resource_changes"] and "password" in rds.after
