"""flow/last_scan.py: the guess whether a plan's scans are all cached (no warm Checkov then)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loono_infra.clients import checkov as ck
from loono_infra.flow import last_scan


def _root_module(workdir: Path, tags: str = "{}") -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf.json").write_text('{"module": {}}', encoding="utf-8")
    (workdir / "terraform.tfvars.json").write_text(f'{{"tags": {tags}}}', encoding="utf-8")
    (workdir / ".terraform.lock.hcl").write_text("# lock", encoding="utf-8")


def _remembered(tmp_path: Path) -> tuple[Path, Path, str]:
    workdir, cache = tmp_path / "work", tmp_path / "cache"
    _root_module(workdir)
    cache.mkdir()
    configuration = last_scan.configuration_digest(workdir, "hcl-1")
    last_scan.remember(workdir, configuration, "plan-1")
    ck.cache_entry(cache, "plan-1").write_text("{}", encoding="utf-8")
    return workdir, cache, configuration


def test_the_same_configuration_with_its_scan_cached_is_likely_cached(tmp_path: Path) -> None:
    workdir, cache, configuration = _remembered(tmp_path)
    assert last_scan.plan_scan_likely_cached(workdir, cache, configuration)


def test_an_apply_since_the_last_plan_means_a_scan(tmp_path: Path) -> None:
    workdir, cache, configuration = _remembered(tmp_path)
    last_scan.forget(workdir)  # what every apply does
    assert not last_scan.plan_scan_likely_cached(workdir, cache, configuration)


def test_a_verdict_gone_from_the_cache_means_a_scan(tmp_path: Path) -> None:
    workdir, cache, configuration = _remembered(tmp_path)
    ck.cache_entry(cache, "plan-1").unlink()
    assert not last_scan.plan_scan_likely_cached(workdir, cache, configuration)


@pytest.mark.parametrize("change", ["tags", "modules", "lock", "extra file"])
def test_another_configuration_means_a_scan(tmp_path: Path, change: str) -> None:
    workdir, cache, _ = _remembered(tmp_path)
    module_key = "hcl-2" if change == "modules" else "hcl-1"
    if change == "tags":
        _root_module(workdir, '{"Round": "2"}')
    elif change == "lock":
        (workdir / ".terraform.lock.hcl").write_text("# another provider", encoding="utf-8")
    elif change == "extra file":
        (workdir / "override.tf.json").write_text("{}", encoding="utf-8")
    now = last_scan.configuration_digest(workdir, module_key)
    assert not last_scan.plan_scan_likely_cached(workdir, cache, now)


def test_files_beside_the_root_module_do_not_count(tmp_path: Path) -> None:
    workdir, _, configuration = _remembered(tmp_path)
    (workdir / "plan.redacted.json").write_text("{}", encoding="utf-8")  # the scanners' copy
    (workdir / "tfplan").write_bytes(b"binary plan")
    assert last_scan.configuration_digest(workdir, "hcl-1") == configuration


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"configuration": 1}',
                                  '{"configuration": "%s", "plan_scan": 7}'])
def test_an_unreadable_hint_means_a_scan(tmp_path: Path, text: str) -> None:
    workdir, cache, configuration = _remembered(tmp_path)
    (workdir / last_scan.LAST_SCAN).write_text(text.replace("%s", configuration),
                                               encoding="utf-8")
    assert not last_scan.plan_scan_likely_cached(workdir, cache, configuration)


def test_no_hint_means_a_scan(tmp_path: Path) -> None:
    workdir, cache, configuration = _remembered(tmp_path)
    (workdir / last_scan.LAST_SCAN).unlink()
    assert not last_scan.plan_scan_likely_cached(workdir, cache, configuration)
