"""Which files `agentctl validate` checks, and as what."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agentctl.config import Settings
from agentctl.errors import UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import record
from agentctl.team import is_document  # the team model decides what is a document
from agentctl.validate.model import FileKind
from agentctl.walk import markdown_files, real_path

_DATED_NOTE = LazyPattern(r"\d{4}-\d{2}-\d{2}-.+\.md")


@record
class Candidate:
    path: Path
    kind: FileKind
    in_agents_dir: bool
    resolved: Path


def default_paths(settings: Settings) -> list[Path]:
    """The team at the root: its agents, shared and memory folders that exist, and the folders of
    the project's `.claude/` that Claude Code reads besides agents (commands, skills, rules, output
    styles, its own agent memory), each checked by its own rules, as `validate .claude` checks them."""
    claude = settings.root / ".claude"
    folders = [settings.agents_dir, settings.shared_dir, settings.memory_dir]
    folders += [claude / name for name, kind in CLAUDE_FOLDERS.items() if kind in PROJECT_KINDS]
    existing = [folder for folder in folders if folder.is_dir()]
    if settings.agents_dir not in existing:
        raise UsageError(
            f"the agents folder {settings.agents_dir} does not exist",
            hint="create it, point `agents` in agentctl.toml at yours, or pass the files to check",
        )
    return existing


def discover(paths: Iterable[Path], settings: Settings | None, explicit: bool = True) -> list[Candidate]:
    """Every file to check below `paths`, classified, in a stable order, without repeats.

    Folders the user named must hold markdown; the team's own folders may be empty. A path named
    that is not a folder is checked as a file, whatever it is (a FIFO, a dangling link): reading it
    gives the finding.
    """
    found: dict[Path, Candidate] = {}
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(
                f"no such file or directory: {path}", hint="check the path, or run without arguments to check the team"
            )
        folder = path.is_dir()
        files = markdown_files(path) if folder else [path]
        if explicit and folder and not files:
            raise UsageError(f"no markdown files below {path}", hint="agent files end in .md")
        # A project root (it holds `.claude/`): Claude Code reads only `.claude/` and CLAUDE.md files
        # there, so its docs are not agents.
        project = folder and (path / ".claude").is_dir()
        for file in files:
            resolved = real_path(file)
            kind = classify(resolved, settings, walked=file, project=project)
            found.setdefault(resolved, Candidate(file, kind, _in_agents_dir(resolved, settings), resolved))
    return sorted(found.values(), key=lambda candidate: str(candidate.path))


def classify(path: Path, settings: Settings | None, walked: Path | None = None, project: bool = False) -> FileKind:
    """Agent file, unless its place says otherwise (a memory note, the team protocol, one of the other
    files of a `.claude/` folder, a CLAUDE.md) or it is recognisably a document.

    `path` is the real path (the team's folders are resolved too); `walked` the path as found, whose
    place in `.claude/` counts even when `.claude/` is a symlink. `project`: the file was found below a
    project root, where markdown outside `.claude/` and the team's folders is not Claude Code's."""
    name = path.name.lower()
    if name == "team-protocol.md":
        return "protocol"
    text = path.as_posix()
    if (settings and _below(text, settings.memory_dir)) or "/agents-memory/" in text:
        return "memory"
    if (settings and _below(text, settings.shared_dir)) or "/agents-shared/" in text:
        return "other"
    in_agents_dir = settings is not None and _below(text, settings.agents_dir)
    placed = claude_kind(walked or path) or plugin_kind(walked or path)
    if placed not in (None, "agent") and not in_agents_dir:
        return placed
    if name in CLAUDE_MD_NAMES:
        return "claude-md"
    if is_document(path) or (project and placed is None and not in_agents_dir):
        return "other"
    if _DATED_NOTE.fullmatch(path.name):
        return "memory"
    return "agent"


CLAUDE_MD_NAMES = frozenset({"claude.md", "claude.local.md"})
# The folders of a `.claude/` folder (project or user) and what Claude Code reads in each: agents/
# (subagents), commands/ (slash commands, subfolders are namespaces), skills/<name>/SKILL.md,
# rules/ (instruction files), output-styles/, agent-memory/ and agent-memory-local/ (subagents'
# own memory, `memory: project | local`). Checked against Claude Code 2.1.332's loaders.
CLAUDE_FOLDERS: dict[str, FileKind] = {
    "agents": "agent",
    "commands": "command",
    "skills": "skill",
    "rules": "rule",
    "output-styles": "output-style",
    "agent-memory": "agent-memory",
    "agent-memory-local": "agent-memory",
    "agents-memory": "memory",
    "agents-shared": "other",
}


# The kinds of the `.claude/` folders plain `agentctl validate` adds to the team's: all but agents
# (the team's agents folder is checked already, wherever it is) and agentctl's own folders.
PROJECT_KINDS: frozenset[FileKind] = frozenset({"command", "skill", "rule", "output-style", "agent-memory"})


def claude_kind(path: Path) -> FileKind | None:
    """What the file is by its place in the last `.claude/` folder of its path; None outside one."""
    parts = path.parts
    if ".claude" not in parts:
        return None
    return _kind_by_place(path, parts[len(parts) - parts[::-1].index(".claude") :])


def plugin_kind(path: Path) -> FileKind | None:
    """What the file is by its place in a plugin (the nearest folder above it with a
    `.claude-plugin/plugin.json`), whose root holds the folders of a `.claude/` folder: agents,
    commands, skills, output styles. None outside a plugin."""
    from agentctl.sources import plugin_root

    root = plugin_root(path)
    return None if root is None else _kind_by_place(path, path.relative_to(root).parts)


def _kind_by_place(path: Path, rest: tuple[str, ...]) -> FileKind:
    """The kind of a file by its path `rest` below a `.claude/` folder or a plugin's root."""
    if len(rest) == 1:
        return "claude-md" if rest[0].lower() in CLAUDE_MD_NAMES else "other"
    kind = CLAUDE_FOLDERS.get(rest[0], "other")
    if kind == "skill":
        return _skill_kind(rest)
    if kind == "command" and _in_skill_folder(path, len(rest) - 2):
        return "skill" if path.name == "SKILL.md" else "skill-file"
    return kind


def _skill_kind(rest: tuple[str, ...]) -> FileKind:
    """skills/<name>/SKILL.md is a skill; the other files of its folder are its resources. A file
    right in skills/ (or a misspelt skill.md) is a skill Claude Code misses (skills.py says so)."""
    if len(rest) == 2:
        return "other" if is_document(Path(rest[1])) else "skill"
    return "skill" if len(rest) == 3 and rest[2].lower() == "skill.md" else "skill-file"


def _in_skill_folder(path: Path, depth: int) -> bool:
    """Whether a folder between commands/ and the file holds a SKILL.md: Claude Code reads such a
    folder as one skill-style command and stops there."""
    return any((folder / "SKILL.md").is_file() for folder in path.parents[:depth])


def _below(path: str, folder: Path) -> bool:
    return path.startswith(folder.as_posix() + "/")


def _in_agents_dir(path: Path, settings: Settings | None) -> bool:
    return settings is not None and _below(path.as_posix(), settings.agents_dir)
