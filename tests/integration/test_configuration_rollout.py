"""Terraform and deploys stop fighting (on a sandbox of its own, real containers): Terraform owns
the task's configuration, the deploy owns the image. A first apply starts nothing; a configuration
change reaches the running service with the image it runs; a later deploy and a rollback keep it;
a replaced service comes back on the deployed image, never on the template's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from typer.testing import CliRunner

from loono_infra.cli import app
from loono_infra.core.errors import DeployFailedError, SettingsError
from loono_infra.core.render import moved_resources
from loono_infra.core.settings import Settings, load_settings
from loono_infra.deploy import deploy
from loono_infra.deploy.status import service_status
from loono_infra.flow import pipeline
from loono_infra.flow.targets import checked_environment, resolve_target
from loono_infra.gates.owners.codeowners import parse_codeowners
from loono_infra.gates.owners.mapping import requirements
from loono_infra.sandbox.backend_image import build_test_backend
from loono_infra.sandbox.control import require_sandbox
from tests.integration.conftest import project_with_sandbox, sandbox_containers

pytestmark = pytest.mark.integration
# The local name of this module's test images: its own, so the images another module (or a
# pytest-xdist worker) builds under the same tags never replace them mid-test.
LOCAL_IMAGE = "loono-test-rollout"
SERVICE = "module.ecs.aws_ecs_service.this"


@dataclass
class Stack:
    project: Path
    aws: Any

    @property
    def settings_file(self) -> Path:
        return self.project / "environments" / "sandbox.toml"

    def settings(self) -> Settings:
        return load_settings(self.settings_file)

    def edit(self, old: str, new: str) -> Settings:
        text = self.settings_file.read_text(encoding="utf-8")
        assert old in text, old
        self.settings_file.write_text(text.replace(old, new, 1), encoding="utf-8")
        return self.settings()

    def service(self) -> dict[str, Any]:
        return dict(self.aws("ecs").describe_services(
            cluster="loono-sbx", services=["loono-sbx"])["services"][0])

    def running_container(self) -> Any:
        """The one task container of the service that runs now (Docker's view)."""
        containers = [c for c in sandbox_containers(self.project) if "-db-" not in str(c.name)]
        mine = [c for c in containers if "loono-backend" in str(c.attrs["Config"]["Image"])]
        assert len(mine) == 1, [c.attrs["Config"]["Image"] for c in mine]
        return mine[0]

    def every_task_image(self) -> set[str]:
        """The images of every task the service ever started (running and stopped)."""
        ecs, images = self.aws("ecs"), set()
        for status in ("RUNNING", "STOPPED"):
            arns = ecs.list_tasks(cluster="loono-sbx", desiredStatus=status)["taskArns"]
            for task in ecs.describe_tasks(cluster="loono-sbx", tasks=arns)["tasks"] if arns \
                    else []:
                definition = ecs.describe_task_definition(
                    taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
                images.add(definition["containerDefinitions"][0]["image"])
        return images


def _environment(container: Any) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import boto3

    for project in project_with_sandbox(tmp_path_factory.mktemp("rollout")):
        client = docker.from_env()
        for tag, mode, version in (("v1", "healthy", "1"), ("v2", "healthy", "2"),
                                   ("crash", "crash", "3")):
            build_test_backend(client, f"{LOCAL_IMAGE}:{tag}", mode, version)
        url = require_sandbox(project).url

        def aws(name: str, url: str = url) -> Any:
            return boto3.client(name, endpoint_url=url, region_name="eu-central-1",
                                aws_access_key_id="sandbox", aws_secret_access_key="sandbox")

        yield Stack(project, aws)


def test_a_first_apply_starts_nothing_and_status_says_so(stack: Stack,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = stack.settings()
    planned = pipeline.plan(settings)
    assert planned.service_rollout is not None and "first deploy" in planned.service_rollout
    applied = pipeline.apply(planned, settings)
    assert applied.rollout is not None and applied.rollout["outcome"] == "nothing_deployed"
    service = stack.service()
    assert (service["desiredCount"], service["runningCount"]) == (0, 0)
    assert service["taskDefinition"].rsplit("/", 1)[-1] == "loono-sbx-config:1"
    assert stack.every_task_image() == set()  # no task tried the template's image
    status = service_status(settings)
    assert not status.deployed and status.health.startswith("no image deployed yet")
    monkeypatch.chdir(stack.project)
    result = CliRunner().invoke(app, ["status", "--env", "sandbox", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deployed"] is False

    record = deploy(settings, f"{LOCAL_IMAGE}:v1")
    assert record.outcome == "succeeded"
    assert record.previous_task_definition.endswith("loono-sbx-config:1")
    assert record.task_definition.rsplit("/", 1)[-1].startswith("loono-sbx:")
    assert stack.service()["desiredCount"] == 1 and service_status(settings).healthy


def test_a_configuration_change_reaches_the_service_with_the_running_image(
        stack: Stack) -> None:
    v1_image = stack.running_container().attrs["Config"]["Image"]
    settings = stack.edit('SPRING_PROFILES_ACTIVE = "sandbox"',
                          'SPRING_PROFILES_ACTIVE = "sandbox"\nFEATURE_FLAG = "on"')
    settings = stack.edit("memory = 512", "memory = 1024")
    planned = pipeline.plan(settings)
    assert {c.address for c in planned.changes if c.changes_something} >= {
        "module.ecs.aws_ecs_task_definition.this"}
    assert planned.service_rollout is not None and "rolls onto it" in planned.service_rollout
    applied = pipeline.apply(planned, settings)
    assert applied.rollout is not None and applied.rollout["outcome"] == "succeeded"
    container = stack.running_container()
    assert _environment(container)["FEATURE_FLAG"] == "on"
    assert container.attrs["HostConfig"]["Memory"] == 1024 * 2**20
    assert container.attrs["Config"]["Image"] == v1_image  # still v1
    again = pipeline.plan(settings)
    assert not again.has_changes and again.service_rollout is None
    unchanged = pipeline.apply(again, settings).rollout
    assert unchanged is not None and unchanged["outcome"] == "unchanged"
    assert unchanged["image"] == applied.rollout["image"]


def test_deploys_and_rollbacks_keep_the_applied_configuration(stack: Stack) -> None:
    settings = stack.settings()
    configured = stack.service()["taskDefinition"]
    with pytest.raises(DeployFailedError) as failed:
        deploy(settings, f"{LOCAL_IMAGE}:crash")
    assert f"back on {configured.rsplit('/', 1)[-1]}" in failed.value.rollback
    container = stack.running_container()
    assert _environment(container)["FEATURE_FLAG"] == "on"
    assert "loono-backend@sha256" in container.attrs["Config"]["Image"]
    tried = json.loads(Path(str(failed.value.record_path)).read_text())["task_definition"]
    revision = stack.aws("ecs").describe_task_definition(taskDefinition=tried)["taskDefinition"]
    assert revision["status"] == "INACTIVE"  # never passes for the last deployed

    record = deploy(settings, f"{LOCAL_IMAGE}:v2")
    container = stack.running_container()
    assert _environment(container)["FEATURE_FLAG"] == "on"
    assert container.attrs["HostConfig"]["Memory"] == 1024 * 2**20
    assert container.attrs["Config"]["Image"].endswith(record.digest)


def test_a_replaced_service_runs_the_deployed_image_and_the_gate_calls_it_risky(
        stack: Stack) -> None:
    deployed = service_status(stack.settings()).image
    stack.edit('FEATURE_FLAG = "on"', 'FEATURE_FLAG = "on"\nSERVER_PORT = "8081"')
    settings = stack.edit("container_port = 8080", "container_port = 8081")
    planned = pipeline.plan(settings)
    actions = {c.address: c.action for c in planned.changes}
    assert actions[SERVICE] == "replace"
    assert actions["module.ecs.aws_lb_target_group.this"] == "replace"
    assert planned.service_rollout is not None and "replaced" in planned.service_rollout
    codeowners = parse_codeowners((stack.project / ".github" / "CODEOWNERS").read_text())
    needed = requirements(codeowners, [], planned.changes, "terraform/modules",
                          "environments/production.toml", ["@loono/infrastructure-leads"])
    risky = [r for r in needed if r.risky]
    assert len(risky) == 1 and SERVICE in risky[0].resources
    assert "module.ecs.aws_lb_target_group.this" in risky[0].resources

    applied = pipeline.apply(planned, settings)
    assert applied.rollout is not None and applied.rollout["outcome"] == "succeeded"
    status = service_status(settings)
    assert status.image == deployed and status.healthy
    assert not any(image.endswith(":bootstrap") for image in stack.every_task_image())
    assert stack.service()["loadBalancers"][0]["containerPort"] == 8081


def test_a_minor_upgrade_by_aws_leaves_the_plan_clean_and_12_to_16_applies(
        stack: Stack) -> None:
    rds, identifier = stack.aws("rds"), "loono-sbx-db"
    before = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert before["EngineVersion"] == "12" and before["AutoMinorVersionUpgrade"]
    rds.modify_db_instance(DBInstanceIdentifier=identifier, EngineVersion="12.22",
                           ApplyImmediately=True)  # what AWS does in a maintenance window
    settings = stack.settings()
    clean = pipeline.plan(settings)
    assert [c.address for c in clean.changes if c.changes_something] == []
    assert clean.decision is not None and clean.decision.passed

    queued = stack.edit('engine_version = "12"', 'engine_version = "16"')
    with pytest.raises(SettingsError) as refused:
        pipeline.plan(queued)  # RDS would queue it for the window: every apply would fail
    assert [p.field for p in refused.value.problems] == ["database.apply_immediately"]
    assert "PostgreSQL 12 -> 16" in refused.value.problems[0].message
    settings = stack.edit('engine_version = "16"',
                          'engine_version = "16"\napply_immediately = true')
    upgrade = pipeline.plan(settings)
    actions = {c.address: c.action for c in upgrade.changes if c.changes_something}
    assert actions == {"module.rds.aws_db_instance.this": "update",
                       "module.rds.aws_db_parameter_group.this": "replace"}
    assert upgrade.decision is not None and upgrade.decision.passed, \
        [f.check_id for f in upgrade.decision.failures]
    pipeline.apply(upgrade, settings)
    after = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert after["EngineVersion"] == "16"
    group = after["DBParameterGroups"][0]["DBParameterGroupName"]
    assert group.startswith("loono-sbx-db-")
    family = rds.describe_db_parameter_groups(DBParameterGroupName=group)[
        "DBParameterGroups"][0]["DBParameterGroupFamily"]
    assert family == "postgres16"
    assert not pipeline.plan(settings).has_changes
    assert service_status(settings).healthy  # the service still reaches its database


def test_a_stack_with_the_earlier_count_addresses_moves_in_state_and_nothing_is_replaced(
        stack: Stack) -> None:
    """A stack built before the network was keyed by zone (count indices, one NAT gateway):
    the rendered moved blocks carry it over; the plan replaces and destroys nothing."""
    settings = stack.settings()
    target = resolve_target(settings)
    _, env = checked_environment(target)
    for old, new in moved_resources(settings):
        moved = target.engine.run(["state", "mv", new, old], target.workdir, env)
        assert moved.returncode == 0, moved.stderr
    upgrade = pipeline.plan(settings)
    actions = {c.address: c.action for c in upgrade.changes if c.changes_something}
    assert not [a for a, action in actions.items() if action in ("delete", "replace")], actions
    assert not [a for a in actions if "aws_subnet" in a or "aws_nat_gateway" in a]
    assert upgrade.decision is not None and upgrade.decision.passed
    pipeline.apply(upgrade, settings)
    assert not pipeline.plan(settings).has_changes
