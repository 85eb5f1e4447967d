"""Whether a plan will need Checkov at all, guessed before Terraform plans.

A warm Checkov started beside Terraform imports Checkov (seconds of CPU) while Terraform
plans. That pays when a scan has to run, and only slows Terraform when every verdict comes
from the cache, as for a plan made again from an unchanged configuration. The module scan's
and the check list's cache keys are known before the plan; the plan scan's is not. So the
workdir remembers which configuration its last plan scan judged, and under which key: the
same configuration, no apply since and that key cached means the plan scan is probably
cached too. A wrong guess costs a cold Checkov run after the plan, never a wrong verdict:
the verdict always comes from the plan actually made.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from loono_infra.clients import checkov as ck
from loono_infra.core.files import write_atomically

LAST_SCAN = "last-plan-scan.json"
_ROOT_MODULE = ("*.tf.json", "*.tfvars.json", ".terraform.lock.hcl")


def configuration_digest(workdir: Path, module_key: str) -> str:
    """What a plan in workdir is made from, besides the state, the variables from the
    environment and what exists in AWS: the rendered root module and the modules (module_key,
    their scan's cache key)."""
    files = sorted({path for pattern in _ROOT_MODULE for path in workdir.glob(pattern)})
    return ck.digest_of([module_key.encode(),
                         *(part for path in files for part in (path.name.encode(),
                                                               path.read_bytes()))])


def remember(workdir: Path, configuration: str, plan_key: str) -> None:
    """Keeps which configuration the plan scan under plan_key judged (a guess: lost, as on a
    full disk, the next plan only starts a worker)."""
    with contextlib.suppress(OSError):
        write_atomically(workdir / LAST_SCAN,
                         json.dumps({"configuration": configuration, "plan_scan": plan_key}),
                         durable=False)


def forget(workdir: Path) -> None:
    """An apply changes the state: the next plan's scan may run (whatever the apply's end)."""
    (workdir / LAST_SCAN).unlink(missing_ok=True)


def plan_scan_likely_cached(workdir: Path, cache_dir: Path, configuration: str) -> bool:
    """Whether the last plan scan judged this configuration, with no apply since (an apply
    forgets it: the state is otherwise probably the same), and its verdict is still cached."""
    try:
        last = json.loads((workdir / LAST_SCAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(last, dict) or last.get("configuration") != configuration:
        return False
    key = last.get("plan_scan")
    return isinstance(key, str) and ck.cache_entry(cache_dir, key).is_file()
