"""The reviewed enforcement file: each check's level, per environment, with the reasons."""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loono_infra.core.decision import LEVELS, Level
from loono_infra.core.errors import SettingsError, SettingsProblem

ENFORCEMENT_FILE = "enforcement.toml"


@dataclass(frozen=True)
class CheckLevel:
    """A check's level, its per-environment levels, and why."""

    level: Level
    per_environment: dict[str, Level]
    reason: str


@dataclass(frozen=True)
class Enforcement:
    """Every listed check's level, and the level of the ones not listed."""

    default_level: Level
    checks: dict[str, CheckLevel]
    source: str

    def level_for(self, check_id: str, environment: str) -> Level:
        """The level that applies to a check in an environment."""
        listed = self.checks.get(check_id)
        if listed is None:
            return self.default_level
        return listed.per_environment.get(environment, listed.level)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(needle):
            return number
    return 0


def _level(value: object, where: str, problems: list[SettingsProblem]) -> Level:
    if value in LEVELS:
        return value
    problems.append(SettingsProblem(where, f"{value!r} is not one of {', '.join(LEVELS)}"))
    return "hard-mandatory"


def _check_level(check_id: str, raw: Any, where: str,
                 problems: list[SettingsProblem]) -> CheckLevel:
    if not isinstance(raw, dict) or "level" not in raw:
        problems.append(SettingsProblem(where, "expected { level = \"...\" }"))
        return CheckLevel("hard-mandatory", {}, "")
    extra = {k: v for k, v in raw.items() if k not in ("level", "reason")}
    per_environment = {env: _level(v, f"{where}.{env}", problems) for env, v in extra.items()}
    level = _level(raw["level"], f"{where}.level", problems)
    reason = str(raw.get("reason", ""))
    if level == "advisory" and check_id.split("_")[1] != "LOONO" and not reason.strip():
        problems.append(SettingsProblem(where, "an advisory built-in check needs a reason"))
    return CheckLevel(level, per_environment, reason)


def load_enforcement(path: Path, known_checks: Collection[str]) -> Enforcement:
    """Reads and checks the enforcement file; an unknown check id is an error naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(str(path), [SettingsProblem("(file)", str(exc))]) from None
    problems: list[SettingsProblem] = []
    default = _level(raw.get("default_level", "soft-mandatory"), "default_level", problems)
    checks: dict[str, CheckLevel] = {}
    for check_id, entry in (raw.get("checks") or {}).items():
        where = f"checks.{check_id} (line {_line_of(text, check_id)})"
        if check_id not in known_checks:
            problems.append(SettingsProblem(where, "unknown check id (not Checkov's, not ours)"))
        checks[check_id] = _check_level(check_id, entry, where, problems)
    if problems:
        raise SettingsError(str(path), problems)
    return Enforcement(default, checks, str(path))
