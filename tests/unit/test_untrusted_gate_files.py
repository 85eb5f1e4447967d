"""What in a checkout would decide the policy gate instead of the trusted rules: a checked-in
verdict cache, a Checkov configuration. Either refuses the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from loono_infra.flow.repository import untrusted_gate_files
from tests.conftest import commit_all, git


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "terraform" / "modules" / "ecr").mkdir(parents=True)
    (tmp_path / "terraform" / "modules" / "ecr" / "main.tf").write_text("# ecr\n")
    (tmp_path / ".gitignore").write_text(".loono/\n")
    commit_all(tmp_path, "a clean checkout")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_clean_checkout_has_none(checkout: Path) -> None:
    (checkout / ".loono" / "policy-cache").mkdir(parents=True)
    (checkout / ".loono" / "policy-cache" / "ids.json").write_text("[]")  # untracked: ours
    assert untrusted_gate_files(checkout) == []


def test_a_verdict_cache_forced_into_git_is_named(checkout: Path) -> None:
    forged = checkout / ".loono" / "policy-cache" / "plan.json"
    forged.parent.mkdir(parents=True)
    forged.write_text('{"resource_count": 9, "results": []}')
    git(checkout, "add", "-f", str(forged))
    commit_all(checkout, "a passing verdict, precomputed")
    assert untrusted_gate_files(checkout) == [".loono/policy-cache/plan.json (tracked by git)"]


@pytest.mark.parametrize("where", [".checkov.yaml", "terraform/modules/ecr/.checkov.yml"])
def test_a_checkov_configuration_is_named(checkout: Path, where: str) -> None:
    (checkout / where).write_text("skip-check:\n  - CKV_AWS_136\n")
    assert untrusted_gate_files(checkout) == [f"{checkout / where} (a Checkov configuration)"]


def test_outside_git_the_gate_cannot_tell(tmp_path: Path) -> None:
    found = untrusted_gate_files(tmp_path / "not-a-repository")
    assert len(found) == 1 and found[0].startswith("git cannot list the tracked files")
