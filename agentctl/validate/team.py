"""Rules across files: what one file cannot know alone (NM003)."""

from __future__ import annotations

from collections import defaultdict

from agentctl.validate.model import FileReport
from agentctl.validate.positions import value_position
from agentctl.validate.rules import finding


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
