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


def read_input(source: str, what: str = "a file") -> str:
    """The text of the file `source` (relative to the working directory), or of standard input for
    `-`. Bytes that are not UTF-8 are replaced, with a warning; a BOM is dropped."""
    from agentctl.errors import UsageError

    current = environment.current()
    if source == "-" and current.interactive:
        raise UsageError("no input: standard input is a terminal", hint=f"pass {what}, or pipe the text in")
    try:
        data = current.stdin.read() if source == "-" else Path(current.cwd, source).read_bytes()
    except OSError as error:
        raise UsageError(
            f"cannot read {source}: {error.strerror}", hint=f"pass {what}, or - for standard input"
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        where = "standard input" if source == "-" else source
        current.err(f"warning: {where} is not UTF-8; undecodable bytes are replaced")
        return data.decode("utf-8", errors="replace")


JSON_VERSION = 1  # of every command's --format json document; keys are only ever added


def bounded_text(text: str, what: str, limit: int | None = None) -> str:
    """`text` (a task, a context, a query) if it is within its size limit; exit 2 otherwise.

    Every parser and prompt downstream is linear, but a 50 MB task still costs memory and time for
    nothing a model could take: the limit is bounds.TASK_BYTES unless said otherwise."""
    from agentctl import bounds
    from agentctl.errors import UsageError

    limit = bounds.TASK_BYTES if limit is None else limit
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise UsageError(
            f"{what} is {size:,} bytes; the limit is {bounds.describe(limit)}",
            hint=f"shorten {what}, or put the material in files the agent reads",
        )
    return text


def write_json(data: dict[str, object]) -> None:
    """The command's JSON document on stdout: an object whose first key is `"version": 1`."""
    import json

    document = {"version": JSON_VERSION} | data
    environment.current().out_json(json.dumps(document, indent=2, ensure_ascii=False))


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
