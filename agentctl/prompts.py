"""Prompts rendered from Jinja2 templates: fresh task, continuation, handoff brief, memory notes,
and the skeleton of a new agent file.

Templates come from the team's `templates/` folder when it has one (so a team can change its
prompts), else from the copies shipped inside the wheel. The environment is sandboxed and
undefined variables are errors (StrictUndefined): a prompt never silently loses a part.

A template inside the subset of agentctl.templating renders there, byte for byte as Jinja2 would,
without importing jinja2: importing it (about 40 ms) and compiling the templates (15-25 ms) on every
run cost more than the start-up budget of `agentctl prompt` leaves after `import typer`. Every
shipped template is inside the subset. Any other template, and any render the fast path cannot
finish exactly as Jinja2 would (a missing value among them), goes through Jinja2, imported here
only and only then, so the user gets Jinja2's result or Jinja2's error.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.config import Settings
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.providers.base import SystemBlock
from agentctl.records import field, record
from agentctl.templating import Template as FastTemplate
from agentctl.templating import parse as parse_template
from agentctl.walk import real_path

if TYPE_CHECKING:
    from jinja2 import BaseLoader
    from jinja2.sandbox import SandboxedEnvironment

    from agentctl.handoff import HandoffRequest
    from agentctl.memory import MemoryEntry, MemoryStore, NativeMemory
    from agentctl.spec import AgentFile
    from agentctl.team import Team

TEMPLATES = {
    "team": "team.md.j2",
    "memory": "memory.md.j2",
    "task": "task.md.j2",
    "continuation": "continuation.md.j2",
    "handoff": "handoff.md.j2",
    "memory_notes": "memory_notes.md.j2",
    "agent": "agent.md.j2",
    # `agentctl init --memory native`: an agent's `# Memory` section and the protocol's Memory Protocol.
    "native_memory": "native_memory.md.j2",
    "native_memory_protocol": "native_memory_protocol.md.j2",
}


class TemplateError(AgentctlError):
    """A template that does not parse, or asks for a value nobody gives it."""

    exit_code = ExitCode.USAGE


def packaged_templates() -> Path:
    """The templates shipped with agentctl: inside the wheel, or at the top of a source checkout."""
    inside = Path(__file__).parent / "templates"
    return inside if inside.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def template_folders(settings: Settings | None = None) -> list[Path]:
    folders = []
    if settings is not None and settings.templates_dir.is_dir():
        folders.append(settings.templates_dir)
    packaged = packaged_templates()
    if packaged not in folders:
        folders.append(packaged)
    return folders


class Templates:
    """The templates of one command, each read once and parsed once: rendered by the fast path when
    the source is inside its subset, else by one sandboxed Jinja2 environment, created the first
    time a template needs it (most commands never import jinja2)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.folders = template_folders(settings)
        self._sources: dict[str, tuple[str, str] | None] = {}  # "a/b.j2" -> (source, file), None: not found
        self._fast: dict[str, FastTemplate | None] = {}
        self._jinja: SandboxedEnvironment | None = None

    def render(self, kind: str, context: dict[str, Any]) -> str:
        """Render one of TEMPLATES with `context`; problems become a TemplateError naming file:line."""
        name = TEMPLATES[kind]
        fast = self._fast_template(name)
        if fast is not None:
            try:
                return fast.render(context)
            except Exception:  # any failure: Jinja2 renders it again and decides, its result or its error
                pass
        return _render_jinja(self.jinja(), name, context, self.folders)

    def _fast_template(self, name: str) -> FastTemplate | None:
        if name not in self._fast:
            found = self.source((name,))
            self._fast[name] = None if found is None else parse_template(found[0])
        return self._fast[name]

    def source(self, pieces: Sequence[str]) -> tuple[str, str] | None:
        """The source of a template and its file, from the first folder that has it; read once."""
        key = "/".join(pieces)
        if key not in self._sources:
            self._sources[key] = _template_source(self.folders, pieces)
        return self._sources[key]

    def jinja(self) -> SandboxedEnvironment:
        if self._jinja is None:
            self._jinja = _jinja_environment(self)
        return self._jinja


def environment(settings: Settings | None = None) -> SandboxedEnvironment:
    """The Jinja2 environment of the templates (the fallback of Templates.render)."""
    return Templates(settings).jinja()


def _jinja_environment(templates: Templates) -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=_loader(templates),
        undefined=StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _loader(templates: Templates) -> BaseLoader:
    """Templates from the first folder that has the name, each read within bounds.TEMPLATE_BYTES.

    jinja2's FileSystemLoader reads a whole file of any size and raises UnicodeDecodeError on a
    file that is not UTF-8; a team's templates come from its repository, so they are outside input:
    anything there that is not a readable UTF-8 file is a TemplateError naming the file."""
    from jinja2 import FunctionLoader
    from jinja2.loaders import split_template_path

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        # split_template_path refuses `..`: an include never leaves the templates folder.
        found = templates.source(split_template_path(name))
        return None if found is None else (*found, lambda: True)  # one environment lives one command

    return FunctionLoader(load)


def _template_source(folders: list[Path], pieces: Sequence[str]) -> tuple[str, str] | None:
    for folder in folders:
        path = folder.joinpath(*pieces)
        if os.path.lexists(path):  # a FIFO or a broken link there is an error, not a fallback
            return _read_template(path), str(path)
    return None


def _read_template(path: Path) -> str:
    from agentctl.bounds import TEMPLATE_BYTES
    from agentctl.fsutil import read_bounded_text

    hint = "fix the template, or delete it to use the one shipped with agentctl"
    try:
        return read_bounded_text(path, TEMPLATE_BYTES)
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: the template is not UTF-8 text", hint=hint) from None
    except OSError as error:
        raise TemplateError(f"{path}: cannot read the template: {error.strerror}", hint=hint) from None


def render(
    kind: str, context: dict[str, Any], settings: Settings | None = None, templates: Templates | None = None
) -> str:
    """Render one of TEMPLATES with `context`; problems become a TemplateError naming file:line.

    Pass `templates` to reuse one set (read, parsed, compiled once) across many renders."""
    return (templates or Templates(settings)).render(kind, context)


def _render_jinja(env: SandboxedEnvironment, name: str, context: dict[str, Any], folders: list[Path]) -> str:
    import jinja2

    hint = "fix the template, or delete it to use the one shipped with agentctl"
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"{error.filename or name}:{error.lineno}: template syntax error: {error.message}", hint=hint
        ) from None
    except jinja2.UndefinedError as error:
        raise TemplateError(
            f"{name}: {error.message}",
            hint="the template uses a value agentctl does not provide; see the comment at its top",
        ) from None
    except jinja2.TemplateNotFound as error:
        # `error.name`: the missing one may be a template that `name` includes.
        raise TemplateError(
            f"template {error.name or name} not found", hint=f"looked in {', '.join(map(str, folders))}"
        ) from None
    except SyntaxError as error:
        # Python refused the code Jinja2 made of it: 21 nested `for` blocks, 100 nested `if`s.
        raise TemplateError(f"{name}: the template nests too deeply: {error.msg}", hint=hint) from None
    except (jinja2.TemplateError, RecursionError, ArithmeticError, LookupError, TypeError, ValueError) as error:
        # The template's own code failed: a sandbox refusal, an include of itself, `{{ 1 / 0 }}`.
        raise TemplateError(f"{name}: the template failed: {type(error).__name__}: {error}", hint=hint) from None


# --- the prompts of a dispatch ---------------------------------------------------------------------------

PROJECT_NOTE_NAME = "CLAUDE.md"
MAX_PROJECT_NOTE_BYTES = 64 * 1024  # a note bigger than this is cut: it would crowd out the task
DEFAULT_MEMORY_BUDGET = 2000  # tokens of memory notes in one system prompt


@record
class Prompt:
    """What one call sends: the system blocks (stable first) and the user turn."""

    system: list[SystemBlock]
    user: str
    memories: list[str] = field(default_factory=list)  # the note paths put into the system prompt

    def digest(self) -> str:
        """sha256 of everything sent: equal prompts, equal digests (records and resume use it)."""
        import hashlib  # here: its import (OpenSSL) costs `agentctl prompt` 4 ms, and only records hash

        hasher = hashlib.sha256()
        for block in self.system:  # the same bytes as f"{name}\0{cache}\0{text}\0", without copying the text
            hasher.update(f"{block.name}\0{int(block.cache)}\0".encode())
            hasher.update(_utf8(block.text))
            hasher.update(b"\0")
        hasher.update(self.user.encode())
        return hasher.hexdigest()


@functools.lru_cache(maxsize=64)
def _utf8(text: str) -> bytes:
    """A system block's bytes, kept for the blocks every call of an agent shares (a batch hashes ten
    thousand prompts that share a few team blocks of 50 KB; encoding each anew churned the allocator)."""
    return text.encode()


@record
class HandoffResult:
    """One request's outcome, as the requester's continuation shows it."""

    agent: str  # the resolved agent, or the target as written when unknown
    display_name: str
    task: str
    status: str  # ok, failed, refused, unknown, budget, depth
    output: str


class PromptBuilder:
    """Renders every prompt of one dispatch; the templates and the team read once.

    The system prompt is [agent body][team: protocol + project notes, cache breakpoint][memory].
    Everything up to the breakpoint depends on the agent alone, so continuation calls and later
    dispatches to the same agent send it byte for byte and read it from the prompt cache; the
    memory block depends on the task and comes after it.
    """

    def __init__(
        self,
        team: Team,
        store: MemoryStore | None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        home: Path | None = None,
    ) -> None:
        self.team = team
        self.home = home  # where a CLAUDE.md's `@~/` imports lead; None: they import nothing
        self.settings = team.settings
        self.store = store
        self.memory_budget = memory_budget
        self.templates = Templates(team.settings)
        self._stable: dict[str, list[SystemBlock]] = {}
        self._team_protocol = self._protocol()  # read once, before any call: the same for every agent

    def system(self, agent: AgentFile, task: str) -> tuple[list[SystemBlock], list[str]]:
        name = agent.team_name
        if name not in self._stable:
            self._stable[name] = self._stable_blocks(agent)
        blocks = list(self._stable[name])
        native = self._claude_code_memory(agent, name)
        if native is not None:
            blocks.append(SystemBlock("agent-memory", native))
        memories = self._memories(name, task)
        if memories:
            blocks.append(SystemBlock("memory", self._memory_text(name, memories)))
        return blocks, [self.relative(entry.path) for entry in memories]

    def _stable_blocks(self, agent: AgentFile) -> list[SystemBlock]:
        body = SystemBlock("agent", agent.spec.body.strip() + "\n")
        roster = self._roster_for(agent)
        team_text = render(
            "team",
            {"protocol": self._team_protocol, "project_notes": self._project_notes(agent), "roster": roster},
            templates=self.templates,
        )
        if not team_text.strip() or ("## `" not in team_text and not roster):
            body.cache = True
            return [body]
        return [body, SystemBlock("team", team_text, cache=True)]

    def _roster_for(self, agent: AgentFile) -> list[dict[str, str]]:
        """The other agents, when the roster is derived from the agent files: no protocol lists them."""
        if not self.team.roster_derived:
            return []
        return [
            {"name": entry.agent, "display_name": entry.display_name, "domain": entry.columns.get("domain", "")}
            for entry in self.team.roster
            if entry.agent != agent.name
        ]

    def _protocol(self) -> dict[str, str] | None:
        """The team protocol, None when the team has none; exit 2 when it is there but unreadable (a
        prompt without it would silently lose the team's rules)."""
        from agentctl.team import protocol_text

        path = self.settings.protocol_file
        text = protocol_text(path)
        return {"path": self.relative(path), "text": text} if text is not None else None

    def _project_notes(self, agent: AgentFile) -> list[dict[str, str]]:
        """What Claude Code loads at start-up in the root (CLAUDE.md, .claude/CLAUDE.md, the rules of
        .claude/rules/ without `paths:`, CLAUDE.local.md), then any other CLAUDE.md the agent's First
        Step names, each followed by the files it imports (`@path`), as Claude Code places them
        (claudemd.py), so that an API call sees the instructions a claude-code session does."""
        from agentctl.bounds import PROJECT_IMPORT_CHARS, PROJECT_IMPORT_FILES
        from agentctl.claudemd import Budget, project_instructions, top_note

        root = Path(os.path.normpath(self.settings.root.absolute()))
        seen: set[Path] = set()
        budget = Budget(PROJECT_IMPORT_CHARS, PROJECT_IMPORT_FILES)
        found = project_instructions(root, self.home, seen, _read_top_note, _read_import, budget)
        for path in self._note_candidates(agent, root):
            if path.name == PROJECT_NOTE_NAME:
                found += top_note(path, root, self.home, seen, _read_top_note, _read_import, budget)
        return [{"path": self.relative(note.path), "text": note.text} for note in found]

    def _note_candidates(self, agent: AgentFile, root: Path) -> list[Path]:
        from agentctl.escalation import first_step_paths

        candidates = []
        for token, _line in first_step_paths(agent.text):
            target = Path(os.path.normpath(root / token))
            candidates.append(target / PROJECT_NOTE_NAME if not token.endswith(".md") else target)
        return candidates

    def _memories(self, agent: str, task: str) -> list[MemoryEntry]:
        if self.store is None or self.memory_budget <= 0:
            return []
        chosen = self.store.relevant(agent, task, self.memory_budget)
        return [entry for entry in chosen if not entry.problems or entry.text.strip()]

    def _claude_code_memory(self, agent: AgentFile, name: str) -> str | None:
        """What Claude Code injects for an agent that declares `memory:` (so that an API call sees the
        same memory as a claude-code session); None for an agent without it."""
        from agentctl.memory import NATIVE_SCOPES

        scope = agent.spec.memory
        if self.store is None or not isinstance(scope, str) or scope not in NATIVE_SCOPES:
            return None
        return claude_code_memory_text(self.store.injected(name, scope))

    def _memory_text(self, agent: str, memories: list[MemoryEntry]) -> str:
        notes = [
            {
                "path": self.relative(entry.path),
                "date": entry.date.isoformat() if entry.date else "undated",
                "topic": entry.topic,
                "text": entry.text,
            }
            for entry in memories
        ]
        folder = self.relative(self.settings.memory_dir / agent)
        return render(
            "memory", {"agent": self._agent_names(agent), "folder": folder, "memories": notes}, templates=self.templates
        )

    def _agent_names(self, name: str) -> dict[str, str]:
        return {"name": name, "display_name": self.team.display_name(name) or name}

    def memory_instructions(self, agent: str, today: str) -> str:
        memory_format = "A"
        if self.store is not None:
            try:
                memory_format = self.store.memory_format(agent)
            except AgentctlError:  # not on the roster: it may not save notes, so it is not asked to
                return ""
        return render(
            "memory_notes",
            {
                "agent": {"name": agent},
                "memory_format": memory_format,
                "today": today,
                "saved_as": self._notes_saved_as(agent, today),
            },
            templates=self.templates,
        )

    def _notes_saved_as(self, agent: str, today: str) -> str:
        """Where the dispatcher saves the agent's notes: Claude Code's folder for an agent that declares
        `memory:` (a topic file linked from its MEMORY.md), else the team's dated store."""
        scope = self.store.declared_scope(agent) if self.store is not None else None
        if self.store is not None and scope is not None:
            folder = self.relative(self.store.native_root(scope) / agent)
            return f"`{folder}/<topic-slug>.md`, linked from `{folder}/MEMORY.md`"
        return f"`{self.relative(self.settings.memory_dir / agent)}/{today}-<topic-slug>.md`"

    def fresh(self, agent: AgentFile, task: str, today: str, context: str | None = None) -> Prompt:
        name = agent.team_name
        user = render(
            "task",
            {
                "agent": self._agent_names(name),
                "task": task,
                "context": context,
                "memory_instructions": self.memory_instructions(name, today),
            },
            templates=self.templates,
        )
        return self._prompt(agent, task, user)

    def handoff(
        self, agent: AgentFile, requester: str, parent_task: str, request: HandoffRequest, today: str
    ) -> Prompt:
        name = agent.team_name
        user = render(
            "handoff",
            {
                "requester": self._agent_names(requester),
                "request": {
                    "task": request.task,
                    "context": request.context,
                    "need_back": request.need_back,
                    "blocks": request.blocks,
                },
                "parent_task": parent_task,
                "memory_instructions": self.memory_instructions(name, today),
            },
            templates=self.templates,
        )
        return self._prompt(agent, request.task, user)

    def continuation(
        self,
        agent: AgentFile,
        task: str,
        previous: str,
        results: list[HandoffResult],
        today: str,
        resumed: bool = False,
    ) -> Prompt:
        """The continuation turn. `resumed`: the provider resumes the agent's own session, which holds
        its earlier answer, so the turn does not repeat it."""
        name = agent.team_name
        user = render(
            "continuation",
            {
                "task": task,
                "previous_analysis": "" if resumed else previous,
                "results": [
                    {
                        "agent": result.agent,
                        "display_name": result.display_name,
                        "task": result.task,
                        "status": result.status,
                        "output": result.output,
                    }
                    for result in results
                ],
                "memory_instructions": self.memory_instructions(name, today),
            },
            templates=self.templates,
        )
        return self._prompt(agent, task, user)

    def _prompt(self, agent: AgentFile, task: str, user: str) -> Prompt:
        system, memories = self.system(agent, task)
        return Prompt(system=system, user=user, memories=memories)

    def relative(self, path: Path) -> str:
        try:
            return real_path(path).relative_to(self.settings.root).as_posix()
        except ValueError:
            return path.as_posix()


# Claude Code 2.1.332's framing of an agent's memory (its instructions, 12 KB, are its own: an API
# call gets a short version, since the dispatcher, not the agent, saves the notes it returns).
_SCOPE_LINES = {
    "user": "- Since this memory is user-scope, keep learnings general since they apply across all projects",
    "project": "- Since this memory is project-scope and shared with your team via version control, "
    "tailor your memories to this project",
    "local": "- Since this memory is local-scope (not checked into version control), tailor your memories "
    "to this project and machine",
}


def claude_code_memory_text(memory: NativeMemory) -> str:
    """The block Claude Code appends to the agent's system prompt: heading, folder, scope line, then
    `## MEMORY.md` with the file's window (and Claude Code's WARNING when it was cut)."""
    from agentctl.memory import EMPTY_INDEX

    shown = memory.text or EMPTY_INDEX
    warning = f"\n\n{memory.warning}" if memory.warning else ""
    return (
        f"# Persistent Agent Memory\n\nYou have a persistent, file-based memory system at `{memory.folder}/`. "
        "`MEMORY.md` there is its index: one line per memory, each linking a topic file. Notes you return "
        "under `## Memory Notes` are saved there for your future tasks.\n\n"
        f"{_SCOPE_LINES[memory.scope]}\n\n## MEMORY.md\n\n{shown}{warning}\n"
    )


def _read_note(path: Path, limit: int, skip_large: bool = False) -> str | None:
    """A project note, cut after `limit` bytes; None when it is missing or not a readable file (a
    note is optional context). It is read within bounds.PROTOCOL_BYTES: a larger one is named, not
    read (`skip_large`: it is None, as Claude Code skips an import over its own 4 MiB)."""
    from agentctl.bounds import PROTOCOL_BYTES, describe
    from agentctl.fsutil import FileTooLargeError, read_bounded

    try:
        data = read_bounded(path, PROTOCOL_BYTES)
    except FileTooLargeError:
        return None if skip_large else f"[left out: the file is larger than {describe(PROTOCOL_BYTES)}]\n"
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    if len(data) > limit:
        text = text[:limit] + f"\n\n[cut here: the file is {len(data)} bytes; agentctl includes the first {limit}]\n"
    return text


def _read_top_note(path: Path) -> str | None:
    """A CLAUDE.md or CLAUDE.local.md of the team block: cut as a note is."""
    return _read_note(path, limit=MAX_PROJECT_NOTE_BYTES)


def _read_import(path: Path) -> str | None:
    """A file a CLAUDE.md imports: None when it cannot be read or is over bounds.PROTOCOL_BYTES
    (Claude Code skips a file over its own limit, the same 4 MiB), else cut as a note is."""
    return _read_note(path, limit=MAX_PROJECT_NOTE_BYTES, skip_large=True)


def prompt_builder(team: Team, memory: bool = True, home: Path | None = None) -> PromptBuilder:
    """The prompts of a dispatch and of `agentctl prompt`: memory notes within [dispatch]
    memory_budget tokens, where 0 means none (not the default), and none at all without `memory`.
    `home`: the (injected) environment's HOME, where the `user` memory scope lives; None: no user scope."""
    from agentctl.memory import MemoryStore

    configured = team.settings.dispatch.get("memory_budget")
    budget = DEFAULT_MEMORY_BUDGET if configured is None else int(configured)
    store = MemoryStore(team.settings, home=home) if memory else None
    if store is not None:
        store.use_agents(team.agents)  # read once: the store needs their `memory:` scopes
    return PromptBuilder(team, store, budget if memory else 0, home=home)


def continuation_prompt(
    builder: PromptBuilder,
    target: AgentFile,
    task: str,
    previous: str,
    answers: Sequence[tuple[str, str]],
    today: str,
) -> Prompt:
    """`target`'s continuation turn after its `previous` answer, with each delegate's answer
    (`(agent, answer)`: the agent by any name the team resolves), each under the task its request in
    `previous` gave it (`agentctl prompt --continuation`, and the MCP server's `prompt`)."""
    from agentctl.handoff import parse_output, resolve_targets

    team = builder.team
    requests = resolve_targets(parse_output(previous), team)
    results = []
    for name, answer in answers:
        agent_name = team.resolve(name).name or name
        asked = next((r.task for r in requests if r.agent == agent_name), "(the request in your previous answer)")
        results.append(HandoffResult(agent_name, team.display_name(agent_name) or agent_name, asked, "ok", answer))
    return builder.continuation(target, task, previous, results, today)


def handoff_prompt(
    builder: PromptBuilder,
    target: AgentFile,
    requester: AgentFile,
    parent_task: str,
    answer: str,
    today: str,
    where: str = "the requester's answer",
) -> Prompt:
    """The brief `target` gets for the first handoff request to it in `requester`'s `answer`;
    UsageError (naming `where`) when the answer holds none."""
    from agentctl.handoff import parse_output, resolve_targets

    requests = [r for r in resolve_targets(parse_output(answer), builder.team) if r.agent == target.name]
    if not requests:
        raise UsageError(
            f"{where} holds no handoff request to {target.name}",
            hint="`agentctl handoffs parse` shows the requests an answer holds",
        )
    return builder.handoff(target, requester.team_name, parent_task, requests[0], today)


def home_of(environ: Mapping[str, str]) -> Path | None:
    """HOME as the environment gives it (never the process's own: tests and library callers inject it)."""
    home = environ.get("HOME")
    return Path(home) if home else None
