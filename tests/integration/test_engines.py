"""Two real Terraform versions (embedded 1.15, binary 1.0.3); init skipped when unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loono_infra import load_settings, plan
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.engine import BinaryEngine, EmbeddedEngine
from loono_infra.flow.pipeline import engine_environment, resolve_target, show
from loono_infra.sandbox.control import SandboxInfo
from tests.integration.conftest import project_sharing_sandbox, terraform_1_0_binary

pytestmark = pytest.mark.integration

PRODUCTION_FIGURES = {
    "module.rds.aws_db_instance.this": {
        "engine_version": "12", "allocated_storage": 20, "max_allocated_storage": 100,
        "backup_retention_period": 7, "deletion_protection": True, "storage_encrypted": True,
        "publicly_accessible": False, "skip_final_snapshot": False},
    "module.ecs.aws_ecs_task_definition.this": {"cpu": "256", "memory": "512"},
    # created with no tasks: deploys set service.desired_count (1 in production)
    "module.ecs.aws_ecs_service.this": {"desired_count": 0,
                                        "deployment_minimum_healthy_percent": 100},
}


def test_embedded_engine_reports_its_version(tmp_path: Path) -> None:
    completed = EmbeddedEngine().run(["version", "-json"], tmp_path, {"PATH": "/usr/bin"})
    assert json.loads(completed.stdout)["terraform_version"] == EmbeddedEngine.version


def test_production_rehearsal_plans_todays_figures(sandbox_project: Path,
                                                   sandbox: SandboxInfo) -> None:
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    assert settings.service.desired_count == 1
    planned = plan(settings, sandbox=True, refresh=False, policy=False)  # figures only
    document = show(planned)
    for address, expected in PRODUCTION_FIGURES.items():
        resource = document.find(address)
        assert resource is not None and resource.after is not None, address
        assert {k: resource.after[k] for k in expected} == expected
    target_group = document.find("module.ecs.aws_lb_target_group.this")
    assert target_group is not None and target_group.after is not None
    assert target_group.after["health_check"][0]["healthy_threshold"] == 3


def test_binary_engine_terraform_1_0_plans_the_same_stack(sandbox_project: Path,
                                                          sandbox: SandboxInfo) -> None:
    engine = BinaryEngine(str(terraform_1_0_binary()))
    assert engine.version == "1.0.3"
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    embedded = plan(settings, sandbox=True, refresh=False, policy=False)
    binary = plan(settings, sandbox=True, refresh=False, engine=engine, policy=False)
    assert binary.workdir != embedded.workdir and "tf-1.0.3" in binary.workdir.name
    assert {c.address for c in binary.changes} == {c.address for c in embedded.changes}
    assert binary.summary == embedded.summary


def test_unchanged_init_is_skipped(sandbox_project: Path, sandbox: SandboxInfo,
                                   tmp_path: Path) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)  # its modules get edited
    settings = load_settings(project / "environments" / "production.toml")
    plan(settings, sandbox=True, refresh=False, policy=False)
    target = resolve_target(settings, sandbox=True)
    env = engine_environment(target, sandbox)
    stamp = target.workdir / commands.INIT_STAMP
    fingerprint = stamp.read_text(encoding="utf-8")
    ran = commands.init(target.engine, target.workdir, env, target.project.module_files())
    assert ran is False, "init ran although nothing it depends on changed"
    assert stamp.read_text(encoding="utf-8") == fingerprint
    module = target.project.modules_dir / "ecr" / "outputs.tf"
    module.write_text(module.read_text() + "\n")
    assert commands.init(target.engine, target.workdir, env, target.project.module_files())
    assert stamp.read_text(encoding="utf-8") != fingerprint  # a module changed: init ran again
