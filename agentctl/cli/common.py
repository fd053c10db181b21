"""Options and helpers shared by the commands."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from agentctl.cli import env as environment
from agentctl.config import Settings, load_settings


class DataFormat(StrEnum):
    """--format of commands that print data."""

    text = "text"
    json = "json"


RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="The team's root folder (default: found from the working directory; AGENTCTL_ROOT)."),
]
FormatOption = Annotated[DataFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]


def settings_for(root: Path | None) -> Settings:
    from agentctl.cli import GlobalOptions

    current = environment.current()
    return load_settings(cwd=current.cwd, root=root or GlobalOptions.root, environ=current.environ)


def try_settings(root: Path | None) -> Settings | None:
    """The team's settings when there is a team around; None for a bare folder of files.

    An explicit root (--root or AGENTCTL_ROOT) that does not exist is still an error.
    """
    from agentctl.cli import GlobalOptions
    from agentctl.errors import RootNotFoundError

    if root or GlobalOptions.root or environment.current().environ.get("AGENTCTL_ROOT"):
        return settings_for(root)
    try:
        return settings_for(None)
    except RootNotFoundError:
        return None


def write_json(data: object) -> None:
    import json

    environment.current().out(json.dumps(data, indent=2, ensure_ascii=False))


def columns(rows: list[list[str]], header: list[str]) -> str:
    """Rows as aligned plain-text columns (fast for thousands of rows, unlike a rich table)."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        from agentctl.errors import UsageError

        raise UsageError(f"{option} {value!r} is not a date", hint="write it as YYYY-MM-DD") from None
