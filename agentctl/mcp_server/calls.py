"""What each tool of `agentctl mcp` does: the core call the CLI's command makes, with the arguments a
tool call gives, returning data (the CLI's `--format json` document, or a compact form of it) and a
one-line summary. No MCP SDK here (app.py wraps these); nothing prints.

Tool arguments are outside input, as command-line arguments are, and get the same treatment: every
path resolves (symlinks followed) inside the server's root or is refused, texts are bounded as on the
command line (bounds.py), limits are checked by dispatch.check_limit. Writes go where the CLI writes:
`memory_write` into the memory folder (MemoryStore.write), `dispatch` its run record under the runs
folder and the notes agents return. Errors are AgentctlError, as in every core module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from agentctl import bounds
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.records import field, record, replace
from agentctl.walk import real_path

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.engine import RunResult
    from agentctl.events import Event
    from agentctl.mcp_server.spending import Allowance, Grant
    from agentctl.memory import MemoryEntry, MemoryStore
    from agentctl.prompts import Prompt, PromptBuilder
    from agentctl.route_llm import Routing
    from agentctl.sources import SourcedAgent
    from agentctl.spec import AgentFile
    from agentctl.team import Team
    from agentctl.validate.model import FileReport

Part = Literal["all", "system", "user"]
LIMIT_ARGUMENTS = ("max_calls", "max_cost", "max_tokens", "max_depth", "max_rounds", "parallel", "timeout")
MEMORY_URI = "agentctl://memory/{agent}/{note}"
AGENT_URI = "agentctl://agents/{name}"
PROTOCOL_URI = "agentctl://team/protocol"


@record
class Answer:
    """A tool's result: its data (structured content) and a short summary for a person or a model.
    `error`: the call worked but what it ran did not end well (a dispatch that failed or hit a
    limit): the data is still the whole record, and the error says why."""

    data: dict[str, Any]
    summary: str
    error: AgentctlError | None = None


@record
class ServerConfig:
    """What the user fixed when starting the server: the root, the environment the server runs in
    (keys, HOME), and the provider every dispatch uses (a tool call cannot pick one)."""

    root: Path
    environ: Mapping[str, str] = field(default_factory=dict)
    provider: str | None = None  # None: [dispatch] provider, else anthropic
    script: Path | None = None  # the scripted provider's replies


@record
class Resource:
    """A file an agent reads rather than calls: its agentctl:// address, a name and what it is."""

    uri: str
    name: str
    description: str


class TeamTools:
    """The tools over one team root. Settings are read again for every call (an edited agentctl.toml
    counts from the next call on); the root and the dispatch caps are the server's."""

    def __init__(self, config: ServerConfig, allowance: Allowance, today: Callable[[], dt.date] = dt.date.today):
        self.config = config
        self.root = config.root
        self.allowance = allowance
        self.today = today

    def settings(self) -> Settings:
        from agentctl.config import load_settings

        return load_settings(cwd=self.root, root=self.root, environ=self.config.environ)

    # --- paths ---------------------------------------------------------------------------------------

    def inside(self, given: str, what: str = "the path") -> Path:
        """`given` (relative to the root, or absolute) if it lies inside the root once every symlink is
        followed; UsageError otherwise."""
        if "\x00" in given or not given.strip():
            raise UsageError(f"{what} {given!r} is not a path", hint="give a path inside the team's root")
        path = Path(given)
        candidate = path if path.is_absolute() else self.root / path
        if not real_path(candidate).is_relative_to(real_path(self.root)):
            raise UsageError(
                f"{what} {given} is outside the team's root {self.root}",
                hint="the MCP server reads only inside its root (`agentctl mcp --root`); give a path below it",
            )
        return candidate

    def shown(self, path: Path | str) -> str:
        """A path as results show it: relative to the root when below it."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # --- the team --------------------------------------------------------------------------------------

    def list_agents(self, no_user: bool = False) -> Answer:
        from agentctl.sources import SourceOptions, team_sources
        from agentctl.views import roster_kind

        team, sources = team_sources(self.settings(), SourceOptions(self.config.environ, no_user))
        rows = [_compact_row(team, item) for item in sources]
        names = ", ".join(str(row["name"]) + ("" if row["claude_code"]["loads"] else " (skipped)") for row in rows)
        summary = f"{len(rows)} agents (roster: {roster_kind(team)}): {names}"
        return Answer({"root": str(self.root), "roster": roster_kind(team), "agents": rows}, summary)

    def show_agent(self, name: str, no_user: bool = False) -> Answer:
        from agentctl.sources import SourceOptions, resolve_source, team_sources
        from agentctl.views import agent_details, relative_to_root, roster_kind, source_fields

        team, sources = team_sources(self.settings(), SourceOptions(self.config.environ, no_user))
        item = resolve_source(team, sources, bounds.bounded_text(name, "the agent name"))
        details = agent_details(team, item.agent) | source_fields(team, item) | {"roster": roster_kind(team)}
        details["hides"] = [relative_to_root(team, agent) for agent in item.hides]
        verdict = item.agent.verdict
        state = "loads" if verdict.loads else f"skipped: {verdict.reason}"
        summary = (
            f"{details['name']} ({details['display_name'] or '-'}) in {details['path']}: Claude Code {state}; "
            f"model {details['model'] or 'inherit'}; tools {verdict.tools_display}"
        )
        return Answer(details, summary)

    def validate(
        self,
        paths: Sequence[str] = (),
        strict: bool = False,
        ignore: Sequence[str] = (),
        no_user: bool = False,
        select: Sequence[str] = (),
    ) -> Answer:
        """`agentctl validate [PATH...]`: without paths, the team's folders as on the command line."""
        from agentctl.claude_code import CLAUDE_CODE_VERSION
        from agentctl.sources import SourceOptions, higher_places, lower_places
        from agentctl.validate import chosen_rules, validate
        from agentctl.views import summary_line

        settings = self.settings()
        absolute = [self.inside(path) for path in paths]
        options = SourceOptions(self.config.environ, no_user)
        others = [*higher_places(options), *lower_places(options)]
        selected, ignored = chosen_rules(settings, select, ignore)
        report = validate(absolute, settings, self.root, ignore=ignored, other_places=others, select=selected)
        files = [_file_findings(file) for file in report.files if file.diagnostics or _skipped(file)]
        data = {
            "claude_code_version": CLAUDE_CODE_VERSION,
            "passed": not report.failed(strict),
            "strict": strict,
            "summary": report.summary(),
            "files": files,
        }
        return Answer(data, summary_line(report, strict))

    def route(self, task: str, limit: int = 5) -> Answer:
        from agentctl.route import team_index

        text = _one_line(task, "the task")
        index = team_index(self.settings())
        if not index.agents:
            raise UsageError("no agent of the team that Claude Code loads", hint="`validate` says why each is skipped")
        ranking = index.rank(text, _limit(limit))
        rows = [{"agent": score.agent, "score": score.score, "why": score.why} for score in ranking]
        data: dict[str, Any] = {"task": text, "ranking": rows}
        if ranking and ranking[0].score == 0:
            data["warnings"] = ["no word of the task matches any agent; the order is by name"]
        summary = "; ".join(f"{n}. {s.agent} {s.score:.2f} ({s.why})" for n, s in enumerate(ranking, 1))
        return Answer(data, summary or "no agents")

    # --- memory -----------------------------------------------------------------------------------------

    def store(self) -> MemoryStore:
        from agentctl.memory import MemoryStore
        from agentctl.prompts import home_of

        return MemoryStore(self.settings(), home=home_of(self.config.environ))

    def memory_search(self, query: str, agent: str | None = None, limit: int = 10) -> Answer:
        text = bounds.bounded_text(query, "the query")
        hits = self.store().search(text, _name(agent), _limit(limit))
        rows = [self.entry_json(hit.entry) | {"score": hit.score, "terms": hit.terms} for hit in hits]
        lines = [f"{hit.entry.agent}: {hit.entry.topic} ({self.entry_uri(hit.entry)})" for hit in hits]
        return Answer({"query": text, "hits": rows}, f"{len(hits)} note(s)" + "".join(f"\n{line}" for line in lines))

    def memory_list(
        self, agent: str | None = None, since: str | None = None, stale: bool = False, limit: int = 100
    ) -> Answer:
        store = self.store()
        entries = store.entries(_name(agent), _date(since, "since"))
        flags: dict[str, dict[str, list[str]]] = {}
        if stale:
            from agentctl.memory import staleness

            found = [report for report in staleness(store.settings, entries) if report.stale]
            entries = [report.entry for report in found]
            flags = {report.entry.file: {"changed": report.changed, "missing": report.missing} for report in found}
        shown = entries[: _limit(limit)]
        rows = [self.entry_json(entry) | flags.get(entry.file, {}) for entry in shown]
        summary = f"{len(entries)} note(s)" + (f", the newest {len(shown)} shown" if len(shown) < len(entries) else "")
        return Answer({"total": len(entries), "entries": rows}, summary)

    def memory_show(self, agent: str, note: str) -> Answer:
        entry = self.store().find(_name(agent) or "", bounds.bounded_text(note, "the note"))
        return Answer(self.entry_json(entry) | {"text": entry.text}, entry.text)

    def memory_write(
        self,
        agent: str,
        topic: str,
        applies_when: str,
        body: str,
        date: str | None = None,
        domain: str = "",
        source: str = "",
        force: bool = False,
    ) -> Answer:
        """`agentctl memory write` with the body given as text: atomic, never over another note."""
        text = _note_body(body)
        entry = self.store().write(agent, topic, applies_when, text, _date(date, "date"), force, domain, source)
        return Answer(self.entry_json(entry), f"wrote {self.shown(entry.path)}")

    def entry_json(self, entry: MemoryEntry) -> dict[str, object]:
        return entry.to_json() | {"path": self.shown(entry.path), "uri": self.entry_uri(entry)}

    def entry_uri(self, entry: MemoryEntry) -> str:
        return MEMORY_URI.format(agent=quote(entry.agent, safe=""), note=quote(entry.path.name, safe=""))

    # --- handoffs and prompts ---------------------------------------------------------------------------

    def handoffs_parse(self, answer: str) -> Answer:
        """`agentctl handoffs parse`, of an answer given as text; targets resolved through the roster."""
        from agentctl.handoff import parse_output, resolve_targets
        from agentctl.team import load_team

        parsed = parse_output(bounds.bounded_text(answer, "the answer", bounds.INPUT_BYTES))
        resolve_targets(parsed, load_team(self.settings()))
        dispatchable = sum(request.dispatchable for request in parsed.handoffs)
        summary = (
            f"{len(parsed.handoffs)} handoff request(s) ({dispatchable} can be dispatched), "
            f"{len(parsed.memory_notes)} memory note(s), continuation plan: "
            f"{'yes' if parsed.continuation_plan else 'no'}, {len(parsed.problems)} problem(s)"
        )
        return Answer(parsed.to_json(), summary)

    def prompt(
        self,
        agent: str,
        task: str,
        context: str | None = None,
        continuation: str | None = None,
        results: Mapping[str, str] | None = None,
        handoff: str | None = None,
        requester: str | None = None,
        part: Part = "all",
        memory: bool = True,
    ) -> Answer:
        """`agentctl prompt`: what dispatch would send, with the previous answer (`continuation`), the
        delegates' answers (`results`) and a requester's answer (`handoff`) given as texts."""
        from agentctl.prompts import home_of, prompt_builder
        from agentctl.providers.models import ModelMap
        from agentctl.team import load_team
        from agentctl.views import prompt_request

        settings = self.settings()
        team = load_team(settings)
        target = team.resolve(bounds.bounded_text(agent, "the agent name"))
        builder = prompt_builder(team, memory=memory, home=home_of(self.config.environ))
        prompt, mode = self._prompt(team, builder, target, task, context, continuation, results, handoff, requester)
        model = ModelMap.build(settings.models).resolve(target.spec.model)
        data = prompt_request(prompt, target.name or agent, mode, model, part)
        return Answer(data, _prompt_summary(prompt, target.team_name, mode, model))

    def _prompt(
        self,
        team: Team,
        builder: PromptBuilder,
        target: AgentFile,
        task: str,
        context: str | None,
        continuation: str | None,
        results: Mapping[str, str] | None,
        handoff: str | None,
        requester: str | None,
    ) -> tuple[Prompt, str]:
        from agentctl.prompts import continuation_prompt, handoff_prompt

        today = self.today().isoformat()
        text = _task(task)
        if handoff is not None:
            if requester is None:
                raise UsageError("a handoff prompt needs `requester`: the agent that wrote the request")
            answer = bounds.bounded_text(handoff, "the handoff answer", bounds.INPUT_BYTES)
            return handoff_prompt(builder, target, team.resolve(requester), text, answer, today), "handoff"
        if continuation is not None:
            previous = bounds.bounded_text(continuation, "the previous answer", bounds.INPUT_BYTES)
            answers = [
                (name, bounds.bounded_text(answer, f"the answer of {name[:60]}", bounds.INPUT_BYTES))
                for name, answer in (results or {}).items()
            ]
            return continuation_prompt(builder, target, text, previous, answers, today), "continuation"
        extra = None if context is None else bounds.bounded_text(context, "the context")
        return builder.fresh(target, text, today, extra), "fresh"

    # --- dispatch ---------------------------------------------------------------------------------------

    def dispatch(
        self,
        task: str,
        agent: str | None = None,
        context: str | None = None,
        limits: Mapping[str, int | float | None] | None = None,
        memory: bool = True,
        on_progress: Callable[[str], None] | None = None,
    ) -> Answer:
        """`agentctl dispatch [AGENT] TASK`, within what is left of the server's caps: the limits a
        call asks for are checked as flags are, then lowered to what the server allows (the result's
        `caps.lowered` says so); the provider is the server's. The record is written as usual."""
        from agentctl.dispatch import (
            DispatchOptions,
            check_limit,
            limits_from,
            permissions_from,
            route_dispatch,
            run_dispatch,
        )

        settings = self.settings()
        text = _task(task)
        asked = {key: value for key, value in (limits or {}).items() if value is not None}
        for key, value in asked.items():
            check_limit(key, value, key)
        base = limits_from(settings, **asked)
        if agent is not None:
            from agentctl.team import load_team

            agent = load_team(settings).resolve(bounds.bounded_text(agent, "the agent name")).team_name
        assert base.max_cost is not None and base.max_calls is not None  # limits_from always caps
        grant = self.allowance.reserve(base.max_cost, base.max_calls)
        spent = _Spent(on_progress)
        routing: Routing | None = None
        try:
            run_limits = replace(base, max_cost=grant.cost, max_calls=grant.calls)
            if agent is None:
                config = self.config
                routing = route_dispatch(
                    settings, text, config.environ, provider=config.provider, script=config.script, limits=run_limits
                )
                agent = routing.chosen
                spent.routed(routing)
            options = DispatchOptions(
                agent=agent,
                task=text,
                routing=routing,
                context=None if context is None else bounds.bounded_text(context, "the context"),
                provider=self.config.provider,
                script=self.config.script,
                limits=run_limits,
                memory=memory,
                permissions=permissions_from(settings),  # [claude_code]'s, as the user set them: never a tool call's
            )
            dispatched = run_dispatch(settings, options, self.config.environ, on_event=spent.event)
        finally:
            self.allowance.settle(grant, spent.cost_or(grant.cost), spent.calls)
        return self._dispatched(dispatched.result, dispatched.record | {"limits": run_limits.to_json()}, grant)

    def _dispatched(self, result: RunResult, record: dict[str, Any], grant: Grant) -> Answer:
        """The run's record, the limits it ran under and the server's caps after it (and what was
        lowered); an error beside them when the run did not end ok."""
        caps = self.allowance.to_json() | {"lowered": grant.lowered}
        data = record | {"caps": caps}
        total = record.get("total", {})
        cost = total.get("cost_usd")
        summary = (
            f"run {result.run_id}: {result.status}, {len(record.get('calls', []))} call(s), "
            + (f"${cost:.4f}" if isinstance(cost, int | float) else "cost unknown")
            + "".join(f"; {note}" for note in grant.lowered)
            + (f"\n\n{result.result}" if result.result else "")
        )
        if result.exit_code == ExitCode.OK:
            return Answer(data, summary)
        message, hint = _failure(result)
        data["error"] = {"message": message, "hint": hint, "exit_code": result.exit_code}
        return Answer(data, summary, AgentctlError(message, hint, result.exit_code))

    # --- resources ---------------------------------------------------------------------------------------

    def resources(self) -> list[Resource]:
        """What `resources/list` shows, read now: the protocol, each agent's file, each memory note."""
        from agentctl.team import load_team

        settings = self.settings()
        found = []
        if settings.protocol_file.is_file():
            found.append(Resource(PROTOCOL_URI, "team-protocol.md", "The team protocol: roster, handoffs, memory"))
        for agent in load_team(settings).agents:
            if agent.name:
                uri = AGENT_URI.format(name=quote(agent.name, safe=""))
                found.append(Resource(uri, self.shown(agent.path), (agent.spec.description or "").split("\n")[0]))
        for entry in self.store().entries():
            found.append(Resource(self.entry_uri(entry), self.shown(entry.path), f"{entry.agent}: {entry.topic}"))
        return found

    def protocol_text(self) -> str:
        from agentctl.team import read_protocol

        return read_protocol(self.settings().protocol_file)

    def agent_text(self, name: str) -> str:
        from agentctl.fsutil import read_bounded_text
        from agentctl.team import load_team

        agent = load_team(self.settings()).resolve(bounds.bounded_text(name, "the agent name"))
        return read_bounded_text(agent.path, bounds.AGENT_FILE_BYTES)

    def note_text(self, agent: str, note: str) -> str:
        return self.store().find(agent, bounds.bounded_text(note, "the note")).text


class _Spent:
    """What one dispatch spent, from its events (and its routing call): what the server's caps are
    charged, whatever way the dispatch ends. Also turns the events into progress messages."""

    def __init__(self, on_progress: Callable[[str], None] | None) -> None:
        self.on_progress = on_progress
        self.calls = 0
        self.cost = 0.0
        self.unknown = False  # a call that used tokens without a price: its cost cannot be known

    def routed(self, routing: Routing) -> None:
        if routing.model is not None:
            self.calls += 1
            self.cost += routing.cost_usd or 0.0
            self.unknown |= routing.cost_usd is None

    def event(self, event: Event) -> None:
        from agentctl.events import CallFinished, CallStarted

        if isinstance(event, CallStarted):
            self.calls += 1
        elif isinstance(event, CallFinished) and event.status != "replayed":
            self.cost += event.cost_usd or 0.0
            self.unknown |= event.cost_usd is None and event.usage.total_tokens > 0
        message = progress_message(event)
        if message is not None and self.on_progress is not None:
            self.on_progress(message)

    def cost_or(self, held: float) -> float:
        """The cost to charge: what was spent, or all that was held when a call's cost is unknown."""
        return max(self.cost, held) if self.unknown else self.cost


def progress_message(event: Event) -> str | None:
    """One line per event worth a progress notification (calls, handoffs, tool uses, memory, warnings)."""
    from agentctl.events import CallFinished, CallStarted, Handoff, MemorySaved, RunStarted, RunWarning, ToolUse

    match event:
        case RunStarted():
            return f"run {event.run_id} started"
        case CallStarted():
            return f"[{event.call_id}] {event.agent} ({event.mode}) started on {event.model}"
        case CallFinished():
            cost = f"${event.cost_usd:.4f}" if event.cost_usd is not None else "cost unknown"
            return f"[{event.call_id}] {event.status}, {cost}"
        case Handoff():
            return f"handoff {event.from_agent} -> {event.to or event.target}: {event.status}"
        case ToolUse():
            return f"[{event.call_id}] {event.tool}: {event.summary}"
        case MemorySaved():
            return f"memory: wrote {event.path}"
        case RunWarning():
            return f"warning: {event.message}"
    return None


def _failure(result: RunResult) -> tuple[str, str | None]:
    """Why a run did not end ok, and what to do about it (as `agentctl dispatch` says it)."""
    message = result.reason or f"the run ended with status {result.status}"
    if result.hint:
        return message, result.hint
    if result.status == "budget":
        return message, "ask for higher limits (the server lowers them to its caps), or ask the user to raise the caps"
    return message, f"`agentctl runs show {result.run_id}` shows which calls failed and why"


def _compact_row(team: Team, item: SourcedAgent) -> dict[str, Any]:
    """A row of `agentctl list --format json` without the verdict's whole description (the row has its
    first line; `show_agent` has the rest): sixteen descriptions are 40 KB a model need not read."""
    from agentctl.views import agent_summary, source_fields

    row = agent_summary(team, item.agent) | source_fields(team, item)
    row["claude_code"] = {key: value for key, value in row["claude_code"].items() if key != "description"}
    return row


def _file_findings(file: FileReport) -> dict[str, object]:
    """A file of validate's report with what it found: the contract's entry without Claude Code's
    reading of the description and tools (`show_agent` has them)."""
    entry: dict[str, object] = {"path": file.display_path, "kind": file.kind}
    if file.agent is not None:
        verdict = file.agent.verdict
        entry["claude_code"] = {"loads": verdict.loads, "reason": verdict.reason, "name": verdict.name}
    entry["diagnostics"] = [diagnostic.to_json() for diagnostic in file.diagnostics]
    return entry


def _skipped(file: FileReport) -> bool:
    return file.agent is not None and not file.agent.verdict.loads


def _task(task: str) -> str:
    text = bounds.bounded_text(task, "the task").strip()
    if not text:
        raise UsageError("the task is empty", hint="say what to do, in words")
    return text


def _one_line(text: str, what: str) -> str:
    joined = " ".join(bounds.bounded_text(text, what).split())
    if not joined:
        raise UsageError(f"{what} is empty", hint="say it in words")
    return joined


def _name(agent: str | None) -> str | None:
    """An agent name as a tool call gives it (resolved through the team later), within a task's bound."""
    return None if agent is None else bounds.bounded_text(agent, "the agent name")


def _limit(value: int) -> int:
    if value < 1:
        raise UsageError(f"limit must be at least 1, not {value}", hint="how many results to return, best first")
    return value


def _date(value: str | None, what: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what} {value[:40]!r} is not a date", hint="write it as YYYY-MM-DD") from None


def _note_body(body: str) -> str:
    """A note's body as `memory write` reads it: within bounds.MEMORY_NOTE_BYTES, text, not empty."""
    text = bounds.bounded_text(body, "the body", bounds.MEMORY_NOTE_BYTES)
    if "\x00" in text:
        raise UsageError("the body holds a NUL character", hint="the body is the note's text")
    if not text.strip():
        raise UsageError("the body is empty", hint="write the insight itself: 1-10 lines")
    return text


def _prompt_summary(prompt: Prompt, agent: str, mode: str, model: str) -> str:
    from agentctl.memory import estimate_tokens

    tokens = sum(estimate_tokens(block.text) for block in prompt.system) + estimate_tokens(prompt.user)
    memories = f"; memory notes: {', '.join(prompt.memories)}" if prompt.memories else ""
    return f"{mode} prompt for {agent} on {model}: {len(prompt.system)} system block(s), ~{tokens} tokens{memories}"
