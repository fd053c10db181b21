"""The data shapes commands print, built from core records: one source for the CLI's `--format json`
documents and the MCP server's tool results (`agentctl mcp`), so the two say the same thing.

Plain functions over core data; nothing here prints or imports typer, rich or mcp. Cheap to import:
`list`, `show`, `validate` and `prompt` use it on their start-up budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.prompts import Prompt
    from agentctl.sources import SourcedAgent
    from agentctl.spec import AgentFile
    from agentctl.team import Team
    from agentctl.validate.model import FileReport, Report

JSON_VERSION = 1  # of every command's --format json document; keys are only ever added


# --- agents (list, show) ---------------------------------------------------------------------------


def roster_kind(team: Team) -> str:
    """ "table": the protocol's roster; "derived": made from the agent files (no roster table)."""
    return "derived" if team.roster_derived else "table"


def relative_to_root(team: Team, agent: AgentFile) -> str:
    try:
        return agent.path.relative_to(team.settings.root).as_posix()
    except ValueError:
        return str(agent.path)


def source_fields(team: Team, item: SourcedAgent) -> dict[str, Any]:
    """Where Claude Code reads the agent, and the file of the agent that wins over it (or None)."""
    hidden_by = relative_to_root(team, item.hidden_by) if item.hidden_by is not None else None
    return {
        "source": item.source,
        "plugin": item.plugin,
        "hidden_by": hidden_by,
        "hides_builtin": item.hides_builtin,
        "ignored_keys": item.ignored_keys,
    }


def agent_summary(team: Team, agent: AgentFile) -> dict[str, Any]:
    """One row of `agentctl list`: names, file, model, tools, the description's first line and
    Claude Code's verdict."""
    verdict = agent.verdict
    description = (verdict.description if verdict.loads else agent.spec.description) or ""
    return {
        "name": agent.name,
        "display_name": team.display_name(agent.name or ""),
        "path": relative_to_root(team, agent),
        "model": agent.spec.model,
        "tools": verdict.tools if verdict.loads else agent.spec.tools,
        "description": description.strip().split("\n", 1)[0],
        "claude_code": verdict.to_json() | {"tools_display": verdict.tools_display},
    }


def agent_details(team: Team, agent: AgentFile) -> dict[str, Any]:
    """`agentctl show`: the row, with the whole description, frontmatter, examples and body."""
    spec = agent.spec
    summary = agent_summary(team, agent)
    summary["description"] = (agent.verdict.description if agent.verdict.loads else spec.description) or ""
    return summary | {
        "frontmatter": spec.raw,
        "disallowed_tools": spec.disallowed_tools,
        "examples": [
            {"context": e.context, "user": e.user, "assistant": e.assistant, "commentary": e.commentary}
            for e in spec.examples
        ],
        "body": spec.body,
        "body_line": spec.body_line,
    }


# --- validate ------------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, object]:
    """The stable JSON contract of DESIGN.md."""
    from agentctl.claude_code import CLAUDE_CODE_VERSION

    return {
        "version": JSON_VERSION,
        "claude_code_version": CLAUDE_CODE_VERSION,  # the release whose loader the verdicts model
        "files": [file_json(file) for file in report.files],
        "summary": report.summary(),
    }


def file_json(file: FileReport) -> dict[str, object]:
    entry: dict[str, object] = {"path": file.display_path, "kind": file.kind}
    if file.agent is not None:
        entry["claude_code"] = file.agent.verdict.to_json()
    entry["diagnostics"] = [diagnostic.to_json() for diagnostic in file.diagnostics]
    return entry


def summary_line(report: Report, strict: bool) -> str:
    """`33 files checked (16 agents, 0 that Claude Code skips): 0 errors, ...; passed`."""
    counts = report.summary()
    agents = sum(1 for file in report.files if file.kind == "agent")
    skipped = sum(1 for file in report.files if file.agent is not None and not file.agent.verdict.loads)
    verdict = "failed" if report.failed(strict) else "passed"
    return (
        f"{counts['files']} files checked ({agents} agents, {skipped} that Claude Code skips{_other_kinds(report)}): "
        f"{counts['errors']} errors, {counts['warnings']} warnings, {counts['infos']} infos; {verdict}"
        + (" (--strict)" if strict else "")
    )


# The kinds the summary counts besides agents, in the order a `.claude/` folder lists them.
_COUNTED_KINDS = (
    ("command", "commands"),
    ("skill", "skills"),
    ("skill-file", "skill files"),
    ("rule", "rules files"),
    ("output-style", "output styles"),
    ("agent-memory", "agent memory files"),
    ("claude-md", "CLAUDE.md files"),
)


def _other_kinds(report: Report) -> str:
    """`; 3 commands, 1 skills` for the files of `.claude/` that are not agents, if any."""
    counts = {kind: 0 for kind, _ in _COUNTED_KINDS}
    for file in report.files:
        if file.kind in counts:
            counts[file.kind] += 1
    parts = [f"{counts[kind]} {plural}" for kind, plural in _COUNTED_KINDS if counts[kind]]
    return "; " + ", ".join(parts) if parts else ""


# --- prompt ------------------------------------------------------------------------------------------


def prompt_request(prompt: Prompt, agent: str, mode: str, model: str, part: str = "all") -> dict[str, Any]:
    """What `agentctl prompt --format json` prints: the Messages API's `system` and `messages`
    (`part`: all, system or user)."""
    system: list[dict[str, Any]] = []
    for block in prompt.system:
        entry: dict[str, Any] = {"type": "text", "text": block.text}
        if block.cache:
            entry["cache_control"] = {"type": "ephemeral"}
        system.append(entry)
    data: dict[str, Any] = {"agent": agent, "mode": mode, "model": model, "memories": prompt.memories}
    if part != "user":
        data["system"] = system
    if part != "system":
        data["messages"] = [{"role": "user", "content": prompt.user}]
    return data
