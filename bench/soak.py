"""Soak: plan -> apply -> change -> apply, `--cycles` times on one sandbox, in one run.

Each cycle changes a tag value in the sandbox environment's settings, plans and applies it
through the CLI (real processes, as a user runs them). While each command runs, its process
tree is sampled: the peak resident memory of loono-infra itself and of Terraform (the
embedded worker and the AWS provider), and loono-infra's open file descriptors. At the end it
counts what was left behind: Terraform processes still running and temporary files in the
work directories (half-written plans, records). Both must be zero.

Last line, machine-readable: soak cycles=N seconds=<median cycle> leftovers=K

Usage: python bench/soak.py [--cycles 20] [--max-minutes 40]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _scratch import ROOT, scratch_project  # bench/_scratch.py, beside this script

TERRAFORM_MARKERS = ("_embedded_worker.py", "terraform-provider-aws")


@dataclass
class Peaks:
    """The highest values seen while commands ran."""

    ours_kib: int = 0
    terraform_kib: int = 0
    fds: int = 0
    seconds: list[float] = field(default_factory=list)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                           check=False).stdout.split()
    return [int(child) for child in found]


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue.extend(_children(current))
    return pids


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _sample(root: int, peaks: Peaks) -> None:
    for pid in _tree(root):
        rss = _rss_kib(pid)
        if any(marker in _command_line(pid) for marker in TERRAFORM_MARKERS):
            peaks.terraform_kib = max(peaks.terraform_kib, rss)
        elif pid == root:
            peaks.ours_kib = max(peaks.ours_kib, rss)
    with contextlib.suppress(OSError):
        peaks.fds = max(peaks.fds, len(os.listdir(f"/proc/{root}/fd")))


def run(project: Path, peaks: Peaks, *args: str) -> int:
    """One CLI command, sampled every 0.1 s until it ends; its exit code."""
    process = subprocess.Popen(
        [sys.executable, "-m", "loono_infra.cli", *args, "--env", "sandbox"], cwd=project,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    done = threading.Event()

    def sampler() -> None:
        while not done.wait(0.1):
            _sample(process.pid, peaks)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    _, stderr = process.communicate()
    done.set()
    thread.join()
    if process.returncode not in (0, 2):
        print(f"  {' '.join(args)}: exit {process.returncode}: {stderr.strip()[-400:]}")
    return process.returncode


SANDBOX_MARKERS = ("loono_infra.sandbox.server", "docker-registry serve")


def _processes(project: Path, sandbox_too: bool) -> list[str]:
    """Processes of the project (its own sandbox left out unless sandbox_too) or Terraform's."""
    return [line for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                                            text=True, check=False).stdout.splitlines()
            if (str(project) in line and (sandbox_too or not any(
                marker in line for marker in SANDBOX_MARKERS)))
            or any(marker in line for marker in TERRAFORM_MARKERS)]


def _leftovers(project: Path) -> list[str]:
    """Terraform or loono-infra processes still running (the bench's own sandbox aside: it
    stops with the scratch project, checked after), and temporary or half-written files."""
    running = _processes(project, sandbox_too=False)
    partial = [str(path) for path in (project / ".loono").rglob(".*")
               if path.is_file() and (path.name.startswith((".plan", ".tfstate"))
                                      or ".json." in path.name or ".tfplan." in path.name)]
    return running + partial


def _change(project: Path, cycle: int) -> None:
    settings = project / "environments" / "sandbox.toml"
    text = settings.read_text(encoding="utf-8")
    marker = 'Project = "'
    start = text.index(marker) + len(marker)
    end = text.index('"', start)
    settings.write_text(text[:start] + f"loono-soak-{cycle}" + text[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--max-minutes", type=float, default=40.0)
    options = parser.parse_args()
    peaks, failures = Peaks(), 0
    deadline = time.monotonic() + options.max_minutes * 60
    with scratch_project() as project:
        for cycle in range(options.cycles):
            if time.monotonic() > deadline:
                print(f"stopped at the time bound after {cycle} cycles")
                break
            started = time.monotonic()
            _change(project, cycle)
            planned = run(project, peaks, "plan")
            applied = run(project, peaks, "apply") if planned == 2 else planned
            failures += planned not in (0, 2) or applied != 0
            peaks.seconds.append(time.monotonic() - started)
            print(f"cycle {cycle + 1:2d}: {peaks.seconds[-1]:5.1f} s")
        time.sleep(1)
        leftovers = _leftovers(project)
    time.sleep(1)
    leftovers += _processes(project, sandbox_too=True)  # the sandbox stopped with the project
    for line in leftovers:
        print(f"left behind: {line}")
    print(f"peak RSS: loono-infra {peaks.ours_kib / 1024:.0f} MiB, Terraform "
          f"{peaks.terraform_kib / 1024:.0f} MiB; peak open files of loono-infra {peaks.fds}; "
          f"failed cycles {failures}")
    median = statistics.median(peaks.seconds) if peaks.seconds else 0.0
    print(f"soak cycles={len(peaks.seconds)} seconds={median:.1f} leftovers={len(leftovers)}")
    return 0 if not leftovers and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
