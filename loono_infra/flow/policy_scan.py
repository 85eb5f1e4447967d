"""The policy scan of one plan: started before Terraform plans, asked for its verdict after.

The module scan (HCL) needs only the module files, so it runs while Terraform plans; the plan
scan reads the judged view of the redacted `show -json` document (gates/policy/plan_view.py).
Both are cached by the digest of what they scanned, so an unchanged plan reuses its verdict.
Checkov failing in any way (missing, crashing, timing out, garbage) is a refusal with the reason.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loono_infra.clients import checkov as ck
from loono_infra.clients.checkov_worker import WarmCheckov, close_ahead
from loono_infra.core.decision import Decision
from loono_infra.core.errors import TerraformError
from loono_infra.core.files import write_atomically
from loono_infra.core.plans import JUDGED_PLAN, Plan, PlanContent
from loono_infra.core.render import LOCK_FILE
from loono_infra.core.terraform import commands
from loono_infra.flow import last_scan
from loono_infra.flow.repository import untrusted_gate_files
from loono_infra.flow.targets import Target
from loono_infra.flow.trusted import Rules
from loono_infra.gates.policy.enforcement import ENFORCEMENT_FILE, Enforcement, load_enforcement
from loono_infra.gates.policy.evaluate import GATE, check_override_resources, evaluate, refusal
from loono_infra.gates.policy.plan_view import (
    Shape,
    judged_view,
    resource_types,
    shapes_from_schema,
)

_POLICY_FILES = ("*.py", "*.yaml", "*.toml")


@dataclass(frozen=True)
class PolicyInputs:
    """Where the gate finds Checkov, the modules, the policies and its cache."""

    checkov: Path
    modules_dir: Path
    policies_dir: Path
    cache_dir: Path

    def identity(self) -> list[bytes]:
        """What every cached verdict depends on besides the scanned input: Checkov's version
        and the policies."""
        return [ck.checkov_identity(self.checkov).encode(),
                *ck.tree_bytes(self.policies_dir, _POLICY_FILES)]


def module_scan_key(inputs: PolicyInputs) -> str:
    """The module scan's cache key: Checkov, the policies and the module files."""
    return "hcl-" + ck.digest_of([*inputs.identity(),
                                  *ck.tree_bytes(inputs.modules_dir, ("*.tf",))])


def start_module_scan(inputs: PolicyInputs, pool: ThreadPoolExecutor,
                      warm: WarmCheckov | None = None, key: str | None = None,
                      ) -> Future[ck.Scan]:
    """Starts the HCL scan of the modules in the background (cached by the module files)."""
    args = ck.hcl_args(inputs.checkov, inputs.modules_dir, inputs.policies_dir)
    return pool.submit(ck.cached_scan, inputs.cache_dir, key or module_scan_key(inputs), args,
                       "the Terraform modules", _runner(warm))


def _runner(warm: WarmCheckov | None) -> ck.ScanRunner:
    return ck.run_checkov if warm is None else warm.scan


def start_enforcement(inputs: PolicyInputs, pool: ThreadPoolExecutor,
                      warm: WarmCheckov | None = None) -> Future[Enforcement]:
    """Starts reading the enforcement file, its check ids checked against what Checkov knows
    (the list cached per Checkov version and policies; else listed while Terraform plans)."""
    return pool.submit(load_enforcement_for, inputs, None if warm is None else warm.run)


def scan_plan(inputs: PolicyInputs, judged: dict[str, Any], judged_file: Path,
              warm: WarmCheckov | None = None, configuration: str | None = None) -> ck.Scan:
    """Scans the judged view of the (redacted) plan, reusing the verdict of an identical view;
    a new view is scanned by the warm Checkov when there is one, else by a cold one.

    The view is written to judged_file (mode 0600) for Checkov to read. With configuration
    (flow/last_scan.py) the workdir remembers that this configuration was judged.
    """
    text = json.dumps(judged, sort_keys=True)
    write_atomically(judged_file, text, durable=False)  # read by this run's Checkov only
    judged_file.chmod(0o600)
    key = "plan-" + ck.digest_of([*inputs.identity(), text.encode()])
    args = ck.plan_args(inputs.checkov, judged_file, inputs.policies_dir)
    scan = ck.cached_scan(inputs.cache_dir, key, args, "the plan", _runner(warm))
    if configuration is not None:
        last_scan.remember(judged_file.parent, configuration, key)
    return scan


def load_enforcement_for(inputs: PolicyInputs, run: ck.Runner | None = None) -> Enforcement:
    """The enforcement file, with check ids checked against what Checkov knows."""
    known = ck.known_check_ids(inputs.checkov, inputs.cache_dir, inputs.policies_dir, run)
    return load_enforcement(inputs.policies_dir / ENFORCEMENT_FILE, known)


def shapes_entry(target: Target, cache_dir: Path) -> Path:
    """Where the provider's shapes are cached: per lock file (provider versions)."""
    lock = (target.workdir / LOCK_FILE).read_bytes()
    return cache_dir / f"shapes-{hashlib.sha256(lock).hexdigest()}.json"


def provider_shapes(target: Target, env: Mapping[str, str], cache_dir: Path,
                    types: set[str]) -> dict[str, Shape]:
    """What the provider computes, for types (and more where the cache had none); cached per
    lock file. Only the types asked are read from the cache: the provider has hundreds."""
    entry = shapes_entry(target, cache_dir)
    try:
        raw = json.loads(entry.read_text(encoding="utf-8"))
        return {name: Shape.from_json(raw[name]) for name in types if name in raw}
    except (OSError, ValueError, KeyError, TypeError):
        return read_provider_shapes(target, env, entry)


def read_provider_shapes(target: Target, env: Mapping[str, str],
                         entry: Path) -> dict[str, Shape]:
    """Every resource type's shape, read from the provider (`providers schema`), then cached
    in entry."""
    shapes = shapes_from_schema(commands.provider_schema(target.engine, target.workdir, env))
    write_atomically(entry, json.dumps({name: s.to_json() for name, s in shapes.items()}))
    return shapes


@dataclass(frozen=True)
class _Started:
    """What a started scan runs in the background while Terraform plans."""

    inputs: PolicyInputs
    modules: Future[ck.Scan]
    enforcement: Future[Enforcement]
    warm: WarmCheckov | None
    configuration: str  # what the plan is made from (flow/last_scan.py)


class PolicyScan:
    """One plan's policy scan: start() before Terraform plans, verdict() once it has."""

    def __init__(self, target: Target, rules: Rules, started: _Started | None,
                 problem: str | None = None) -> None:
        self._target = target
        self._rules = rules
        self._started = started
        self._problem = problem
        self._shapes: Future[dict[str, Shape]] | None = None

    def read_shapes_ahead(self, env: Mapping[str, str], pool: ThreadPoolExecutor) -> None:
        """Once Terraform has planned: where the provider's shapes are not cached (a fresh
        runner), reads them while Terraform shows the plan. Both start the provider; on two
        cores they run side by side instead of one after the other."""
        if self._started is None or self._shapes is not None:
            return
        entry = shapes_entry(self._target, self._started.inputs.cache_dir)
        if not entry.is_file():
            self._shapes = pool.submit(read_provider_shapes, self._target, env, entry)

    def close(self) -> None:
        """Stops the warm Checkov and what it still runs (the plan is judged, or failed)."""
        if self._started is not None and self._started.warm is not None:
            self._started.warm.close()

    @classmethod
    def start(cls, target: Target, rules: Rules, pool: ThreadPoolExecutor) -> PolicyScan:
        """Finds Checkov and, overlapping Terraform's plan, starts the module scan and the check
        list, with the policies of the trusted revision; a warm Checkov too, unless every scan
        is probably cached (flow/last_scan.py). pool needs two workers."""
        workspace = target.project
        if rules.trusted is None:
            return cls(target, rules, None, rules.problem)
        untrusted = untrusted_gate_files(workspace.root)
        if untrusted:
            return cls(target, rules, None, "files in the checkout would decide the policy "
                       "gate, which judges only with the trusted rules: remove "
                       + ", ".join(untrusted))
        try:
            inputs = PolicyInputs(ck.find_checkov(workspace.root), workspace.modules_dir,
                                  rules.trusted.policies_dir, workspace.policy_cache_dir)
        except ck.CheckovError as error:
            return cls(target, rules, None, error.message)
        module_key = module_scan_key(inputs)
        configuration = last_scan.configuration_digest(target.workdir, module_key)
        warm = None if _all_likely_cached(inputs, target.workdir, module_key, configuration) \
            else WarmCheckov.open(inputs.checkov, ck.checkov_version(inputs.checkov))
        close_ahead()  # one started ahead and not taken: this plan has what it needs
        try:
            return cls(target, rules, _Started(
                inputs, start_module_scan(inputs, pool, warm, module_key),
                start_enforcement(inputs, pool, warm), warm, configuration))
        except BaseException:  # e.g. an unreadable module file: no worker is left behind
            if warm is not None:
                warm.close()
            raise

    def verdict(self, env: Mapping[str, str], result: Plan,
                content: PlanContent | None) -> Decision:
        """The policy gate's decision for result (naming the rules that judged it)."""
        return replace(self._verdict(env, result, content), rules=self._rules.note)

    def _verdict(self, env: Mapping[str, str], result: Plan,
                 content: PlanContent | None) -> Decision:
        settings, started = self._rules.settings, self._started
        if started is None or content is None:
            return refusal(settings, result.digest, self._problem or "no plan content to scan")
        check_override_resources(settings, {r.change.address
                                            for r in content.document.resources})
        try:
            view = self._judged_view(env, content.redacted, started.inputs.cache_dir)
            plan_scan = scan_plan(started.inputs, view, self._target.workdir / JUDGED_PLAN,
                                  started.warm, started.configuration)
            modules, enforcement = started.modules.result(), started.enforcement.result()
        except (ck.CheckovError, TerraformError) as error:
            return refusal(settings, result.digest, error.message)
        workspace = self._target.project
        modules_root = str(workspace.modules_dir.relative_to(workspace.root))
        return evaluate(settings, result.digest, plan_scan, modules, enforcement,
                        datetime.date.today(), modules_root)


    def _judged_view(self, env: Mapping[str, str], redacted: str,
                     cache_dir: Path) -> dict[str, Any]:
        """What the policies judge of the redacted plan (gates/policy/plan_view.py)."""
        document = json.loads(redacted)
        shapes = self._shapes.result() if self._shapes is not None else \
            provider_shapes(self._target, env, cache_dir, resource_types(document))
        return judged_view(document, shapes)


def _all_likely_cached(inputs: PolicyInputs, workdir: Path, module_key: str,
                       configuration: str) -> bool:
    """Whether the module scan and the check list are cached, and the plan scan probably is."""
    cache = inputs.cache_dir
    return (ck.cache_entry(cache, module_key).is_file()
            and ck.check_list_entry(inputs.checkov, cache, inputs.policies_dir).is_file()
            and last_scan.plan_scan_likely_cached(workdir, cache, configuration))


def destroy_decision(settings_environment: str, digest: str) -> Decision:
    """A destroy plan creates and changes nothing: no policy applies."""
    return Decision(GATE, digest, settings_environment,
                    notes=("a destroy plan creates and changes nothing: no policy applies",))
