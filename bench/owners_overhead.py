"""What the ownership gate adds to `loono-infra plan`: owners and approvals for the production plan.

Plans production's stack once on a sandbox (scratch project copy), starts the
local GitHub API (127.0.0.1) with a pull request, reviews and teams, then times,
in one run, the gate's whole evaluation for that plan (CODEOWNERS, plan-to-owner
mapping, pull request, reviews, team members over real HTTP through PyGithub):
in a fresh process each time (PyGithub's import included) and in-process; and what reading
the trusted base's rules with git (CODEOWNERS, policies/, gate settings; flow/trusted.py) adds
to a gated plan, cold (a fresh runner: the policies extracted anew) and warm.
The last two lines are machine-readable.

Usage: python bench/owners_overhead.py [--rounds N]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _scratch import rounds_argument, scratch_project  # bench/_scratch.py, beside this script

from loono_infra import load_settings, plan
from loono_infra.clients.github import GitHubContext
from loono_infra.flow.gating import judge_owners, rules_for
from loono_infra.flow.targets import Target, resolve_target

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.github_fake import REPO, github_server  # noqa: E402

TARGET_SECONDS = 0.3
BASE_TARGET_SECONDS = 0.1
HEAD = "d" * 40
PROBE = f"""
import pickle, sys, time
started = time.perf_counter()
from loono_infra.clients.github import GitHubContext
from loono_infra.flow.gating import judge_owners, rules_for
from loono_infra.flow.targets import resolve_target
from loono_infra.reports.terminal import decision_text
from loono_infra import load_settings
root, env_file, digest, changes, url = pickle.loads(sys.stdin.buffer.read())
context = GitHubContext("{REPO}", "test-token", url, pull_number=7)
settings = load_settings(env_file)
rules = rules_for(resolve_target(settings, sandbox=True), None, context)
decision = judge_owners(root, settings, digest, changes, rules, context)
assert decision.passed, decision_text(decision)
print(time.perf_counter() - started)
"""


def main() -> int:
    import pickle

    rounds = rounds_argument(default=7)
    with scratch_project() as project:
        settings = load_settings(project / "environments" / "production.toml")
        planned = plan(settings, sandbox=True, refresh=False, policy=False)
        with github_server() as fake:
            fake.add_pull(7, "alice", HEAD)
            fake.teams |= {"@loono/infrastructure": ["ivan"],
                           "@loono/database-owners": ["dora"]}
            fake.review(7, "ivan", "APPROVED", HEAD)
            fake.review(7, "dora", "APPROVED", HEAD)
            payload = pickle.dumps((project, settings.source, planned.digest, planned.changes,
                                    fake.base_url))
            fresh = [float(subprocess.run([sys.executable, "-c", PROBE], input=payload,
                                          capture_output=True, check=True,
                                          env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
                     for _ in range(rounds)]
            context = GitHubContext(REPO, "test-token", fake.base_url, pull_number=7)
            target = resolve_target(settings, sandbox=True)
            rules = rules_for(target, None, context)
            warm = []
            for _ in range(rounds):
                started = time.perf_counter()
                judge_owners(project, settings, planned.digest, planned.changes, rules, context)
                warm.append(time.perf_counter() - started)
            requests = len(fake.requests) // (2 * rounds)
            cold_rules, warm_rules = _trusted_base(target, context, rounds)
    print(f"{len(planned.changes)} planned resources, {requests} API requests per evaluation")
    print(f"owners + approvals, fresh process: {statistics.median(fresh):.3f} s median; "
          f"in-process: {statistics.median(warm):.3f} s median (of {rounds})")
    print(f"trusted base rules read with git: cold {statistics.median(cold_rules):.3f} s, "
          f"warm {statistics.median(warm_rules):.3f} s median (of {rounds})")
    print(f"owners_overhead seconds={statistics.median(fresh):.3f} target={TARGET_SECONDS}")
    print(f"trusted_base seconds={statistics.median(cold_rules):.3f} target={BASE_TARGET_SECONDS}")
    return 0


def _trusted_base(target: Target, context: GitHubContext,
                  rounds: int) -> tuple[list[float], list[float]]:
    """rules_for() timed with the extracted policies removed first (cold), then kept (warm)."""
    cold, warm = [], []
    for _ in range(rounds):
        shutil.rmtree(target.project.work_area / "trusted", ignore_errors=True)
        started = time.perf_counter()
        rules_for(target, None, context)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        rules_for(target, None, context)
        warm.append(time.perf_counter() - started)
    return cold, warm


if __name__ == "__main__":
    raise SystemExit(main())
