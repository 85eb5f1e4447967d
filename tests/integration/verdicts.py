"""Helpers that read the policy gate's verdict check by check (for the one-verdict tests)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from loono_infra.clients.checkov import find_checkov
from loono_infra.core.plans import JUDGED_PLAN, Plan
from loono_infra.core.settings import Settings, load_settings
from loono_infra.flow.policy_scan import PolicyInputs, scan_plan, start_module_scan

Outcomes = dict[tuple[str, str], str]


def _inputs(project: Path) -> PolicyInputs:
    return PolicyInputs(find_checkov(project), project / "terraform" / "modules",
                        project / "policies", project / ".loono" / "policy-cache")


def check_outcomes(planned: Plan) -> Outcomes:
    """(check, resource) -> passed/failed/skipped over the plan scan and the module scan.

    Both scans were cached by the gate for exactly these inputs: this reads the gate's own
    verdicts back, it does not judge again.
    """
    project = planned.workdir.parents[2]
    inputs = _inputs(project)
    view = json.loads((planned.workdir / JUDGED_PLAN).read_text(encoding="utf-8"))
    copy = planned.workdir.parent / f"{planned.workdir.name}.verdict.json"
    scans = [scan_plan(inputs, view, copy)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        scans.append(start_module_scan(inputs, pool).result())
    copy.unlink(missing_ok=True)
    return {(r.check_id, r.resource): r.outcome for scan in scans for r in scan.results}


def assert_same_verdict(expected: Outcomes, actual: Outcomes, what: str) -> None:
    """Every check has the same outcome on every resource."""
    differing = {key: (expected.get(key), actual.get(key))
                 for key in set(expected) | set(actual) if expected.get(key) != actual.get(key)}
    assert not differing, f"{what}: checks judged differently than at create: {differing}"
    assert len(expected) > 100  # a real scan: every check on every resource


def finding_keys(planned: Plan) -> list[tuple[str, str, str, bool]]:
    """The decision's findings: check, resource, level, overridden."""
    assert planned.decision is not None
    return [(f.check_id, f.resource, f.level, f.overridden_by is not None)
            for f in planned.decision.findings]


def with_extra_tag(settings: Settings, key: str, value: str) -> Settings:
    """The same settings file with one more tag (written back, so plans name the file)."""
    assert settings.source is not None
    path = Path(settings.source)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert key not in data.get("tags", {})
    text = path.read_text(encoding="utf-8").replace("[tags]\n", f'[tags]\n{key} = "{value}"\n', 1)
    path.write_text(text, encoding="utf-8")
    return load_settings(path)
