"""A plan's diff as Markdown that fits a budget: per environment a table of every change and,
collapsed, the attribute diff of each update and replacement.

GitHub refuses a comment over 65,536 characters. When the whole diff does not fit the room
left, the least important parts are folded first (the attribute diffs of updates, then of
replacements, then the table's last rows), always whole blocks, never a cut in the middle of
Markdown, and a note says where the rest is (the job summary).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from loono_infra.reports.plan_diff import ResourceDiff

COMMENT_LIMIT = 65_536  # GitHub's limit on an issue or pull-request comment
SUMMARY_LIMIT = 1_000_000  # GitHub Actions' job summary takes 1 MiB per step
Scrub = Callable[[str], str]


def _cell(text: str) -> str:
    """Text for a table cell or <summary>: HTML escaped (a for_each key may hold markup)."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "'")


def _code(text: str) -> str:
    """Text for a fenced block: no fence ends it, and no HTML comment opens in the raw
    Markdown (the report's hidden record is one)."""
    return text.replace("```", "'''").replace("<!--", "<!\u2060--")


def table_row(diff: ResourceDiff) -> str:
    mark = "⚠️" if diff.rank == 0 else ""
    what = f"{diff.action}, holds data" if diff.stateful and diff.rank == 0 else diff.action
    return f"| {mark} | `{_cell(diff.address)}` | {what} |"


def details_block(diff: ResourceDiff) -> str:
    lines = [f"- {a.path}: {a.before}\n+ {a.path}: {a.after}" for a in diff.attributes]
    body = _code("\n".join(lines))
    count = len(diff.attributes)
    return (f"<details><summary><code>{_cell(diff.address)}</code>: {diff.action}, {count} "
            f"attribute{'s' if count != 1 else ''}</summary>\n\n```diff\n{body}\n```\n\n"
            "</details>")


@dataclass
class _Environment:
    """One environment's diff: its blocks (scrubbed once), and how many rows and which
    attribute diffs are still shown."""

    name: str
    diffs: Sequence[ResourceDiff]
    scrub: Scrub
    fold_note: str
    rows: int = 0
    details: dict[int, str] = field(default_factory=dict)  # index in diffs -> its block

    def __post_init__(self) -> None:
        self.rows = len(self.diffs)
        self._rows = [self.scrub(table_row(d)) for d in self.diffs]
        self.details = {i: self.scrub(details_block(d)) for i, d in enumerate(self.diffs)
                        if d.attributes}
        self._all_details = len(self.details)

    def _table(self) -> str:
        lines = [f"#### Changes ({len(self.diffs)})", "", "| | resource | action |",
                 "| --- | --- | --- |", *self._rows[:self.rows]]
        hidden = len(self.diffs) - self.rows
        return "\n".join([*lines, f"| | … and {hidden} more | |"] if hidden else lines)

    def _folded(self) -> bool:
        return self.rows < len(self.diffs) or len(self.details) < self._all_details

    def size(self) -> int:
        """len(self.render()), without rendering."""
        if not self.diffs:
            return 0
        table = len(self._table())
        blocks = sum(len(block) + 2 for block in self.details.values())
        return table + blocks + (len(self.fold_note) + 2 if self._folded() else 0)

    def render(self) -> str:
        if not self.diffs:
            return ""
        blocks = [self._table(), *(self.details[i] for i in sorted(self.details))]
        return "\n\n".join([*blocks, self.fold_note] if self._folded() else blocks)


def fit_diffs(per_environment: Mapping[str, Sequence[ResourceDiff]], room: int, scrub: Scrub,
              fold_note: str) -> dict[str, str]:
    """Environment -> its diff Markdown, all of it within room characters together."""
    note = scrub(fold_note)
    environments = [_Environment(name, diffs, scrub, note)
                    for name, diffs in per_environment.items()]

    def size() -> int:
        return sum(e.size() for e in environments)

    droppable = sorted(((e, i) for e in environments for i in e.details),
                       key=lambda pair: (pair[0].diffs[pair[1]].rank,
                                         pair[0].diffs[pair[1]].address), reverse=True)
    total = size()
    for environment, index in droppable:
        if total <= room:
            break
        environment.details.pop(index)
        total = size()
    while size() > room and any(e.rows for e in environments):
        widest = max(environments, key=lambda e: e.rows)
        widest.rows = max(0, widest.rows - max(1, widest.rows // 4))
    if size() > room:
        return {e.name: note if e.diffs else "" for e in environments}
    return {e.name: e.render() for e in environments}
