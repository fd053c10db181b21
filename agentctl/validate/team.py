"""Rules across files: what one file cannot know alone (NM003, NM005)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.validate.model import FileReport
from agentctl.validate.positions import value_position
from agentctl.validate.rules import finding

if TYPE_CHECKING:
    from agentctl.spec import AgentFile


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


def check_hidden_user_agents(reports: list[FileReport], agents_dir: Path, user_agents: Sequence[AgentFile]) -> None:
    """Add NM005 to every team agent that hides a user agent ($HOME/.claude/agents/) of its name:
    Claude Code 2.1.332 prefers the project's, so the user's never runs in this project."""
    users: dict[str, list[AgentFile]] = defaultdict(list)
    for user_agent in user_agents:
        if user_agent.verdict.loads and user_agent.verdict.name:
            users[user_agent.verdict.name].append(user_agent)
    for report in reports:
        agent = report.agent
        if agent is None or not agent.verdict.loads or not report.is_below(agents_dir):
            continue
        for hidden in users.get(agent.verdict.name or "", []):
            report.diagnostics.append(
                finding(
                    "NM005",
                    *value_position(agent, "name"),
                    f"the agent {agent.verdict.name!r} hides the user agent {hidden.path}; Claude Code uses "
                    "this one in the project",
                    "nothing to do if that is meant; rename one to keep both (`--no-user` skips this check)",
                )
            )
