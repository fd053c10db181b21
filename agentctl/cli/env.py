"""The world a command runs in: streams, working directory, environment variables.

Commands read it from here instead of from sys and os, so that tests can hand them their own
(the httpie pattern). rich is imported only when a command actually prints text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from agentctl.records import field, record

if TYPE_CHECKING:
    from rich.console import Console


@record
class Environment:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    cwd: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    json_written: bool = False  # a JSON document is on stdout: an error must not print a second one

    @property
    def colour(self) -> bool:
        """Colour only on a terminal, and never when NO_COLOR is set."""
        return self.stdout.isatty() and not self.environ.get("NO_COLOR")

    @property
    def width(self) -> int | None:
        """The terminal's width when stdout is one (COLUMNS first, as `ls` reads it); None for a
        pipe or a file, whose lines are never cut."""
        if not self.stdout.isatty():
            return None
        columns = self.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return int(columns)
        try:
            return os.get_terminal_size(self.stdout.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80

    @property
    def interactive(self) -> bool:
        """Standard input is a terminal: a person could answer, and nothing is piped in."""
        isatty = getattr(self.stdin, "isatty", None)
        return bool(isatty and isatty())

    @property
    def debug(self) -> bool:
        return self.environ.get("AGENTCTL_DEBUG", "") not in ("", "0")

    def console(self, stderr: bool = False) -> Console:
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        terminal = stream.isatty() and not self.environ.get("NO_COLOR")
        # Off a terminal: no colour, no wrapping (CI logs and pipes keep one finding per line).
        return Console(
            file=stream,
            force_terminal=terminal,
            no_color=not terminal,
            soft_wrap=not terminal,
            highlight=False,
            width=None if terminal else 10_000,
        )

    def out_json(self, text: str) -> None:
        """Write the command's one JSON document (see cli.common.write_json)."""
        self.json_written = True
        self.out(text)

    def out(self, text: str) -> None:
        self.stdout.write(text if text.endswith("\n") else text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text if text.endswith("\n") else text + "\n")


_current = Environment()


def current() -> Environment:
    return _current


def use(environment: Environment) -> None:
    global _current
    _current = environment
