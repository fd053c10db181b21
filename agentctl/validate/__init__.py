"""`agentctl validate`: say what Claude Code does with every agent file, and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.errors import UsageError
from agentctl.validate.model import Diagnostic, FileCheck, FileReport, Report
from agentctl.validate.rules import RULES, rule_ids
from agentctl.walk import display_path

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.sources import Plugin, SourcedAgent
    from agentctl.spec import AgentFile
    from agentctl.validate.discovery import Candidate

__all__ = ["RULES", "Diagnostic", "FileReport", "Report", "check_agent", "display_path", "validate"]


@cache
def file_checks() -> tuple[FileCheck, ...]:
    """Every single-file check, in catalogue order. Imported on first use: `agentctl rules` and
    `route` import this package (for the catalogue, for display_path) and check nothing."""
    from agentctl.validate import clarity, fields, loading, tools

    return (*loading.CHECKS, *fields.CHECKS, *tools.CHECKS, *clarity.CHECKS)


def validate(
    paths: Sequence[Path],
    settings: Settings | None,
    cwd: Path,
    changed: set[Path] | None = None,
    ignore: Iterable[str] = (),
    require_agents: bool = False,
    other_places: Sequence[SourcedAgent] = (),
    select: Iterable[str] = (),
) -> Report:
    """Check the files below `paths` (the team's folders when empty).

    With `changed`, only those files are reported, but names are still compared across all
    scanned files: a new agent can collide with an old one. Paths that hold no agent file give a
    report without agents (nothing to check is not an error: pre-commit passes whatever matched its
    pattern, READMEs included); `require_agents` makes it a UsageError instead. `other_places`, the
    agents of Claude Code's other places (managed, `--agents`, user), are compared with the team's by
    name (NM005, NM006) and never reported.
    """
    from agentctl.validate.discovery import default_paths, discover
    from agentctl.validate.native_memory import check_native_memory
    from agentctl.validate.team import check_duplicate_names, check_other_places
    from agentctl.validate.wiring import check_team

    if not paths:
        if settings is None:
            raise UsageError("no paths to check", hint="pass files or folders, or run inside a team")
        paths = default_paths(settings)
    candidates = discover(paths, settings, explicit=False)
    reports = [_report(candidate, cwd) for candidate in candidates]
    if require_agents and not any(report.kind == "agent" for report in reports):
        listed = ", ".join(str(path) for path in paths)
        raise UsageError(
            f"no agent files in {listed}",
            hint="agent files are markdown files with `name` and `description` frontmatter",
        )
    others = [] if settings is not None and settings.agents_dir in paths else _other_team_agents(reports, settings, cwd)
    # Names are compared with the rest of the team only when every checked file is the team's
    # (pre-commit passes just the staged ones); a folder elsewhere is checked on its own.
    in_team = bool(candidates) and all(candidate.in_agents_dir for candidate in candidates)
    check_duplicate_names(reports + others if in_team else reports)
    if settings is not None:
        check_other_places(reports, settings.agents_dir, other_places)
    check_team(reports, [report for report in reports + others if report.agent and report.kind == "agent"], settings)
    check_native_memory(reports, settings, [place.agent for place in other_places])
    for report in reports:
        report.diagnostics.sort(key=_file_order)
    if changed is not None:
        reports = [report for report in reports if report.real_path in changed]
    _keep_rules(reports, set(select), set(ignore))
    return Report(files=reports)


def chosen_rules(
    settings: Settings | None, select: Sequence[str], ignore: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(select, ignore) of a `validate` call with the team's config: the call's --select replaces the
    config's `select`, its --ignore adds to the config's `ignore` (the CLI and the MCP tool alike)."""
    configured_select, configured_ignore = (settings.select, settings.ignore) if settings else ((), ())
    return list(select or configured_select), [*configured_ignore, *ignore]


def check_agent(agent: AgentFile) -> list[Diagnostic]:
    """Every single-file finding for one agent, in file order."""
    return sorted((diagnostic for check in file_checks() for diagnostic in check(agent)), key=_file_order)


def _file_order(diagnostic: Diagnostic) -> tuple[int, int, str]:
    return diagnostic.line, diagnostic.column, diagnostic.rule


def _other_team_agents(reports: list[FileReport], settings: Settings | None, cwd: Path) -> list[FileReport]:
    """The team's agent files that were not checked, for the rules that compare files."""
    from agentctl.spec import load_agent_file
    from agentctl.validate.discovery import discover

    if settings is None or not settings.agents_dir.is_dir():
        return []
    team_folders = (settings.agents_dir, settings.shared_dir, settings.memory_dir)
    if not any(report.is_below(folder) for report in reports for folder in team_folders):
        return []
    checked = {report.real_path for report in reports}
    others = [c for c in discover([settings.agents_dir], settings, explicit=False) if c.resolved not in checked]
    # Their names are all that matters here; their own findings are not reported.
    return [
        FileReport(c.path, display_path(c.path, cwd), "agent", load_agent_file(c.path), resolved=c.resolved)
        for c in others
    ]


def _report(candidate: Candidate, cwd: Path) -> FileReport:
    from agentctl.sources import plugin_containing
    from agentctl.spec import load_agent_file

    display = display_path(candidate.path, cwd)
    if candidate.kind in ("command", "skill", "output-style"):
        from agentctl.validate.skills import check_document

        # Read like an agent (the same loader) but judged by its own rules; never a team member.
        found = check_document(candidate.kind, load_agent_file(candidate.path))
        return FileReport(candidate.path, display, candidate.kind, diagnostics=found, resolved=candidate.resolved)
    if candidate.kind != "agent" and not (candidate.in_agents_dir or _in_agent_folder(candidate.path)):
        return FileReport(candidate.path, display, candidate.kind, resolved=candidate.resolved)
    if (placed := plugin_containing(candidate.path)) is not None:
        return _plugin_report(candidate, display, *placed)
    agent = load_agent_file(candidate.path)
    if candidate.kind != "agent" and not agent.verdict.loads:
        # A README in the agents folder: Claude Code skips it, and so do we.
        return FileReport(candidate.path, display, candidate.kind, resolved=candidate.resolved)
    return FileReport(candidate.path, display, "agent", agent, check_agent(agent), resolved=candidate.resolved)


def _in_agent_folder(path: Path) -> bool:
    """Whether the file is in the agents folder of a `.claude/` folder or a plugin, where a file named
    like a document (README.md, SECURITY.md) is still read as an agent."""
    from agentctl.validate.discovery import claude_kind, plugin_kind

    return "agent" in (claude_kind(path), plugin_kind(path))


def _plugin_report(candidate: Candidate, display: str, plugin: Plugin, namespace: list[str]) -> FileReport:
    """A plugin's agent: checked as a file, then judged by Claude Code's plugin loader."""
    from agentctl.sources import plugin_verdict
    from agentctl.spec import load_agent_file
    from agentctl.validate.plugins import check_plugin_agent

    agent = load_agent_file(candidate.path)
    found = check_plugin_agent(agent, plugin, check_agent(agent))
    if not agent.too_large and agent.read_error is None:
        agent.verdict = plugin_verdict(agent, plugin, namespace)
    return FileReport(candidate.path, display, "agent", agent, found, resolved=candidate.resolved)


def _keep_rules(reports: list[FileReport], select: set[str], ignore: set[str]) -> None:
    """Only the findings of the selected rules (all when none is), less the ignored ones."""
    if not select and not ignore:
        return
    selected = {rule for wanted in sorted(select) for rule in rule_ids(wanted, "unknown rule to select:")}
    ignored = {rule for wanted in sorted(ignore) for rule in rule_ids(wanted, "unknown rule to ignore:")}
    for report in reports:
        report.diagnostics = [
            diagnostic
            for diagnostic in report.diagnostics
            if (not selected or diagnostic.rule in selected) and diagnostic.rule not in ignored
        ]
