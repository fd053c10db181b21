"""Team rules (TM*): the roster, the agents' escalations, First Step paths and memory files agree.

They check against the team protocol's roster; without a roster table (or without a protocol), against
the roster team.py derives from the agent files, where the rules about roster rows (TM001, TM002)
have nothing to compare.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agentctl import escalation
from agentctl.config import Settings
from agentctl.spec import AgentFile
from agentctl.team import RosterEntry, derived_roster, normalise_name, parse_roster, project_paths, read_protocol
from agentctl.validate.model import FileReport
from agentctl.validate.positions import value_position
from agentctl.validate.rules import finding
from agentctl.walk import real_path


def check_team(reports: list[FileReport], team_agents: Iterable[FileReport], settings: Settings | None) -> None:
    """Add TM* findings to the reports of the team's files."""
    if settings is None:
        return
    protocol_report = _report_of(reports, settings.protocol_file)
    has_protocol = settings.protocol_file.is_file()
    try:
        protocol_text = read_protocol(settings.protocol_file) if has_protocol else ""  # bounded: outside text
    except OSError as error:
        _no_roster(protocol_report, f"the team protocol cannot be read ({error.strerror or error})")
        return
    roster = _roster(reports, list(team_agents), protocol_text, protocol_report, settings)
    known = {normalise_name(entry.agent) for entry in roster} | {normalise_name(e.display_name) for e in roster}
    prefixes = project_paths(protocol_text)
    for report in reports:
        if report.agent is not None and report.kind == "agent" and report.is_below(settings.agents_dir):
            _check_targets(report, report.agent.text, known)
            missing = _check_first_step(report, report.agent, settings, prefixes)
            _check_team_paths(report, report.agent, settings, missing)
        elif has_protocol and report.kind == "memory" and report.is_below(settings.memory_dir):
            # Memory notes are checked here in a team with a protocol, as before teams without one
            # had team rules; `agentctl memory lint` checks every store.
            _check_memory_file(report, settings, {normalise_name(entry.agent) for entry in roster})
    if protocol_report is not None:
        _check_targets(protocol_report, protocol_text, known)


def _roster(
    reports: list[FileReport],
    agents: list[FileReport],
    protocol_text: str,
    protocol_report: FileReport | None,
    settings: Settings,
) -> list[RosterEntry]:
    """The protocol's roster, checked against the agent files (TM001, TM002); without a roster table,
    the one team.py derives from the agent files (TM008 when there is a protocol)."""
    roster = parse_roster(protocol_text)
    if roster:
        _check_roster(reports, agents, roster, protocol_report, settings.agents_dir)
        return roster
    if settings.protocol_file.is_file():
        _no_roster(protocol_report, "the team protocol has no roster table")
    files = [report.agent for report in agents if report.agent is not None and report.is_below(settings.agents_dir)]
    return derived_roster(files)


def _no_roster(protocol_report: FileReport | None, why: str) -> None:
    if protocol_report is not None:
        protocol_report.diagnostics.append(
            finding(
                "TM008",
                1,
                1,
                f"{why}: the roster is derived from the agent files",
                "to give agents display names, domains and memory formats, add a table with"
                " `| Agent | Display name | ... |` columns, one row per agent",
            )
        )


def _report_of(reports: list[FileReport], path: Path) -> FileReport | None:
    resolved = real_path(path)  # never raises, even on a symlink loop (Path.resolve does)
    return next((report for report in reports if report.real_path == resolved), None)


def _check_roster(
    reports: list[FileReport],
    agents: list[FileReport],
    roster: list[RosterEntry],
    protocol: FileReport | None,
    agents_dir: Path,
) -> None:
    on_roster = {normalise_name(entry.agent) for entry in roster}
    with_files = {
        normalise_name(report.agent.name)
        for report in agents
        if report.agent is not None and report.agent.name and report.is_below(agents_dir)
    }
    for report in reports:
        agent = report.agent
        if report.kind != "agent" or agent is None or not agent.name or not report.is_below(agents_dir):
            continue
        if normalise_name(agent.name) not in on_roster:
            report.diagnostics.append(
                finding(
                    "TM001",
                    *value_position(agent, "name"),
                    f"{agent.name!r} is not in the team protocol's roster",
                    "add a roster row for it (`agentctl new` does both), or remove the file",
                )
            )
    if protocol is None:
        return
    for entry in roster:
        if normalise_name(entry.agent) not in with_files:
            protocol.diagnostics.append(
                finding(
                    "TM002",
                    entry.line,
                    1,
                    f"the roster lists `{entry.agent}`, but no agent file defines it",
                    f"add agents/{entry.agent}.md, or remove the row",
                )
            )


def _check_targets(report: FileReport, text: str, known: set[str]) -> None:
    for target in [*escalation.escalation_targets(text), *escalation.handoff_targets(text)]:
        if normalise_name(target.name) not in known:
            report.diagnostics.append(
                finding(
                    "TM003",
                    target.line,
                    1,
                    f"the {target.where} names {target.name!r}, who is not on the roster",
                    "use a display name or agent name from the roster in agents-shared/team-protocol.md",
                )
            )


def _check_first_step(report: FileReport, agent: AgentFile, settings: Settings, prefixes: list[str]) -> set[str]:
    """TM004 on each First Step path that is the team's and is nowhere in it; returns those paths."""
    missing: set[str] = set()
    for path, line in escalation.first_step_paths(agent.text):
        if any(path.startswith(prefix) for prefix in prefixes if prefix):
            continue  # the project's, not the team's
        if _team_path_exists(path, agent, settings):
            continue
        missing.add(path)
        report.diagnostics.append(
            finding(
                "TM004",
                line,
                1,
                f"First Step tells the agent to read `{path}`, which does not exist",
                "fix the path, or list its folder under 'Project paths' in the protocol's Paths section",
            )
        )
    return missing


def _check_team_paths(report: FileReport, agent: AgentFile, settings: Settings, reported: set[str]) -> None:
    """TM010 on each path of the team (its folders, Claude Code's memory folders) that the agent's
    body names and that is not there when read from the root, where Claude Code runs the agent.
    First Step paths TM004 already reported as missing are left to it."""
    own = _own_memory_folders(agent, settings)
    body = agent.lines[agent.spec.body_line - 1 :] if agent.lines else []
    for path, line, column in escalation.named_paths(body, agent.spec.body_line, _team_prefixes(settings)):
        if path in reported or path.rstrip("/") in own or os.path.lexists(settings.root / path):
            continue
        if _team_path_exists(path, agent, settings):
            where = _in_team(path, settings)
            message = (
                f"`{path}` is not in the project root, where Claude Code runs the agent: the team has it at `{where}`"
            )
            hint = f"write the path as `{where}`, from the project root (`agentctl init` writes a team's paths so)"
        else:
            message = f"`{path}` does not exist (read from the project root, where Claude Code runs the agent)"
            hint = "fix the path, or create what it names"
        report.diagnostics.append(finding("TM010", line, column, message, hint))


def _team_prefixes(settings: Settings) -> tuple[str, ...]:
    """How a path that names the team's files begins: the short forms, each team folder as the
    layout places it below the root, and Claude Code's own agent memory folders."""
    folders = {"agents-shared/", "agents-memory/", ".claude/agent-memory/", ".claude/agent-memory-local/"}
    for folder in (settings.agents_dir, settings.shared_dir, settings.memory_dir):
        relative = _relative(settings.root, folder)
        if relative:
            folders.add(relative + "/")
    return tuple(sorted(folders))


def _own_memory_folders(agent: AgentFile, settings: Settings) -> set[str]:
    """The agent's own memory folders, from the root: they appear with its first note."""
    if not agent.name:
        return set()
    folders = {f"agents-memory/{agent.name}", f".claude/agent-memory/{agent.name}"}
    folders.add(f".claude/agent-memory-local/{agent.name}")
    relative = _relative(settings.root, settings.memory_dir)
    if relative:
        folders.add(f"{relative}/{agent.name}")
    return folders


def _relative(root: Path, folder: Path) -> str:
    try:
        return folder.relative_to(root).as_posix() if folder != root else ""
    except ValueError:
        return ""


def _in_team(path: str, settings: Settings) -> str:
    """Where the team keeps what a short-form path names, from the root."""
    for prefix, folder in (("agents-shared/", settings.shared_dir), ("agents-memory/", settings.memory_dir)):
        if path.startswith(prefix):
            relative = _relative(settings.root, folder)
            return f"{relative}/{path[len(prefix) :]}" if relative else path
    return path


def _team_path_exists(path: str, agent: AgentFile, settings: Settings) -> bool:
    if path.rstrip("/") in _own_memory_folders(agent, settings):
        return True  # an agent's own memory folder appears with its first note, wherever the layout puts it
    if agent.name and (settings.root / path.rstrip("/")) == settings.memory_dir / agent.name:
        return True
    folders = {
        "agents-shared/": settings.shared_dir,
        "agents-memory/": settings.memory_dir,
        "agents/": settings.agents_dir,
        "templates/": settings.templates_dir,
    }
    for prefix, folder in folders.items():
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if prefix == "agents-memory/" and agent.name and rest.strip("/") == agent.name:
                return True  # an agent's own memory folder appears with its first note
            return (folder / rest).exists()
    return (settings.root / path).exists()


def _check_memory_file(report: FileReport, settings: Settings, agents: set[str]) -> None:
    from agentctl.memory import parse_entry

    relative = report.real_path.relative_to(settings.memory_dir)
    owner = relative.parts[0] if len(relative.parts) > 1 else None
    if owner is None or normalise_name(owner) not in agents:
        report.diagnostics.append(
            finding(
                "TM005",
                1,
                1,
                f"memory folder {owner or '(top level)'!r} belongs to no agent on the roster",
                "move the note into agents-memory/<agent-name>/, or rename the folder",
            )
        )
    entry = parse_entry(owner or "", report.path)
    for problem in entry.problems:
        if problem.startswith("not named") or problem.endswith("is not a date"):
            report.diagnostics.append(
                finding(
                    "TM006",
                    1,
                    1,
                    f"the memory file name {report.path.name!r} is not YYYY-MM-DD-topic.md",
                    "rename it to its date and a lowercase, hyphenated topic, e.g. 2026-03-05-model-choice.md",
                )
            )
        elif problem == "no 'Applies when' line":
            report.diagnostics.append(
                finding(
                    "TM007",
                    1,
                    1,
                    "the memory note has no 'Applies when' line, so nobody knows when to recall it",
                    "add `**Applies when:** <situation>` (or `## Applies when:`)",
                )
            )
        else:
            report.diagnostics.append(
                finding("TM009", 1, 1, f"the memory note: {problem}", "keep notes to 5-15 lines of UTF-8 markdown")
            )
