"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from agentctl.bounds import bounded_text as bounded_text  # commands import it from here
from agentctl.cli import env as environment
from agentctl.config import Settings, load_settings
from agentctl.providers import PROVIDERS, provider_names
from agentctl.records import field, record
from agentctl.textlines import shorten
from agentctl.views import JSON_VERSION  # one number for the CLI and the MCP server


class DataFormat(StrEnum):
    """--format of commands that print data."""

    text = "text"
    json = "json"


class ReportFormat(StrEnum):
    """--format of the commands that report findings (validate, memory lint): one per renderer of
    cli/render.py (a test walks both)."""

    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


ReportFormatOption = Annotated[
    ReportFormat,
    typer.Option(
        "--format", "-f", help="Report format: text, JSON, GitHub annotations or SARIF.", case_sensitive=False
    ),
]
# How many results a command shows: one spelling (-n/--limit) for every command that ranks or lists.
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N, best first.")]
# The spelling route and memory search had before: still read, never shown, and warned about.
TopAlias = Annotated[int | None, typer.Option("--top", min=1, hidden=True)]


def limit_or_top(limit: int, top: int | None) -> int:
    """-n/--limit, or the old --top with a warning."""
    if top is None:
        return limit
    environment.current().err("warning: --top is now -n/--limit (the same in every command)")
    return top


# --provider's choices, from the one registry of providers, and what each is (for --help).
ProviderName = StrEnum("ProviderName", {name: name for name in provider_names()})  # type: ignore[misc]
PROVIDERS_HELP = "; ".join(f"{name}: {spec.description}" for name, spec in PROVIDERS.items())

RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="The team's root folder (default: found from the working directory; AGENTCTL_ROOT)."),
]
FormatOption = Annotated[DataFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
# The user level of Claude Code's agents ($HOME/.claude/agents/) differs per machine: CI leaves it out.
NoUserOption = Annotated[
    bool,
    typer.Option(
        "--no-user",
        help="Leave out what HOME holds (the user's agents in $HOME/.claude/agents/, installed plugins), as CI should.",
    ),
]
# The places Claude Code reads agents from that only its command line names (its own flags' names).
AgentsJsonOption = Annotated[
    Path | None,
    typer.Option(
        "--agents", metavar="FILE", help="Also read the agents of a `claude --agents` JSON file, as claude does."
    ),
]
PluginDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--plugin-dir", metavar="DIR", help="Also read a plugin's agents, as `claude --plugin-dir`; repeatable."
    ),
]

# What a claude-code call may do (dispatch and runs resume); README "Permissions" says what each mode lets an agent do.
PermissionModeOption = Annotated[
    str | None,
    typer.Option(
        "--permission-mode",
        help="claude-code: plan (default: read-only tools, no edits or commands), default, dontAsk, "
        "acceptEdits (edits in --cwd), auto, bypassPermissions. Else the agent's own permissionMode.",
    ),
]
AllowedToolsOption = Annotated[
    str | None,
    typer.Option("--allowed-tools", help='claude-code: tools allowed without asking, e.g. "Bash(pytest:*),Edit".'),
]
DisallowedToolsOption = Annotated[
    str | None, typer.Option("--disallowed-tools", help='claude-code: tools denied, e.g. "WebFetch,Bash".')
]


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
    `-`: at most bounds.INPUT_BYTES (exit 2 over that). Bytes that are not UTF-8 are replaced, with
    a warning; a BOM is dropped."""
    from agentctl.errors import UsageError

    current = environment.current()
    if source == "-" and current.interactive:
        raise UsageError("no input: standard input is a terminal", hint=f"pass {what}, or pipe the text in")
    data = _read_bounded_input(source, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        where = "standard input" if source == "-" else source
        current.err(f"warning: {where} is not UTF-8; undecodable bytes are replaced")
        return data.decode("utf-8", errors="replace")


def _read_bounded_input(source: str, what: str) -> bytes:
    """The bytes of `source`, never more than bounds.INPUT_BYTES + 1 read: a file is checked before
    it is read (a FIFO or a device is refused without blocking); stdin is read up to the limit."""
    from agentctl import bounds
    from agentctl.errors import UsageError
    from agentctl.fsutil import FileTooLargeError, read_bounded

    limit, current = bounds.INPUT_BYTES, environment.current()
    data: bytes | None = None
    try:
        # From stdin, one byte more than the limit tells "too long" apart.
        data = current.stdin.read(limit + 1) if source == "-" else read_bounded(Path(current.cwd, source), limit)
    except FileTooLargeError:
        pass  # data stays None: reported below, as stdin's excess is
    except OSError as error:
        hint = f"pass {what} (a regular file), or - and pipe the text in"
        raise UsageError(f"cannot read {source}: {error.strerror}", hint=hint) from None
    if data is not None and len(data) <= limit:
        return data
    where = "standard input" if source == "-" else source
    raise UsageError(
        f"{where} is larger than {bounds.describe(limit)}, the most agentctl reads as input",
        hint=f"pass {what} of at most {bounds.describe(limit)}",
    )


def read_task(task: str | None, task_file: Path | None) -> str:
    """The task from the argument, --task-file, or stdin (`-` or nothing): never empty, within
    bounds.TASK_BYTES (dispatch and prompt read it alike)."""
    from agentctl.errors import UsageError

    if task not in (None, "-") and task_file is not None:
        raise UsageError("give the task as an argument or with --task-file, not both")
    if task_file is not None:
        text = read_input(str(task_file), "the task")
    elif task is None or task == "-":
        text = read_input("-", 'the task: agentctl dispatch AGENT "what to do"')
    else:
        text = task
    if not text.strip():
        raise UsageError("the task is empty", hint='agentctl dispatch AGENT "what to do" (or --task-file, or stdin)')
    return bounded_text(text.strip(), "the task")


def write_json(data: dict[str, object]) -> None:
    """The command's JSON document on stdout: an object whose first key is `"version": 1`."""
    import json

    document = {"version": JSON_VERSION} | data
    environment.current().out_json(json.dumps(document, indent=2, ensure_ascii=False))


_STYLE = {"error": "\x1b[1;31m", "warning": "\x1b[33m", "info": "\x1b[36m", "bold": "\x1b[1m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"


def painter(colour: bool) -> Callable[[str, str], str]:
    """`paint(style, text)`: ANSI styles on a terminal with colour, the text alone elsewhere (plain
    escape codes: rich costs a read-only command a third of its start-up budget)."""
    if not colour:
        return lambda style, text: text
    return lambda style, text: f"{_STYLE[style]}{text}{_RESET}"


@record
class Fit:
    """How `columns` fits a terminal: the column that takes what is left, the widest each other
    column may be, the columns to drop (in order) when even that does not fit, the least the
    flexible column should keep before a column is dropped."""

    width: int
    flexible: int
    caps: dict[int, int] = field(default_factory=dict)
    droppable: tuple[int, ...] = ()
    least: int = 20


GAP = 2  # spaces between columns


def columns(rows: list[list[str]], header: list[str], fit: Fit | None = None) -> str:
    """Rows as aligned plain-text columns (fast for thousands of rows, unlike a rich table).

    With `fit` (a terminal's width), every line fits it: long cells are cut with an ellipsis and
    columns are dropped rather than wrapping a row onto several lines."""
    keep = list(range(len(header)))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in keep]
    if fit is not None:
        keep, widths = _fitted(widths, fit)
    lines = []
    for row in [header, *rows]:
        cells = [shorten(str(row[i]), widths[i]) if fit else str(row[i]) for i in keep]
        lines.append((" " * GAP).join(cell.ljust(widths[i]) for cell, i in zip(cells, keep, strict=True)).rstrip())
    return "\n".join(lines)


def _fitted(natural: list[int], fit: Fit) -> tuple[list[int], list[int]]:
    """The columns to show and each column's width, so that a line is at most `fit.width` long."""
    widths = [min(width, fit.caps.get(index, width)) for index, width in enumerate(natural)]
    keep = list(range(len(natural)))
    droppable = list(fit.droppable)
    while True:
        others = sum(widths[i] for i in keep if i != fit.flexible) + GAP * (len(keep) - 1)
        room = fit.width - others
        if room >= min(fit.least, natural[fit.flexible]) or not droppable:
            widths[fit.flexible] = max(1, min(natural[fit.flexible], room))
            return keep, widths
        keep.remove(droppable.pop(0))


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        from agentctl.errors import UsageError

        raise UsageError(f"{option} {value!r} is not a date", hint="write it as YYYY-MM-DD") from None
