"""CODEOWNERS with GitHub's semantics: gitignore-style patterns, the last matching line wins.

Patterns are matched with pathspec's gitignore implementation, plus the places
where GitHub's documentation departs from gitignore: `docs/*` owns the files
directly in docs/ only; `!` negation and `[ ]` ranges are not supported (GitHub
skips such lines; so do we, and we report them with their line numbers).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pathspec
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

SEARCH_ORDER = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_USER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@functools.lru_cache(maxsize=1024)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([pattern])


@functools.lru_cache(maxsize=1024)
def _direct_children(pattern: str) -> re.Pattern[str]:
    """The regex of a `.../*` pattern (its `ps_d` group is set when it matched a parent dir)."""
    regex = GitIgnoreSpecPattern(pattern).regex
    assert regex is not None  # only comments and blank lines have none, and those are no rules
    return regex


@dataclass(frozen=True)
class LineProblem:
    """A CODEOWNERS line GitHub would skip or reject."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}"


@dataclass(frozen=True)
class Rule:
    """One valid CODEOWNERS line."""

    line: int
    pattern: str
    owners: tuple[str, ...]

    def matches(self, path: str) -> bool:
        """Whether this line's pattern matches a repository-relative file path."""
        if self.pattern.endswith("/*"):  # GitHub: the files directly in the directory, not deeper
            found = _direct_children(self.pattern).match(path)
            return found is not None and found.groupdict().get("ps_d") is None
        return bool(_spec(self.pattern).match_file(path))


@dataclass(frozen=True)
class CodeOwners:
    """A parsed CODEOWNERS file."""

    source: str
    rules: tuple[Rule, ...]
    problems: tuple[LineProblem, ...]

    def rule_for(self, path: str) -> Rule | None:
        """The last rule matching path (GitHub's precedence), or None."""
        return next((rule for rule in reversed(self.rules) if rule.matches(path)), None)

    def owners_of(self, path: str) -> tuple[str, ...]:
        """The owners of a path; () when no line matches or the last match clears ownership."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()


def owner_problem(owner: str) -> str | None:
    """Why an owner entry is invalid, or None."""
    if _USER.match(owner) or _TEAM.match(owner) or _EMAIL.match(owner):
        return None
    return f"{owner!r} is not @user, @org/team or an e-mail address"


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be compiled (e.g. a trailing lone backslash), or None."""
    try:
        _spec(pattern)
    except ValueError as error:  # pathspec's GitIgnorePatternError is one
        return f"not a valid pattern ({error})"
    return None


def _strip_comment(line: str) -> str:
    return re.split(r"(?<!\\)#", line, maxsplit=1)[0].strip()


def _parse_line(number: int, raw: str) -> Rule | LineProblem | None:
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    pattern, *owners = _strip_comment(text).split()
    if pattern.startswith("!"):
        return LineProblem(number, raw, "negation (!) is not supported by GitHub")
    if "[" in pattern or "]" in pattern:
        return LineProblem(number, raw, "character ranges ([ ]) are not supported by GitHub")
    if (problem := pattern_problem(pattern)) is not None:
        return LineProblem(number, raw, problem)
    invalid = [problem for owner in owners if (problem := owner_problem(owner))]
    if invalid:
        return LineProblem(number, raw, "; ".join(invalid))
    return Rule(number, pattern, tuple(owners))  # a leading \# stays escaped for pathspec


def parse_codeowners(text: str, source: str = "CODEOWNERS") -> CodeOwners:
    """Parses a CODEOWNERS file; invalid lines are kept as problems, not rules."""
    rules: list[Rule] = []
    problems: list[LineProblem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parsed = _parse_line(number, raw)
        if isinstance(parsed, Rule):
            rules.append(parsed)
        elif isinstance(parsed, LineProblem):
            problems.append(parsed)
    return CodeOwners(source, tuple(rules), tuple(problems))
