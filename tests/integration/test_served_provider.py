"""One AWS provider process for a plan and its show (core/terraform/served_provider.py), with
the real provider binary and the embedded Terraform on the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loono_infra import load_settings, plan
from loono_infra.core.errors import TerraformError
from loono_infra.core.providers import AWS_PROVIDER_ADDRESS, AWS_PROVIDER_H1, AWS_PROVIDER_VERSION
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.args import PlanOptions
from loono_infra.core.terraform.served_provider import (
    REATTACH_ENV,
    SWITCH_ENV,
    checked_package,
    package_hash,
    served_provider,
)
from loono_infra.flow import pipeline
from loono_infra.flow.pipeline import engine_environment, resolve_target
from loono_infra.flow.targets import Target
from loono_infra.sandbox.control import SandboxInfo
from tests.integration.conftest import project_sharing_sandbox

pytestmark = pytest.mark.integration

ADDRESS = AWS_PROVIDER_ADDRESS


@pytest.fixture(scope="module")
def planned_target(sandbox_project: Path, sandbox: SandboxInfo) -> Target:
    """Production rehearsed on the session sandbox, initialised and planned once."""
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    plan(settings, sandbox=True, refresh=False, policy=False)
    return resolve_target(settings, sandbox=True)


def _package_folder(workdir: Path) -> Path:
    return workdir / ".terraform" / "providers" / ADDRESS / AWS_PROVIDER_VERSION / "linux_amd64"


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each Terraform plan of the flow ran on the served provider, in order."""
    seen: list[bool] = []
    planned = pipeline._planned

    def noting(call: Any) -> Any:
        seen.append(REATTACH_ENV in call.env)
        return planned(call)

    monkeypatch.setattr(pipeline, "_planned", noting)
    return seen


def _served_pid(env: dict[str, str]) -> int:
    return int(json.loads(env[REATTACH_ENV])[ADDRESS]["Pid"])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_pinned_hash_is_the_lock_files_and_the_installed_packages(
        planned_target: Target) -> None:
    lock = planned_target.project.root / "terraform" / ".terraform.lock.hcl"
    assert f'"{AWS_PROVIDER_H1}"' in lock.read_text(encoding="utf-8")
    assert package_hash(_package_folder(planned_target.workdir).resolve()) == AWS_PROVIDER_H1


def test_a_plan_and_its_show_attach_to_the_served_provider(planned_target: Target,
                                                            sandbox: SandboxInfo) -> None:
    env = engine_environment(planned_target, sandbox)
    with served_provider(checked_package(planned_target.workdir, env), env) as served:
        pid = _served_pid(served)
        assert _alive(pid) and Path(os.readlink(f"/proc/{pid}/exe")).name.startswith(
            "terraform-provider-aws")
        run = commands.plan(planned_target.engine, planned_target.workdir, served,
                            PlanOptions(refresh=False))
        document = commands.show_plan(planned_target.engine, planned_target.workdir, served,
                                      "plan.tfplan")
        assert document.find("module.ecs.aws_ecs_service.this") is not None
        assert run.stream.changes
        os.kill(pid, signal.SIGKILL)  # Terraform now has nothing to attach to: it must fail
        with pytest.raises(TerraformError):
            commands.show_plan(planned_target.engine, planned_target.workdir, served,
                               "plan.tfplan")
    assert not _alive(pid)


def _planned_and_shown(target: Target, env: dict[str, str]) -> dict[str, Any]:
    commands.plan(target.engine, target.workdir, env, PlanOptions(refresh=False))
    return commands.show_plan(target.engine, target.workdir, env, "plan.tfplan").raw


def test_served_and_started_providers_plan_the_same(planned_target: Target,
                                                    sandbox: SandboxInfo) -> None:
    env = engine_environment(planned_target, sandbox)
    with served_provider(checked_package(planned_target.workdir, env), env) as served_env:
        assert REATTACH_ENV in served_env
        served = _planned_and_shown(planned_target, served_env)
    started = _planned_and_shown(planned_target, env)
    assert served["resource_changes"] == started["resource_changes"]
    assert served["planned_values"] == started["planned_values"]
    assert served["configuration"] == started["configuration"]


def test_a_plan_whose_content_is_shown_is_served_and_a_destroy_plan_is_not(
        planned_target: Target, attached: list[bool]) -> None:
    settings = planned_target.settings
    gated = plan(settings, sandbox=True, refresh=False)
    assert settings.ownership.required  # so even a plan without policy is shown and served
    plan(settings, sandbox=True, refresh=False, policy=False)
    plan(settings, sandbox=True, refresh=False, mode="destroy")  # nothing shown: not served
    assert attached == [True, True, False]
    assert gated.decision is not None and gated.decision.passed, gated.decision
    assert gated.content_digest


def test_the_provider_stops_with_its_block(planned_target: Target, sandbox: SandboxInfo) -> None:
    env = engine_environment(planned_target, sandbox)
    with served_provider(checked_package(planned_target.workdir, env), env) as served:
        pid = _served_pid(served)
        socket_folder = Path(json.loads(served[REATTACH_ENV])[ADDRESS]["Addr"]["String"]).parent
        assert socket_folder.stat().st_mode & 0o077 == 0, "others could reach its socket"
    assert not _alive(pid) and not socket_folder.exists()


def test_the_provider_dies_with_a_killed_starter(planned_target: Target,
                                                 sandbox: SandboxInfo) -> None:
    env = engine_environment(planned_target, sandbox)
    starter = subprocess.Popen(
        [sys.executable, "-c", "import json, sys, time\n"
         "from pathlib import Path\n"
         "from loono_infra.core.terraform.served_provider import checked_package, "
         "served_provider\n"
         "env = json.loads(sys.argv[2])\n"
         "with served_provider(checked_package(Path(sys.argv[1]), env), env) as env:\n"
         "    print(env.get('TF_REATTACH_PROVIDERS'), flush=True)\n"
         "    time.sleep(120)\n", str(planned_target.workdir), json.dumps(env)],
        stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    pid = int(json.loads(starter.stdout.readline())[ADDRESS]["Pid"])
    assert _alive(pid)
    starter.kill()
    starter.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the served provider outlived the process that started it"


def _workdir_copy(target: Target, destination: Path) -> Path:
    """The planned workdir, its provider package a real folder of its own (free to edit)."""
    shutil.copytree(target.workdir, destination, symlinks=False,
                    ignore=shutil.ignore_patterns("*.tfplan", "plan*.json", ".loono.lock"))
    return destination


def test_a_package_other_than_the_pinned_one_is_not_served(
        planned_target: Target, sandbox: SandboxInfo, tmp_path: Path) -> None:
    workdir = _workdir_copy(planned_target, tmp_path / "workdir")
    binary = next(_package_folder(workdir).glob("terraform-provider-aws*"))
    with binary.open("ab") as tampered:
        tampered.write(b"\0")
    env = engine_environment(planned_target, sandbox)
    assert checked_package(workdir, env) is None  # Terraform starts it, and refuses it
    with pytest.raises(TerraformError) as refused:
        commands.plan(planned_target.engine, workdir, env, PlanOptions(refresh=False))
    assert "does not match any of the checksums" in " ".join(refused.value.details())


def test_a_link_in_place_of_the_provider_is_not_followed(
        planned_target: Target, sandbox: SandboxInfo, tmp_path: Path) -> None:
    workdir = _workdir_copy(planned_target, tmp_path / "workdir")
    binary = next(_package_folder(workdir).glob("terraform-provider-aws*"))
    real = binary.rename(tmp_path / "elsewhere")  # the same bytes, reached through a link
    binary.symlink_to(real)
    env = engine_environment(planned_target, sandbox)
    assert checked_package(workdir, env) is None
    binary.unlink()
    real.rename(binary)
    package = checked_package(workdir, env)
    assert package is not None
    with served_provider(package, env) as served:
        assert REATTACH_ENV in served


def test_nothing_is_served_without_a_lock_file_switched_off_logging_or_attached(
        planned_target: Target, sandbox: SandboxInfo, tmp_path: Path) -> None:
    env = engine_environment(planned_target, sandbox)
    assert checked_package(tmp_path, env) is None
    with served_provider(None, env) as served:
        assert served == env
    for switch in ({SWITCH_ENV: "off"}, {"TF_LOG": "debug"}, {"TF_LOG_PROVIDER": "trace"},
                   {REATTACH_ENV: '{"registry.terraform.io/hashicorp/aws": {"Pid": 1}}'}):
        assert checked_package(planned_target.workdir, {**env, **switch}) is None, switch
    assert checked_package(planned_target.workdir, env) is not None  # only those kept it


HIDDEN = """provider /* not found by a plain search */ "aws" {
  alias                       = "elsewhere"
  region                      = "eu-west-1"
  access_key                  = "module"
  secret_key                  = "module"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
"""


@pytest.mark.parametrize("declaration, served_first", [
    (HIDDEN.replace("/* not found by a plain search */ ", ""), False),  # seen before the plan
    (HIDDEN, True),  # seen in the shown plan: planned again, Terraform starting the providers
])
def test_a_module_configuring_the_provider_itself_is_planned_unserved(
        sandbox_project: Path, sandbox: SandboxInfo, tmp_path: Path, attached: list[bool],
        declaration: str, served_first: bool) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    (project / "terraform" / "modules" / "ecr" / "elsewhere.tf").write_text(declaration)
    settings = load_settings(project / "environments" / "production.toml")
    result = plan(settings, sandbox=True, refresh=False)
    assert attached == ([True, False] if served_first else [False])
    assert result.decision is not None and result.decision.passed, result.decision
    assert result.content_digest and any(c.address.startswith("module.ecr.")
                                         for c in result.changes)
