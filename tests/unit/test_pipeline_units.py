"""Pure parts of the pipeline: targets, the workdir lock, the engine environment, plan records."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from loono_infra.core.errors import LoonoError, SettingsError
from loono_infra.core.secrets import password_missing
from loono_infra.core.settings import load_settings
from loono_infra.core.terraform.engine import EmbeddedEngine
from loono_infra.core.terraform.models import ChangeSummary, OutputChange, ResourceChange
from loono_infra.flow.pipeline import Plan, engine_environment, resolve_target, workdir_lock
from loono_infra.sandbox.control import SandboxInfo


def test_sandbox_only_environment_cannot_target_aws(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "sandbox.toml")
    with pytest.raises(SettingsError, match="sandbox"):
        resolve_target(settings, sandbox=False, engine=EmbeddedEngine())
    assert resolve_target(settings, engine=EmbeddedEngine()).sandbox is True


def test_production_rehearsal_gets_its_own_directory(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "production.toml")
    aws = resolve_target(settings, engine=EmbeddedEngine())
    rehearsal = resolve_target(settings, sandbox=True, engine=EmbeddedEngine())
    assert aws.workdir != rehearsal.workdir
    assert rehearsal.workdir == project_copy / ".loono" / "sandbox" / "production"


def test_engine_environment_carries_the_password_but_no_stray_tf_vars(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "production.toml")
    target = resolve_target(settings, sandbox=True, engine=EmbeddedEngine())
    env = engine_environment(target, SandboxInfo(1, "http://127.0.0.1:1", 0.0), {
        "LOONO_DB_PASSWORD": "correct-horse-battery", "TF_VAR_db_master_password": "evil",
        "AWS_PROFILE": "prod-admin", "PATH": "/bin"})
    assert env["TF_VAR_db_master_password"] == "correct-horse-battery"
    assert "AWS_PROFILE" not in env and env["AWS_ACCESS_KEY_ID"] == "sandbox"
    assert env["TF_CLI_CONFIG_FILE"].endswith("terraformrc")


def test_aws_target_without_password_plans_without_it(project_copy: Path) -> None:
    """Only a plan that creates the database needs the password (the pipeline refuses that
    one, naming the variable); plans of an existing database, the PR job's, never see it."""
    settings = load_settings(project_copy / "environments" / "production.toml")
    target = resolve_target(settings, sandbox=False, engine=EmbeddedEngine())
    assert "TF_VAR_db_master_password" not in engine_environment(target, None, {"PATH": "/bin"})
    assert "LOONO_DB_PASSWORD" in password_missing(settings).message


def test_a_short_or_odd_password_is_refused(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "production.toml")
    target = resolve_target(settings, sandbox=False, engine=EmbeddedEngine())
    with pytest.raises(LoonoError, match="LOONO_DB_PASSWORD: RDS needs 8"):
        engine_environment(target, None, {"LOONO_DB_PASSWORD": "short"})


def test_sandbox_password_is_generated_once_and_kept(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "sandbox.toml")
    target = resolve_target(settings, engine=EmbeddedEngine())
    info = SandboxInfo(1, "http://127.0.0.1:1", 0.0)
    first = engine_environment(target, info, {})["TF_VAR_db_master_password"]
    assert first == engine_environment(target, info, {})["TF_VAR_db_master_password"]
    secrets = project_copy / ".loono" / "sandbox" / "secrets.json"
    assert secrets.stat().st_mode & 0o077 == 0


def test_workdir_lock_keeps_a_second_run_out(tmp_path: Path) -> None:
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with workdir_lock(tmp_path):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    with pytest.raises(LoonoError, match="another loono-infra run"), workdir_lock(
            tmp_path, wait_seconds=0.3):
        pass
    release.set()
    holder.join()
    with workdir_lock(tmp_path, wait_seconds=0.3):
        pass


def test_plan_record_round_trips(tmp_path: Path) -> None:
    plan = Plan(environment="sandbox", sandbox=True, workdir=tmp_path, digest="sha256:ab",
                changes=(ResourceChange("aws_x.y", None, "aws_x", "y", "create"),),
                summary=ChangeSummary(add=1), outputs=(OutputChange("o", "create", False),),
                settings_source="/x/sandbox.toml")
    assert Plan.from_dict(plan.to_dict()) == plan
    assert plan.has_changes and plan.to_dict()["has_changes"] is True


@pytest.mark.parametrize(("environment", "mode", "policy", "made"), [
    ("production", "normal", True, True),    # the dangling lookups read the shown plan
    ("production", "normal", False, True),   # shown for the owners gate all the same
    ("sandbox", "normal", False, False),     # not shown: nothing would look anything up
    ("production", "refresh-only", True, False),
    ("production", "destroy", True, False),
], ids=lambda value: str(value))
def test_lookup_clients_are_made_ahead_only_for_a_plan_that_looks_up(
        project_copy: Path, environment: str, mode: str, policy: bool, made: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from loono_infra.core.terraform.args import PlanOptions
    from loono_infra.flow.dangling import Clients
    from loono_infra.flow.pipeline import _lookup_clients_ahead

    settings = load_settings(project_copy / "environments" / f"{environment}.toml")
    target = resolve_target(settings, sandbox=True, engine=EmbeddedEngine())
    info = SandboxInfo(1, "http://127.0.0.1:1", 0.0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = _lookup_clients_ahead(target, info, PlanOptions(mode=mode), policy, pool)
        assert (ahead is not None) is made
        if ahead is not None:
            assert isinstance(ahead.result(), Clients)
