"""CODEOWNERS semantics, proven on the example file of GitHub's documentation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loono_infra.flow.repository import find_codeowners
from loono_infra.gates.owners.codeowners import parse_codeowners

# The example CODEOWNERS of GitHub's "About code owners" page (owners shortened).
GITHUB_EXAMPLE = """\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""

TABLE = [
    ("README.md", ("@global-owner1", "@global-owner2")),
    ("src/app.js", ("@js-owner",)),
    ("main.go", ("docs@example.com",)),
    ("notes/a.txt", ("@octo-org/octocats",)),
    # /build/logs/ owns it, but the later **/logs line wins.
    ("build/logs/today/out.log", ("@octocat",)),
    # docs/* owns files directly in docs/ (GitHub's comment on this line) ...
    ("docs/getting-started.md", ("@doctocat",)),
    # ... /docs/ (a later line) owns everything below the root docs/ folder.
    ("docs/build-app/troubleshooting.md", ("@doctocat",)),
    ("nested/docs/getting-started.md", ("@global-owner1", "@global-owner2")),
    ("nested/docs/deeper/file.md", ("@global-owner1", "@global-owner2")),
    ("scripts/deploy.sh", ("@doctocat", "@octocat")),
    ("deeply/nested/logs/x.md", ("@octocat",)),
    ("lib/apps/file.rb", ("@octocat",)),
    ("apps/web/file.rb", ("@octocat",)),
    ("apps/github/file.rb", ()),
]


@pytest.mark.parametrize(("path", "owners"), TABLE, ids=[row[0] for row in TABLE])
def test_githubs_documented_example(path: str, owners: tuple[str, ...]) -> None:
    codeowners = parse_codeowners(GITHUB_EXAMPLE)
    assert codeowners.problems == ()
    assert codeowners.owners_of(path) == owners


def test_invalid_lines_are_reported_with_their_numbers() -> None:
    codeowners = parse_codeowners("* @ok\n!secret.txt @x\n[ab].md @y\n*.md not-an-owner\n"
                                  "\\#hash.md @z\n")
    assert [(p.line, p.reason.split(" ")[0]) for p in codeowners.problems] == [
        (2, "negation"), (3, "character"), (4, "'not-an-owner'")]
    assert codeowners.owners_of("#hash.md") == ("@z",)
    assert codeowners.owners_of("secret.txt") == ("@ok",)


def test_search_order_is_githubs(tmp_path: Path) -> None:
    assert find_codeowners(tmp_path) is None
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @a\n")
    assert find_codeowners(tmp_path) == tmp_path / "docs" / "CODEOWNERS"
    (tmp_path / "CODEOWNERS").write_text("* @b\n")
    assert find_codeowners(tmp_path) == tmp_path / "CODEOWNERS"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @c\n")
    assert find_codeowners(tmp_path) == tmp_path / ".github" / "CODEOWNERS"


NESTED_WILDCARDS = [
    ("**/logs/* @logs", "build/logs/out.log", ("@logs",)),
    ("**/logs/* @logs", "logs/out.log", ("@logs",)),
    ("**/logs/* @logs", "build/logs/2026/out.log", ()),
    ("/src/*/test/* @tests", "src/api/test/test_a.py", ("@tests",)),
    ("/src/*/test/* @tests", "src/api/test/unit/test_a.py", ()),
    ("/src/*/test/* @tests", "lib/src/api/test/test_a.py", ()),
    ("*/docs/* @docs", "guide/docs/index.md", ("@docs",)),
    ("*/docs/* @docs", "docs/index.md", ()),
    ("*/docs/* @docs", "a/b/docs/index.md", ()),
]


@pytest.mark.parametrize(("line", "path", "owners"), NESTED_WILDCARDS)
def test_a_trailing_star_owns_direct_children_of_every_matching_directory(
        line: str, path: str, owners: tuple[str, ...]) -> None:
    assert parse_codeowners(line).owners_of(path) == owners


_SEGMENT = st.text(alphabet="abcXYZ09._-*?/\\#! []@", min_size=0, max_size=12)
_PATH = st.lists(st.text(alphabet="abcXYZ09._-", min_size=1, max_size=6),
                 min_size=1, max_size=5).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_SEGMENT, st.lists(st.sampled_from(
    ["@a", "@org/team", "x@y.io", "bad", "@", ""]), max_size=3)), max_size=8), _PATH)
def test_any_file_parses_and_answers_without_raising(
        lines: list[tuple[str, list[str]]], path: str) -> None:
    text = "\n".join(" ".join([pattern, *owners]) for pattern, owners in lines)
    codeowners = parse_codeowners(text)
    assert isinstance(codeowners.owners_of(path), tuple)
    assert all(problem.line >= 1 for problem in codeowners.problems)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_SEGMENT, st.sampled_from(["@a", "@org/team", ""])), max_size=8),
       _PATH)
def test_a_last_star_line_owns_every_path(lines: list[tuple[str, str]], path: str) -> None:
    text = "\n".join(f"{pattern} {owner}" for pattern, owner in lines) + "\n* @x\n"
    assert parse_codeowners(text).owners_of(path) == ("@x",)


@pytest.mark.parametrize(("line", "deep", "top"), [
    ("**/* @all", ("@all",), ("@all",)), ("/**/* @all", ("@all",), ("@all",)),
    ("/* @root", (), ("@root",))])
def test_patterns_without_a_directory_part_answer_without_raising(
        line: str, deep: tuple[str, ...], top: tuple[str, ...]) -> None:
    owners = parse_codeowners(line)
    assert (owners.owners_of("a/b/c.tf"), owners.owners_of("top.tf")) == (deep, top)
