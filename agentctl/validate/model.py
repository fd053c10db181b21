"""The data `agentctl validate` produces: rules, diagnostics, per-file reports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from agentctl.records import field, record
from agentctl.spec import AgentFile

Severity = Literal["error", "warning", "info"]
# What a markdown file is to Claude Code, by where it sits (discovery.py): an agent, agentctl's memory
# note or team protocol, a slash command, a skill's SKILL.md or one of its other files, a rules file,
# an output style, Claude Code's own agent memory (agent-memory*/), a CLAUDE.md, or anything else.
FileKind = Literal[
    "agent",
    "memory",
    "protocol",
    "other",
    "command",
    "skill",
    "skill-file",
    "rule",
    "output-style",
    "agent-memory",
    "claude-md",
]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@record
class Rule:
    """A check with a stable id: ids are never reused or renumbered."""

    id: str
    slug: str
    severity: Severity
    summary: str
    group: str


@record
class Diagnostic:
    rule: str
    severity: Severity
    line: int
    column: int
    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }


@record
class FileReport:
    path: Path
    display_path: str
    kind: FileKind
    agent: AgentFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    resolved: Path | None = None  # the real path, computed once (resolving is a syscall per part)

    @property
    def real_path(self) -> Path:
        return self.resolved or self.path

    def is_below(self, folder: Path) -> bool:
        """Whether the file lies below `folder` (an already resolved folder, as Settings holds)."""
        return self.real_path.as_posix().startswith(folder.as_posix() + "/")

    def count(self, severity: Severity) -> int:
        return sum(1 for diagnostic in self.diagnostics if diagnostic.severity == severity)


@record
class Report:
    files: list[FileReport]

    def count(self, severity: Severity) -> int:
        return sum(report.count(severity) for report in self.files)

    def failed(self, strict: bool) -> bool:
        """Whether CI should fail: any error, or any warning under --strict."""
        return self.count("error") > 0 or (strict and self.count("warning") > 0)

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "infos": self.count("info"),
        }


# A check looks at one agent file and yields its findings for one or more rules.
FileCheck = Callable[[AgentFile], Iterator[Diagnostic]]
