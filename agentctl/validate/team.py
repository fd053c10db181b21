"""Rules across files: what one file cannot know alone (NM003, NM005-NM007)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.validate.model import FileReport
from agentctl.validate.positions import value_position
from agentctl.validate.rules import finding

if TYPE_CHECKING:
    from agentctl.sources import SourcedAgent
    from agentctl.validate.model import Diagnostic


def check_duplicate_names(reports: list[FileReport]) -> None:
    """Add NM003 to every file whose agent name another scanned file also defines."""
    by_name: dict[str, list[FileReport]] = defaultdict(list)
    for report in reports:
        agent = report.agent
        if agent is not None and agent.verdict.loads and agent.verdict.name:
            by_name[agent.verdict.name].append(report)
    for name, holders in by_name.items():
        if len(holders) < 2:
            continue
        # Claude Code 2.1.330 keeps the last file in path order; no version promises it.
        kept = max(holders, key=lambda report: str(report.path))
        for report in holders:
            others = ", ".join(other.display_path for other in holders if other is not report)
            assert report.agent is not None
            report.diagnostics.append(
                finding(
                    "NM003",
                    *value_position(report.agent, "name"),
                    f"the agent name {name!r} is also defined in {others}; Claude Code loads only one "
                    f"(2.1.330 keeps {kept.display_path}, later versions may not)",
                    "rename one of the agents, or delete the copy",
                )
            )


def check_other_places(reports: list[FileReport], agents_dir: Path, others: Sequence[SourcedAgent]) -> None:
    """Compare the team's agents with the other places Claude Code reads agents from, by name:
    a managed or `--agents` agent hides the team's (NM006), the team's hides a user agent (NM005)
    and replaces a built-in agent (NM007). Claude Code 2.1.332's precedence (agentctl.sources)."""
    from agentctl import reference

    by_name: dict[str, list[SourcedAgent]] = defaultdict(list)
    for item in others:
        if item.agent.verdict.loads and item.agent.verdict.name:
            by_name[item.agent.verdict.name].append(item)
    builtins = set(reference.claude_code().builtin_agents)
    for report in reports:
        agent = report.agent
        if agent is None or not agent.verdict.loads or not report.is_below(agents_dir):
            continue
        name = agent.verdict.name or ""
        position = value_position(agent, "name")
        for other in by_name.get(name, []):
            report.diagnostics.append(_place_finding(name, other, position))
        if name in builtins:
            report.diagnostics.append(
                finding(
                    "NM007",
                    *position,
                    f"the agent {name!r} replaces Claude Code's built-in agent of that name in this project",
                    "nothing to do if that is meant; rename it to keep the built-in one",
                )
            )


def _place_finding(name: str, other: SourcedAgent, position: tuple[int, int]) -> Diagnostic:
    if other.source == "user":
        return finding(
            "NM005",
            *position,
            f"the agent {name!r} hides the user agent {other.agent.path}; Claude Code uses this one in the project",
            "nothing to do if that is meant; rename one to keep both (`--no-user` skips this check)",
        )
    where = "the managed agent" if other.source == "managed" else "the --agents agent"
    return finding(
        "NM006",
        *position,
        f"{where} {other.agent.path} has the name {name!r}: Claude Code uses it, never this file",
        "rename this agent, or change the other definition",
    )
