"""agentctl memory list | show | write | search | lint | prune"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import (
    DataFormat,
    FormatOption,
    LimitOption,
    ReportFormat,
    ReportFormatOption,
    RootOption,
    TopAlias,
    bounded_text,
    columns,
    limit_or_top,
    parse_date,
    settings_for,
    write_json,
)
from agentctl.errors import ExitCode, UsageError
from agentctl.textlines import shorten

if TYPE_CHECKING:
    from agentctl.memory import MemoryStore
    from agentctl.sources import SourcedAgent

memory_app = typer.Typer(
    help="The agents' dated insight notes: list, show, write, search, lint, prune.", no_args_is_help=True
)


def _store(root: Path | None) -> "MemoryStore":
    from agentctl.memory import MemoryStore

    home = environment.current().environ.get("HOME")  # the `user` scope's ~/.claude/agent-memory/ (none without)
    return MemoryStore(settings_for(root), home=Path(home) if home else None)


@memory_app.command("list")
def list_command(
    agent: Annotated[str | None, typer.Argument(help="Only this agent's notes.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only notes dated on or after YYYY-MM-DD.")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="Only notes naming files that changed or are gone.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """List notes, newest first."""
    store = _store(root)
    entries = store.entries(agent, parse_date(since, "--since"))
    flags: dict[str, dict[str, list[str]]] = {}  # by entry.file: 10,000 Path objects cost 60 ms
    if stale:
        from agentctl.memory import staleness

        found = [report for report in staleness(store.settings, entries) if report.stale]
        entries = [report.entry for report in found]
        flags = {report.entry.file: {"changed": report.changed, "missing": report.missing} for report in found}
    current = environment.current()
    if output is DataFormat.json:
        # One compact object per line: the C encoder keeps ten thousand notes well under a second.
        lines = [json.dumps(entry.to_json() | flags.get(entry.file, {}), ensure_ascii=False) for entry in entries]
        current.out_json(
            '{"version": 1, "entries": [\n' + ",\n".join(lines) + "\n]}" if lines else '{"version": 1, "entries": []}'
        )
        return ExitCode.OK
    rows = [
        [
            entry.date.isoformat() if entry.date else "-" if entry.kind == "claude-code" else "?",
            entry.scope or "dated",
            entry.agent,
            shorten(entry.topic, 48),
            shorten(entry.applies_when, 48),
            str(entry.line_count),
            "; ".join(entry.problems + _stale_words(flags.get(entry.file))),
        ]
        for entry in entries
    ]
    current.out(columns(rows, ["date", "store", "agent", "topic", "applies when", "lines", "notes"]))
    current.err(f"{len(entries)} note(s)")
    return ExitCode.OK


def _stale_words(flags: dict[str, list[str]] | None) -> list[str]:
    if not flags:
        return []
    return [f"changed since: {', '.join(flags['changed'])}"] * bool(flags["changed"]) + [
        f"gone: {', '.join(flags['missing'])}"
    ] * bool(flags["missing"])


@memory_app.command("show")
def show_command(
    agent: Annotated[str, typer.Argument(help="The agent.")],
    topic: Annotated[str, typer.Argument(help="The note's topic, slug or file name.")],
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Show one note."""
    entry = _store(root).find(agent, topic)
    if output is DataFormat.json:
        write_json(entry.to_json() | {"text": entry.text})
    else:
        environment.current().out(entry.text)
    return ExitCode.OK


@memory_app.command("write")
def write_command(
    agent: Annotated[str, typer.Argument(help="The agent whose note it is (on the roster).")],
    topic: Annotated[str, typer.Option("--topic", help="A short topic; it names the file.")],
    applies_when: Annotated[str, typer.Option("--applies-when", help="When a future task should recall the note.")],
    body: Annotated[str, typer.Option("--body", help="A file holding the insight, or - for standard input.")] = "-",
    note_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today).")] = None,
    domain: Annotated[str, typer.Option("--domain", help="Format B's Domain line.")] = "",
    source: Annotated[str, typer.Option("--source", help="Format B's Source line.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Keep a note that nearly repeats another.")] = False,
    commit: Annotated[bool, typer.Option("--commit", help="Commit this file, and nothing else, with git.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Write a new note (atomically; never overwrites)."""
    store = _store(root)
    text = _read_body(body)
    entry = store.write(agent, topic, applies_when, text, parse_date(note_date, "--date"), force, domain, source)
    sha = None
    if commit:
        from agentctl.vcs import commit_only

        sha = commit_only(entry.path, f"memory({agent}): {entry.topic}")
    from agentctl.walk import display_path

    shown = display_path(entry.path, environment.current().cwd)
    if output is DataFormat.json:
        write_json(entry.to_json() | {"path": shown, "commit": sha})
    else:
        environment.current().out(f"wrote {shown}" + (f" (commit {sha[:12]})" if sha else ""))
    return ExitCode.OK


def _read_body(source: str) -> str:
    """The note's body from a file or standard input: UTF-8 text, not empty, not binary."""
    from agentctl import bounds
    from agentctl.fsutil import read_bounded

    current = environment.current()
    limit = bounds.MEMORY_NOTE_BYTES
    try:
        data = current.stdin.read(limit + 1) if source == "-" else read_bounded(Path(current.cwd, source), limit)
    except OSError as error:
        raise UsageError(f"cannot read the body {source}: {error.strerror}") from None
    where = "standard input" if source == "-" else source
    if len(data) > limit:
        raise UsageError(f"the body from {where} is larger than {bounds.describe(limit)}", hint="a note is 5-15 lines")
    if b"\x00" in data:
        raise UsageError(f"the body from {where} is binary", hint="the body is the note's text, in UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the body from {where} is not UTF-8 text", hint="re-save it as UTF-8") from None
    if not text.strip():
        raise UsageError(f"the body from {where} is empty", hint="pipe the insight in, or pass --body FILE")
    return text


@memory_app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="Words to look for.")],
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's notes.")] = None,
    limit: LimitOption = 10,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
    top: TopAlias = None,
) -> int:
    """Search notes, best first (applies-when counts most, then topic, then body)."""
    hits = _store(root).search(bounded_text(query, "the query"), agent, limit_or_top(limit, top))
    current = environment.current()
    if output is DataFormat.json:
        write_json(
            {"query": query, "hits": [hit.entry.to_json() | {"score": hit.score, "terms": hit.terms} for hit in hits]}
        )
        return ExitCode.OK
    rows = [
        [
            f"{hit.score:.2f}",
            hit.entry.scope or "dated",
            hit.entry.agent,
            shorten(hit.entry.topic, 50),
            ", ".join(hit.terms),
            hit.entry.path.name,
        ]
        for hit in hits
    ]
    current.out(columns(rows, ["score", "store", "agent", "topic", "matched", "file"]))
    return ExitCode.OK


@memory_app.command("lint")
def lint_command(
    output: ReportFormatOption = ReportFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    root: RootOption = None,
) -> int:
    """The memory rules of `agentctl validate`, on the memory folders alone: the dated notes (TM*) and
    Claude Code's own agent memory in every scope (MM*: MEMORY.md's 200-line window, its links, no
    secrets, folders no agent reads)."""
    from agentctl.cli.render import render_report
    from agentctl.memory import NATIVE_SCOPES
    from agentctl.validate import validate
    from agentctl.validate.rules import MEMORY_RULES

    store = _store(root)
    settings, current = store.settings, environment.current()
    roots = (settings.memory_dir, *(store.native_root(scope) for scope in NATIVE_SCOPES))
    folders = [folder for folder in roots if folder.is_dir()]
    if not folders:
        raise UsageError(f"the memory folder {settings.memory_dir} does not exist", hint="write a note first")
    report = validate(folders, settings, current.cwd, other_places=_other_places())
    for file in report.files:
        file.diagnostics = [diagnostic for diagnostic in file.diagnostics if diagnostic.rule in MEMORY_RULES]
    render_report(report, output.value, strict)
    return ExitCode.PROBLEMS if report.failed(strict) else ExitCode.OK


def _other_places() -> "list[SourcedAgent]":
    """The agents of Claude Code's places other than the project, as `validate` reads them: a user
    agent with `memory: project` keeps its memory in the project too (MM005)."""
    from agentctl.sources import SourceOptions, higher_places, lower_places

    options = SourceOptions(environment.current().environ, False, None)
    return [*higher_places(options), *lower_places(options)]


@memory_app.command("prune")
def prune_command(
    older_than: Annotated[
        int, typer.Option("--older-than", help="Days since anyone last touched the note (1-100000).")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Delete notes nobody has touched for --older-than days: dated before then, and neither modified
    nor committed since (in git: committed, with no change in the working tree). Other files stay."""
    report = _store(root).prune(older_than, dry_run)
    current = environment.current()
    if output is DataFormat.json:
        write_json(
            {
                "dry_run": dry_run,
                "cutoff": report.cutoff.isoformat(),
                "pruned": [entry.to_json() for entry in report.deleted],
                "kept": [{"path": path, "reason": why} for path, why in report.kept],
            }
        )
        return ExitCode.OK
    verb = "would delete" if dry_run else "deleted"
    for entry in report.deleted:
        current.out(f"{verb} {entry.path}")
    for path, why in report.kept:
        current.err(f"kept {path}: {why}")
    current.err(f"{len(report.deleted)} note(s) {verb}; {len(report.kept)} note(s) dated before {report.cutoff} kept")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.add_typer(memory_app, name="memory")
