"""A pull request cannot talk its way past the gates: the base revision's rules judge it.

The attack branch (one PR by mallory, who has push rights) turns CKV2_LOONO_1 advisory, adds an
override for it, makes herself the owner of terraform/, names herself production's risky-action
approver, and lowers the backup retention to one day. Judged from the base, it is blocked on the
backup check and waits for the base owners of every gate file it touched; once those owners
approve the gate-file changes, the change's own rules judge it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loono_infra import load_settings
from loono_infra.ci.review_report import pull_request_report
from loono_infra.sandbox.control import SandboxInfo
from tests.conftest import commit_all, git
from tests.github_fake import REPO, FakeGitHub, github_server
from tests.integration.conftest import project_sharing_sandbox

pytestmark = pytest.mark.integration

RDS = "module.rds.aws_db_instance.this"


def _attack(project: Path) -> str:
    """The attack branch's one commit; returns it."""
    git(project, "checkout", "-q", "-b", "attack")
    enforcement = project / "policies" / "enforcement.toml"
    enforcement.write_text(enforcement.read_text().replace(
        'CKV2_LOONO_1 = { level = "hard-mandatory" }',
        'CKV2_LOONO_1 = { level = "advisory", reason = "backups are slow" }'))
    codeowners = project / ".github" / "CODEOWNERS"
    codeowners.write_text(codeowners.read_text() + "/terraform/ @mallory\n")
    production = project / "environments" / "production.toml"
    text = production.read_text().replace("backup_retention_days = 7", "backup_retention_days = 1")
    production.write_text(text + f'''
[ownership]
risky_approvers = ["@mallory"]

[[policy.overrides]]
check = "CKV2_LOONO_1"
resource = "{RDS}"
reason = "one day is enough"
expires = 2027-01-31
''')
    return commit_all(project, "tidy up the backup settings")


@pytest.fixture
def attacked(sandbox_project: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str, str, FakeGitHub]]:
    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    base = git(project, "rev-parse", "HEAD")
    head = _attack(project)
    with github_server() as fake:
        fake.add_pull(11, "mallory", head)
        fake.teams |= {"@loono/infrastructure": ["ivan"], "@loono/database-owners": ["dora"],
                       "@loono/infrastructure-leads": ["lee"]}
        fake.review(11, "mallory", "APPROVED", head)  # her own approval never counts
        for name, value in {"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "test-token",
                            "GITHUB_API_URL": fake.base_url, "LOONO_PULL_REQUEST": "11",
                            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
                            "GITHUB_OUTPUT": str(tmp_path / "output")}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(project)
        yield project, base, head, fake


def test_the_attack_pr_is_judged_by_the_base_rules(attacked: tuple[Path, str, str, FakeGitHub],
                                                   sandbox: SandboxInfo) -> None:
    project, base, head, _ = attacked
    settings = load_settings(project / "environments" / "production.toml")
    report = pull_request_report([settings], sandbox=True, base=base, comment=False)
    planned = report.plans[0]
    policy, owners = planned.decision, planned.owners
    assert policy is not None and owners is not None
    assert base[:12] in (policy.rules or "") and head[:12] not in (policy.rules or "")
    assert "gate files" in (policy.rules or "")
    blocking = {(f.check_id, f.resource) for f in policy.failures}
    assert ("CKV2_LOONO_1", RDS) in blocking, policy.failures
    assert not any(f.overridden_by for f in policy.findings if f.check_id == "CKV2_LOONO_1")
    missing = " ".join(f.message for f in owners.failures)
    for gate_file in (".github/CODEOWNERS", "policies/enforcement.toml",
                      "environments/production.toml"):
        assert gate_file in missing
    assert "@loono/infrastructure" in missing and "@loono/database-owners" in missing
    assert "@mallory" not in missing  # the change's own CODEOWNERS does not count
    assert not report.ready


def test_approved_gate_files_let_the_change_s_rules_judge(
        attacked: tuple[Path, str, str, FakeGitHub], sandbox: SandboxInfo) -> None:
    project, base, head, fake = attacked
    fake.review(11, "ivan", "APPROVED", head)  # @loono/infrastructure owns every gate file
    settings = load_settings(project / "environments" / "production.toml")
    planned = pull_request_report([settings], sandbox=True, base=base, comment=False).plans[0]
    policy = planned.decision
    assert policy is not None and head[:12] in (policy.rules or ""), policy.rules
    assert all(f.check_id != "CKV2_LOONO_1" for f in policy.failures), policy.failures
    assert planned.owners is not None and head[:12] in (planned.owners.rules or "")


def test_uncommitted_rules_never_judge(sandbox_project: Path, sandbox: SandboxInfo,
                                       tmp_path: Path) -> None:
    from loono_infra import plan

    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    enforcement = project / "policies" / "enforcement.toml"
    enforcement.write_text(enforcement.read_text().replace(
        'CKV2_LOONO_1 = { level = "hard-mandatory" }', 'CKV2_LOONO_1 = { level = "advisory" }'))
    production = project / "environments" / "production.toml"
    production.write_text(production.read_text().replace("backup_retention_days = 7",
                                                         "backup_retention_days = 1"))
    planned = plan(load_settings(production), sandbox=True, refresh=False)
    assert planned.decision is not None and not planned.decision.passed
    assert [f.check_id for f in planned.decision.failures] == ["CKV2_LOONO_1"]
    assert "rules of HEAD" in (planned.decision.rules or "")


def test_not_a_git_checkout_refuses_with_the_reason(sandbox_project: Path, sandbox: SandboxInfo,
                                                    tmp_path: Path) -> None:
    import shutil

    from loono_infra import plan

    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    shutil.rmtree(project / ".git")
    planned = plan(load_settings(project / "environments" / "production.toml"), sandbox=True,
                   refresh=False)
    for decision in (planned.decision, planned.owners):
        assert decision is not None and not decision.passed
        assert "cannot be read with git" in decision.failures[0].message


def test_a_committed_work_area_never_answers_for_the_gates(sandbox_project: Path,
                                                           sandbox: SandboxInfo,
                                                           tmp_path: Path) -> None:
    from loono_infra import plan

    project = project_sharing_sandbox(tmp_path / "p", sandbox_project)
    forged = project / ".loono" / "aws" / "production" / "plan.json"
    forged.parent.mkdir(parents=True)
    forged.write_text('{"owners": {"gate": "owners", "failures": []}}')
    git(project, "add", "-f", str(forged))
    commit_all(project, "a plan record that says the owners approved")
    planned = plan(load_settings(project / "environments" / "production.toml"), sandbox=True,
                   refresh=False)
    for decision in (planned.decision, planned.owners):
        assert decision is not None and not decision.passed
        assert "is committed under .loono" in decision.failures[0].message
