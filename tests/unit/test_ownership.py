"""Who must approve: files and planned resources mapped to owners; risky actions; local refusal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loono_infra.clients.github import GitHubContext, PullRequestInfo, Review
from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings, load_settings
from loono_infra.core.terraform.models import ResourceChange
from loono_infra.flow.gating import judge_owners, rules_for
from loono_infra.flow.repository import changed_files
from loono_infra.flow.targets import resolve_target
from loono_infra.flow.trusted import Rules
from loono_infra.gates.owners.approvals import effective_approvers
from loono_infra.gates.owners.codeowners import parse_codeowners
from loono_infra.gates.owners.mapping import coverage_problems, requirements
from tests.conftest import PROJECT_ROOT, commit_all

CODEOWNERS = parse_codeowners((PROJECT_ROOT / ".github" / "CODEOWNERS").read_text())
INFRA, DB, LEADS = "@loono/infrastructure", "@loono/database-owners", "@loono/infrastructure-leads"


def change(address: str, rtype: str, action: str) -> ResourceChange:
    module = ".".join(address.split(".")[:2]) if address.startswith("module.") else None
    return ResourceChange(address, module, rtype, address.rsplit(".", 1)[1], action)


def needed(files: list[str], changes: list[ResourceChange]) -> dict[tuple[str, ...], set[str]]:
    found = requirements(CODEOWNERS, files, changes, "terraform/modules",
                         "environments/production.toml", [LEADS])
    return {r.owners: set(r.files) | set(r.resources) for r in found}


def test_module_resources_need_their_module_owners() -> None:
    result = needed([], [change("module.rds.aws_db_instance.this", "aws_db_instance", "update"),
                         change("module.ecs.aws_lb.this", "aws_lb", "create"),
                         change("module.ecs.aws_ecs_service.this", "aws_ecs_service", "noop")])
    assert result == {(DB,): {"module.rds.aws_db_instance.this"},
                      (INFRA,): {"module.ecs.aws_lb.this"}}


def test_a_settings_edit_that_replaces_the_database_needs_db_owners_and_leads() -> None:
    result = needed(["environments/production.toml"],
                    [change("module.rds.aws_db_instance.this", "aws_db_instance", "replace")])
    assert result[(INFRA,)] == {"environments/production.toml"}
    assert result[(DB,)] == {"module.rds.aws_db_instance.this"}
    assert result[(LEADS,)] == {"module.rds.aws_db_instance.this"}


def test_deleting_stateless_resources_is_not_risky() -> None:
    result = needed([], [change("module.ecs.aws_iam_role.task", "aws_iam_role", "delete"),
                         change("module.ecs.aws_ecs_task_definition.this",
                                "aws_ecs_task_definition", "replace")])
    assert (LEADS,) not in result


@pytest.mark.parametrize(("address", "kind"), [
    ("module.ecs.aws_ecs_service.this", "aws_ecs_service"),
    ("module.ecs.aws_lb_target_group.this", "aws_lb_target_group"),
    ("module.ecs.aws_lb.this", "aws_lb"),
])
@pytest.mark.parametrize("action", ["replace", "delete"])
def test_replacing_what_serves_the_traffic_is_risky(address: str, kind: str, action: str) -> None:
    assert needed([], [change(address, kind, action)])[(LEADS,)] == {address}


def test_updating_what_serves_the_traffic_in_place_is_not_risky() -> None:
    result = needed([], [change("module.ecs.aws_ecs_service.this", "aws_ecs_service", "update")])
    assert result == {(INFRA,): {"module.ecs.aws_ecs_service.this"}}


def test_codeowners_must_be_valid_and_cover_terraform() -> None:
    assert coverage_problems(CODEOWNERS, "terraform") == []
    empty = coverage_problems(parse_codeowners(""), "terraform")
    assert empty == ["CODEOWNERS has no ownership rules"]
    partial = parse_codeowners("docs/ @writers\n!x @y\n")
    problems = coverage_problems(partial, "terraform")
    assert any("line 2" in p for p in problems)
    assert any("terraform/ no owner" in p for p in problems)


def test_latest_review_per_reviewer_on_the_head_counts() -> None:
    pull = PullRequestInfo(1, "alice", "h")
    reviews = [Review(1, "bob", "APPROVED", "h"), Review(2, "bob", "COMMENTED", "h"),
               Review(3, "carol", "APPROVED", "old"), Review(4, "dan", "APPROVED", "h"),
               Review(5, "dan", "CHANGES_REQUESTED", "h"), Review(6, "alice", "APPROVED", "h")]
    assert set(effective_approvers(pull, reviews)) == {"bob"}


def test_a_local_run_cannot_approve_itself(project_copy: Path) -> None:
    settings = load_settings(project_copy / "environments" / "production.toml")
    decision = judge_owners(project_copy, settings, "sha256:x",
                            [change("module.rds.aws_db_instance.this", "aws_db_instance",
                                    "create")], _rules(settings), None)
    assert not decision.passed
    assert "a local run cannot approve itself" in decision.failures[0].message
    assert DB in decision.failures[0].message


def test_no_codeowners_file_refuses(project_copy: Path) -> None:
    (project_copy / ".github" / "CODEOWNERS").unlink()
    commit_all(project_copy, "no owners")
    settings = load_settings(project_copy / "environments" / "production.toml")
    decision = judge_owners(project_copy, settings, "sha256:x", [], _rules(settings), None)
    assert not decision.passed and "no CODEOWNERS" in decision.failures[0].message


def _rules(settings: Settings) -> Rules:
    rules = rules_for(resolve_target(settings), None, None)
    assert rules.trusted is not None, rules.problem
    return rules


def test_git_base_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(LoonoError, match="git cannot compare"):
        changed_files(tmp_path, "origin/nope")


def test_changed_files_between_base_and_head(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c",
                        "user.email=t@example.com", *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "a.txt").write_text("a")
    git("add", "."), git("commit", "-qm", "base")
    git("checkout", "-qb", "change")
    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "b.tf").write_text("b")
    git("add", "."), git("commit", "-qm", "change")
    assert changed_files(tmp_path, "main") == ["terraform/b.tf"]


def test_github_context_from_actions_environment(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 42}}')
    context = GitHubContext.from_environment({
        "GITHUB_REPOSITORY": "loono/infra", "GITHUB_TOKEN": "t", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "abc", "GITHUB_API_URL": "http://127.0.0.1:1"})
    assert context is not None and context.pull_number == 42 and context.sha == "abc"
    assert GitHubContext.from_environment({"GITHUB_REPOSITORY": "x/y"}) is None

