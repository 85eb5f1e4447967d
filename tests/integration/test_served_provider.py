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

import pytest

from loono_infra import load_settings, plan
from loono_infra.core.errors import TerraformError
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.args import PlanOptions
from loono_infra.core.terraform.served_provider import (
    REATTACH_ENV,
    SWITCH_ENV,
    checked_package,
    locked_provider,
    package_hash,
    served_provider,
)
from loono_infra.flow.pipeline import engine_environment, resolve_target, show
from loono_infra.flow.targets import Target
from loono_infra.sandbox.control import SandboxInfo

pytestmark = pytest.mark.integration

ADDRESS = "registry.terraform.io/hashicorp/aws"


@pytest.fixture(scope="module")
def planned_target(sandbox_project: Path, sandbox: SandboxInfo) -> Target:
    """Production rehearsed on the session sandbox, initialised and planned once."""
    settings = load_settings(sandbox_project / "environments" / "production.toml")
    plan(settings, sandbox=True, refresh=False, policy=False)
    return resolve_target(settings, sandbox=True)


def _package_folder(workdir: Path) -> Path:
    _, version, _ = locked_provider(workdir / ".terraform.lock.hcl") or ("", "", None)
    return workdir / ".terraform" / "providers" / ADDRESS / version / "linux_amd64"


def _served_pid(env: dict[str, str]) -> int:
    return int(json.loads(env[REATTACH_ENV])[ADDRESS]["Pid"])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_our_hash_of_the_installed_provider_is_terraforms_own(planned_target: Target) -> None:
    committed = locked_provider(planned_target.project.root / "terraform" / ".terraform.lock.hcl")
    assert committed is not None and committed[0] == ADDRESS and committed[1] == "3.39.0"
    assert package_hash(_package_folder(planned_target.workdir)) in committed[2]


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


def test_served_and_started_providers_plan_the_same(planned_target: Target,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = planned_target.settings
    served = show(plan(settings, sandbox=True, refresh=False, policy=False))
    monkeypatch.setenv(SWITCH_ENV, "off")
    started = show(plan(settings, sandbox=True, refresh=False, policy=False))
    assert served.raw["resource_changes"] == started.raw["resource_changes"]
    assert served.raw["planned_values"] == started.raw["planned_values"]


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


def test_a_package_the_lock_file_does_not_vouch_for_is_not_served(
        planned_target: Target, sandbox: SandboxInfo, tmp_path: Path) -> None:
    workdir = tmp_path / "workdir"
    shutil.copytree(planned_target.workdir, workdir, symlinks=False,
                    ignore=shutil.ignore_patterns("*.tfplan", "plan*.json", ".loono.lock"))
    binary = next(_package_folder(workdir).glob("terraform-provider-aws*"))
    with binary.open("ab") as tampered:
        tampered.write(b"\0")
    env = engine_environment(planned_target, sandbox)
    assert checked_package(workdir, env) is None  # Terraform starts it, and refuses it
    with pytest.raises(TerraformError) as refused:
        commands.plan(planned_target.engine, workdir, env, PlanOptions(refresh=False))
    assert "does not match any of the checksums" in " ".join(refused.value.details())


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
