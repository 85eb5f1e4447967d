"""The policy gate end to end on the sandbox (production's own settings, rehearsed there)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from loono_infra import apply, load_settings, plan
from loono_infra.clients import checkov as ck
from loono_infra.clients import checkov_daemon
from loono_infra.clients.checkov_worker import WarmCheckov
from loono_infra.core.errors import GateRefusedError, TerraformError
from loono_infra.core.terraform import commands
from loono_infra.flow import last_scan
from loono_infra.reports.terminal import decision_text
from loono_infra.sandbox.control import SandboxInfo
from tests.conftest import PROJECT_ROOT, SHARED_POLICY_CACHE, commit_all, daemons
from tests.integration.conftest import project_sharing_sandbox
from tests.integration.verdicts import finding_keys, with_extra_tag

pytestmark = pytest.mark.integration

RDS = "module.rds.aws_db_instance.this"


def _edit_production(project: Path, old: str, new: str) -> None:
    path = project / "environments" / "production.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_production_passes_with_its_dated_override(sandbox_project: Path,
                                                   sandbox: SandboxInfo) -> None:
    planned = plan(load_settings(sandbox_project / "environments" / "production.toml"),
                   sandbox=True, refresh=False)
    decision = planned.decision
    assert decision is not None and decision.passed, decision and decision_text(decision)
    assert decision.digest == planned.digest
    overridden = {f.check_id for f in decision.findings if f.overridden_by}
    assert "CKV_LOONO_14" in overridden  # PostgreSQL 12, past standard support, dated
    engine_finding = next(f for f in decision.findings if f.check_id == "CKV_LOONO_14")
    assert engine_finding.resource == RDS and engine_finding.file == "terraform/modules/rds/main.tf"
    assert decision.checked > 50


def test_one_day_of_backups_blocks_apply_naming_the_check(sandbox_project: Path,
                                                          sandbox: SandboxInfo,
                                                          tmp_path: Path) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    _edit_production(project, "backup_retention_days = 7", "backup_retention_days = 1")
    settings = load_settings(project / "environments" / "production.toml")
    planned = plan(settings, sandbox=True, refresh=False)
    assert planned.decision is not None and not planned.decision.passed
    assert [f.check_id for f in planned.decision.failures] == ["CKV2_LOONO_1"]
    with pytest.raises(GateRefusedError) as caught:
        apply(planned)
    assert "CKV2_LOONO_1" in " ".join(caught.value.details())
    completed = subprocess.run(
        [sys.executable, "-m", "loono_infra.cli", "apply", "--env", "production", "--sandbox"],
        cwd=project, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert completed.returncode == 3 and "CKV2_LOONO_1" in completed.stderr + completed.stdout


def test_an_expired_override_blocks(sandbox_project: Path, sandbox: SandboxInfo,
                                    tmp_path: Path) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    _edit_production(project, "expires = 2027-03-31", f"expires = {yesterday}")
    commit_all(project, "an override that has expired")  # gate settings count once committed
    planned = plan(load_settings(project / "environments" / "production.toml"), sandbox=True,
                   refresh=False)
    assert planned.decision is not None and not planned.decision.passed
    messages = [f.message for f in planned.decision.failures]
    assert any(f"expired on {yesterday}" in m for m in messages)
    assert any("CKV_LOONO_14 (soft-mandatory) fails" in m for m in messages)


def test_a_crashing_checkov_blocks(sandbox_project: Path, sandbox: SandboxInfo,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    broken = tmp_path / "bin" / "checkov"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'Segmentation fault' >&2\nexit 139\n")
    broken.chmod(0o755)
    monkeypatch.setenv("LOONO_CHECKOV", str(broken))
    planned = plan(load_settings(project / "environments" / "production.toml"), sandbox=True,
                   refresh=False)
    assert planned.decision is not None and not planned.decision.passed
    assert planned.decision.failures[0].kind == "gate"
    assert "Checkov crashed" in planned.decision.failures[0].message
    assert "exit 139" in planned.decision.failures[0].message
    with pytest.raises(GateRefusedError):
        apply(planned)


def test_the_redacted_plan_holds_no_password(sandbox_project: Path, sandbox: SandboxInfo,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOONO_DB_PASSWORD", "planted-Secret-0815-abc")
    planned = plan(load_settings(sandbox_project / "environments" / "production.toml"),
                   sandbox=True, refresh=False)
    redacted = (planned.workdir / "plan.redacted.json").read_text()
    assert "planted-Secret-0815-abc" not in redacted and "(redacted)" in redacted
    assert "planted-Secret-0815-abc" not in str(planned.to_dict())


def test_a_warm_checkov_starts_only_where_a_scan_may_run(sandbox_project: Path,
                                                          sandbox: SandboxInfo, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """flow/last_scan.py: an unchanged re-plan starts no warm Checkov (its verdicts are cached);
    a wrong guess is judged by a cold Checkov, with the same verdict; a change starts one."""
    project = project_sharing_sandbox(tmp_path / "w", sandbox_project)
    cache = project / ".loono" / "policy-cache"
    cache.unlink()  # a cache of its own: this test removes an entry from it
    shutil.copytree(SHARED_POLICY_CACHE, cache)
    warm_started: list[bool] = []
    real_open = WarmCheckov.open

    def counted(checkov: Path, version: str | None) -> WarmCheckov | None:
        worker = real_open(checkov, version)  # the session's daemon, or a worker of its own
        warm_started.append(worker is not None)
        return worker

    monkeypatch.setattr(WarmCheckov, "open", counted)
    cold_scans: list[str] = []
    real_cold = ck.run_checkov

    def counted_cold(args: list[str], what: str) -> ck.Scan:
        cold_scans.append(what)
        return real_cold(args, what)

    monkeypatch.setattr(ck, "run_checkov", counted_cold)
    settings = load_settings(project / "environments" / "production.toml")
    first = plan(settings, sandbox=True, refresh=False)
    assert first.decision is not None and first.decision.passed, \
        first.decision and decision_text(first.decision)
    assert warm_started == [True]  # a workdir's first plan: its plan scan may run
    assert cold_scans == []  # the warm one scanned it
    workdir_hint = first.workdir / last_scan.LAST_SCAN
    remembered = json.loads(workdir_hint.read_text(encoding="utf-8"))

    again = plan(settings, sandbox=True, refresh=False)
    assert warm_started == [True]  # the same configuration, no apply since: all cached
    assert cold_scans == []  # ... and they were: nothing scanned at all
    assert again.decision is not None and again.decision.passed
    assert again.decision.digest == again.digest and finding_keys(again) == finding_keys(first)

    # A wrong guess: the hint names a cached scan, but this plan's own verdict is not cached.
    real_entry = ck.cache_entry(cache, remembered["plan_scan"])
    real_entry.unlink()
    ck.cache_entry(cache, "plan-forged").write_text("{}", encoding="utf-8")
    workdir_hint.write_text(json.dumps({**remembered, "plan_scan": "plan-forged"}))
    guessed_wrong = plan(settings, sandbox=True, refresh=False)
    assert warm_started == [True]  # no warm Checkov: a cold one scanned the plan
    assert cold_scans == ["the plan"]
    assert real_entry.is_file()  # ... for real, and cached its verdict again
    assert guessed_wrong.decision is not None and guessed_wrong.decision.passed
    assert guessed_wrong.decision.digest == guessed_wrong.digest
    assert finding_keys(guessed_wrong) == finding_keys(first)

    changed = plan(with_extra_tag(settings, "Round", "2"), sandbox=True, refresh=False)
    assert warm_started == [True, True]  # another configuration: its plan scan may run
    assert cold_scans == ["the plan"]  # the warm one scanned it
    assert changed.decision is not None and changed.decision.passed
    assert changed.decision.digest == changed.digest
    assert finding_keys(changed) == finding_keys(first)  # a tag judged as before


def test_a_developers_next_changed_plans_are_judged_by_one_daemon(
        sandbox_project: Path, sandbox: SandboxInfo, tmp_path: Path, daemon_on: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """clients/checkov_daemon.py: the first changed plan starts the daemon, the next connects to
    it (no worker, no cold scan of its own); each verdict is the one a plan's own worker gives."""
    project = project_sharing_sandbox(tmp_path / "w", sandbox_project)
    own_workers: list[bool] = []
    daemon_starts: list[bool] = []
    cold_scans: list[str] = []
    real_start, real_daemon, real_cold = WarmCheckov.start, checkov_daemon._started, ck.run_checkov

    def counted_worker(checkov: Path, version: str | None) -> WarmCheckov | None:
        own_workers.append(True)
        return real_start(checkov, version)

    def counted_daemon(python: Path, path: Path, env: Mapping[str, str]) -> bool:
        daemon_starts.append(real_daemon(python, path, env))
        return daemon_starts[-1]

    def counted_cold(args: list[str], what: str) -> ck.Scan:
        cold_scans.append(what)
        return real_cold(args, what)

    monkeypatch.setattr(WarmCheckov, "start", counted_worker)
    monkeypatch.setattr(checkov_daemon, "_started", counted_daemon)
    monkeypatch.setattr(ck, "run_checkov", counted_cold)
    settings = load_settings(project / "environments" / "production.toml")
    first = plan(with_extra_tag(settings, "Daemon1", "d1"), sandbox=True, refresh=False)
    assert (daemon_starts, own_workers, cold_scans) == ([True], [], [])
    started = daemons(daemon_on.parent)
    assert len(started) == 1
    second = plan(with_extra_tag(settings, "Daemon2", "d2"), sandbox=True, refresh=False)
    assert (daemon_starts, own_workers, cold_scans) == ([True], [], [])  # connected, scanned
    assert daemons(daemon_on.parent) == started

    monkeypatch.setenv(checkov_daemon.DAEMON_ENV, "off")
    own = plan(with_extra_tag(settings, "Daemon3", "d3"), sandbox=True, refresh=False)
    assert (daemon_starts, own_workers, cold_scans) == ([True], [True], [])
    for judged in (first, second, own):
        assert judged.decision is not None and judged.decision.passed, \
            judged.decision and decision_text(judged.decision)
        assert judged.decision.digest == judged.digest
    assert len({first.digest, second.digest, own.digest}) == 3  # three plans, three scans
    assert finding_keys(first) == finding_keys(second) == finding_keys(own)
    assert finding_keys(first)  # advisories are found: the scans read the plan


def test_a_fresh_runner_reads_the_provider_shapes_while_terraform_shows_the_plan(
        sandbox_project: Path, sandbox: SandboxInfo, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without cached shapes the schema is read once, on a pool thread beside `show`, and judges
    as the cached shapes do; a schema read that fails refuses the plan, naming it."""
    project = project_sharing_sandbox(tmp_path / "w", sandbox_project)
    cache = project / ".loono" / "policy-cache"
    cache.unlink()
    shutil.copytree(SHARED_POLICY_CACHE, cache, ignore=shutil.ignore_patterns("shapes-*"))
    readers: list[str] = []
    schema_started: list[float] = []
    show_span: list[float] = []
    real_schema, real_show = commands.provider_schema, commands.show_plan

    def counted(engine: Any, workdir: Path, env: Mapping[str, str]) -> dict[str, Any]:
        readers.append(threading.current_thread().name)
        schema_started.append(time.monotonic())
        return real_schema(engine, workdir, env)

    def timed_show(*args: Any) -> Any:
        show_span.append(time.monotonic())
        try:
            return real_show(*args)
        finally:
            show_span.append(time.monotonic())

    monkeypatch.setattr(commands, "provider_schema", counted)
    monkeypatch.setattr(commands, "show_plan", timed_show)
    settings = load_settings(project / "environments" / "production.toml")
    fresh = plan(with_extra_tag(settings, "Fresh", "1"), sandbox=True, refresh=False)
    assert len(readers) == 1 and readers[0] != threading.main_thread().name
    assert schema_started[0] < show_span[1], "the schema was read after show, not beside it"
    assert list(cache.glob("shapes-*.json"))
    cached = plan(with_extra_tag(settings, "Cached", "2"), sandbox=True, refresh=False)
    assert len(readers) == 1  # read from the cache this time
    for judged in (fresh, cached):
        assert judged.decision is not None and judged.decision.passed, \
            judged.decision and decision_text(judged.decision)
    assert finding_keys(fresh) == finding_keys(cached) and finding_keys(fresh)

    for entry in cache.glob("shapes-*.json"):
        entry.unlink()

    def failing(engine: Any, workdir: Path, env: Mapping[str, str]) -> dict[str, Any]:
        raise TerraformError("providers schema", [], "the schema is not JSON")

    monkeypatch.setattr(commands, "provider_schema", failing)
    refused = plan(with_extra_tag(settings, "Broken", "3"), sandbox=True, refresh=False)
    assert refused.decision is not None and not refused.decision.passed
    assert [f.message for f in refused.decision.failures] == [
        "terraform providers schema failed: see the output below"]
