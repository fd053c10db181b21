"""Which files `agentctl validate` checks, and as what."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agentctl.config import Settings
from agentctl.errors import UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import record
from agentctl.validate.model import FileKind
from agentctl.walk import markdown_files, real_path

DOCUMENT_STEMS = frozenset(
    {"readme", "changelog", "contributing", "license", "claude", "agents", "code_of_conduct", "security", "history"}
)
_DATED_NOTE = LazyPattern(r"\d{4}-\d{2}-\d{2}-.+\.md")


@record
class Candidate:
    path: Path
    kind: FileKind
    in_agents_dir: bool
    resolved: Path


def default_paths(settings: Settings) -> list[Path]:
    """The team at the root: its agents, shared and memory folders that exist."""
    folders = [settings.agents_dir, settings.shared_dir, settings.memory_dir]
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
        for file in files:
            resolved = real_path(file)
            kind = classify(resolved, settings)
            found.setdefault(resolved, Candidate(file, kind, _in_agents_dir(resolved, settings), resolved))
    return sorted(found.values(), key=lambda candidate: str(candidate.path))


def classify(path: Path, settings: Settings | None) -> FileKind:
    """Agent file, unless it is recognisably a memory note, the team protocol or a document."""
    name = path.name.lower()
    if name == "team-protocol.md":
        return "protocol"
    text = path.as_posix()
    if (settings and _below(text, settings.memory_dir)) or "/agents-memory/" in text:
        return "memory"
    if (settings and _below(text, settings.shared_dir)) or "/agents-shared/" in text:
        return "other"
    if path.stem.lower() in DOCUMENT_STEMS:
        return "other"
    if _DATED_NOTE.fullmatch(path.name):
        return "memory"
    return "agent"


def _below(path: str, folder: Path) -> bool:
    return path.startswith(folder.as_posix() + "/")


def _in_agents_dir(path: Path, settings: Settings | None) -> bool:
    return settings is not None and _below(path.as_posix(), settings.agents_dir)
