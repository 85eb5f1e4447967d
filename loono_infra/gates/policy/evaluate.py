"""The policy gate's judgement: scans, levels and overrides in -> one Decision out. Pure.

The scans themselves (Checkov on the modules and on the judged plan view) are run by the
flow (flow/policy_scan.py); this module maps their findings to resources and levels,
applies the environment's overrides and collects every blocking reason.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from loono_infra.clients import checkov as ck
from loono_infra.core.decision import Decision, Failure, Finding
from loono_infra.core.errors import SettingsError, SettingsProblem
from loono_infra.core.settings import PolicyOverride, Settings
from loono_infra.gates.policy.enforcement import Enforcement

GATE = "policy"
_INDEX = re.compile(r"\[[^\]]*\]$")


def _module_address(result: ck.CheckResult) -> str:
    module = Path(result.file or "").parts[1:2]
    return f"module.{module[0]}.{result.resource}" if module else result.resource


def _without_index(address: str) -> str:
    return ".".join(_INDEX.sub("", part) for part in address.split("."))


def _file_index(module_scan: ck.Scan, modules_root: str) -> dict[str, tuple[str, Any]]:
    return {_module_address(r): (f"{modules_root}{r.file}", r.lines)
            for r in module_scan.results if r.file}


def _findings(plan_scan: ck.Scan, module_scan: ck.Scan, enforcement: Enforcement,
              environment: str, modules_root: str) -> list[Finding]:
    index = _file_index(module_scan, modules_root)
    findings: dict[tuple[str, str], Finding] = {}
    for source, scan in (("plan", plan_scan), ("modules", module_scan)):
        for result in scan.results:
            if result.outcome != "failed":
                continue
            address = result.resource if source == "plan" else _module_address(result)
            key = (result.check_id, _without_index(address))
            if key in findings:
                continue
            file, lines = index.get(_without_index(address), (None, None))
            findings[key] = Finding(result.check_id, result.check_name, address,
                                    enforcement.level_for(result.check_id, environment), source,
                                    file, lines)
    return sorted(findings.values(), key=lambda f: (f.check_id, f.resource))


def _override_failures(override: PolicyOverride, level: str, today: datetime.date,
                       ) -> list[Failure]:
    where = f"override of {override.check} on {override.resource}"
    problems = []
    if level == "hard-mandatory":
        problems.append(f"{where}: {override.check} is hard-mandatory and cannot be overridden")
    if not override.reason.strip():
        problems.append(f"{where}: has no reason")
    if override.expires < today:
        problems.append(f"{where}: expired on {override.expires.isoformat()}")
    return [Failure("override", p, override.check, override.resource) for p in problems]


def check_override_resources(settings: Settings, addresses: set[str]) -> None:
    """An override naming a resource the plan does not have is a settings error."""
    problems = [
        SettingsProblem(f"policy.overrides[{i}].resource",
                        f"{o.resource!r} is not a resource of this plan")
        for i, o in enumerate(settings.policy.overrides) if o.resource not in addresses]
    if problems:
        raise SettingsError(str(settings.source or settings.environment), problems)


def evaluate(settings: Settings, digest: str, plan_scan: ck.Scan, module_scan: ck.Scan,
             enforcement: Enforcement, today: datetime.date, modules_root: str) -> Decision:
    """Levels and overrides applied to the findings: every blocking reason, not only the first."""
    env = settings.environment
    failures: list[Failure] = []
    valid: dict[tuple[str, str], str] = {}
    for override in settings.policy.overrides:
        problems = _override_failures(override, enforcement.level_for(override.check, env), today)
        failures += problems
        if not problems:
            valid[(override.check, override.resource)] = override.reason
    findings = []
    for finding in _findings(plan_scan, module_scan, enforcement, env, modules_root):
        reason = valid.get((finding.check_id, finding.resource))
        if finding.level == "soft-mandatory" and reason is not None:
            finding = Finding(**{**finding.__dict__, "overridden_by": reason})
        elif finding.level != "advisory":
            failures.append(Failure("check", f"{finding.check_id} ({finding.level}) fails on "
                                    f"{finding.resource}: {finding.check_name}",
                                    finding.check_id, finding.resource))
        findings.append(finding)
    failures += _skips_without_reason(plan_scan, module_scan)
    checked = len({r.check_id for s in (plan_scan, module_scan) for r in s.results})
    return Decision(GATE, digest, env, tuple(findings), tuple(failures), checked)


def _skips_without_reason(*scans: ck.Scan) -> list[Failure]:
    return [Failure("inline-skip", f"#checkov:skip={r.check_id} on {r.resource} in {r.file} "
                    "has no reason", r.check_id, r.resource)
            for scan in scans for r in scan.results
            if r.outcome == "skipped" and (r.skip_reason or ck.NO_REASON) == ck.NO_REASON]


def refusal(settings: Settings, digest: str, reason: str) -> Decision:
    """The gate's own failure: a refusal with the reason (fail closed)."""
    return Decision(GATE, digest, settings.environment, failures=(Failure("gate", reason),))
