"""`agentctl init`: a team written into a project, in a form that works there without edits.

The source is the team agentctl ships (inside the wheel, or at the top of a checkout), a team folder
(`--team`), or some agents of a folder of public agent files (`--from-catalogue`). What is written,
below the project root only:

- the agents, their paths rewritten for the layout and their frontmatter as `fmt` writes it where
  Claude Code would misread it (teamtext.py), in `.claude/agents/` or `agents/`;
- the team's shared files (the protocol), rewritten the same way;
- memory: the team's dated notes of the chosen agents, or, with `--memory native`, the same notes as
  Claude Code's own agent memory (`.claude/agent-memory/<agent>/`: topic files and `MEMORY.md`);
- `.mcp.json`: an entry for each MCP server the agents name in `tools` (mcp_catalog.py; a server the
  catalogue does not know gets a placeholder entry), merged into an existing file: servers it lacks
  are added, an entry that is there is never changed;
- `.gitignore`: `.agentctl/` and `.claude/agent-memory-local/`, added when missing;
- `agentctl.toml` only when agentctl would not find the team otherwise (agents alone at the top level).

Nothing is written until every file has been planned and checked: a file that is there and differs
is a conflict (a unified diff, and nothing written) unless `--force`; a memory note that is there is
the project's own and is left alone; a symlink that leads out of the project is refused. A second
run writes nothing.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentctl import bounds
from agentctl.config import Layout
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.spec import AgentFile
from agentctl.teamtext import NATIVE_FOLDER, MemoryMode

if TYPE_CHECKING:
    from agentctl.team import Team

SourceKind = Literal["shipped", "team", "catalogue"]
Action = Literal["create", "same", "update", "overwrite", "conflict", "kept"]
WRITES: frozenset[str] = frozenset({"create", "update", "overwrite"})
GITIGNORE_LINES = (".agentctl/", ".claude/agent-memory-local/")
GITIGNORE_HEADER = "# agentctl: its run records and cache, and Claude Code's local agent memory, stay out of git"
# A catalogue agent's file is `<name>.md`: only names that are plain file names.
_FILE_NAME = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_LIMIT = 4 * bounds.MIB  # an existing file init compares with what it would write


@record
class InitOptions:
    project: Path
    team: Path | None = None  # --team DIR
    catalogue: Path | None = None  # --from-catalogue DIR
    layout: Layout = "claude"
    memory: MemoryMode = "dated"
    agents: tuple[str, ...] = ()  # --agents: all when empty
    force: bool = False
    dry_run: bool = False


@record
class PlannedFile:
    """One file init writes: its path from the project root, what it holds, what happens to it."""

    path: str
    kind: str  # agent | shared | memory | mcp | gitignore | config
    text: str
    action: Action = "create"
    old: str | None = None  # what is there now (None: nothing, or nothing readable)
    reason: str = ""  # a conflict's cause, or what a merge adds

    def diff(self) -> str:
        """The change as a unified diff (empty when nothing changes)."""
        old = (self.old or "").splitlines(keepends=True)
        new = self.text.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"{self.path} (in the project)", f"{self.path} (agentctl init)"))


@record
class ServerNeed:
    """An MCP server the installed agents name in `tools`, and what init did about it."""

    server: str
    agents: list[str]
    status: str  # added | present | placeholder | built-in (no .mcp.json entry)
    placeholders: dict[str, str] = field(default_factory=dict)  # variable -> what to set it to
    docs: str = ""


@record
class InitResult:
    project: Path
    source_kind: SourceKind
    source: Path
    layout: Layout
    memory: MemoryMode
    agents: list[str]
    files: list[PlannedFile]
    servers: list[ServerNeed]
    project_files: dict[str, list[str]]  # a project path a First Step names -> the agents naming it
    notes: list[str]
    dry_run: bool = False
    written: bool = False

    @property
    def conflicts(self) -> list[PlannedFile]:
        return [file for file in self.files if file.action == "conflict"]

    @property
    def status(self) -> str:
        if self.conflicts:
            return "refused"
        if not any(file.action in WRITES for file in self.files):
            return "nothing to do"
        return "dry run" if self.dry_run else "written"

    @property
    def exit_code(self) -> int:
        return ExitCode.PROBLEMS if self.conflicts else ExitCode.OK


# --- the source -------------------------------------------------------------------------------------


@record
class SourceAgent:
    name: str
    path: Path
    relative: str  # where the file goes in the agents folder
    text: str


@record
class Source:
    kind: SourceKind
    root: Path
    agents: list[SourceAgent]
    shared: list[tuple[str, Path]] = field(default_factory=list)  # (path in the shared folder, file)
    memory: Path | None = None  # the team's dated memory folder
    protocol: str = ""  # the protocol's text, for its Paths section
    notes: list[str] = field(default_factory=list)


def shipped_team_root() -> Path | None:
    """The team agentctl ships: inside the wheel (agentctl/data/team/), else at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for root in (here / "data" / "team", here.parent):
        if (root / "agents").is_dir() and (root / "agents-shared" / "team-protocol.md").is_file():
            return root
    return None


def load_source(options: InitOptions) -> Source:
    if options.catalogue is not None:
        return _catalogue_source(options.catalogue, options.agents)
    if options.team is not None:
        return _team_source("team", options.team, options.agents)
    root = shipped_team_root()
    if root is None:
        raise UsageError(
            "this copy of agentctl holds no team to install",
            hint="pass --team DIR or --from-catalogue DIR, or reinstall agentctl",
        )
    return _team_source("shipped", root, options.agents)


def _team_source(kind: SourceKind, root: Path, wanted: tuple[str, ...]) -> Source:
    from agentctl.config import load_settings
    from agentctl.team import load_team, protocol_text

    if not root.is_dir():
        raise UsageError(f"--team: {root} is not a folder", hint="pass the folder that holds the team's agents/")
    settings = load_settings(root=root, environ={})
    team = load_team(settings)
    chosen = _chosen(team.agents, wanted, team)
    agents = [
        SourceAgent(agent.team_name, agent.path, agent.path.relative_to(settings.agents_dir).as_posix(), agent.text)
        for agent in chosen
    ]
    shared = [(path.relative_to(settings.shared_dir).as_posix(), path) for path in _markdown(settings.shared_dir)]
    source = Source(kind, root, agents, shared, settings.memory_dir, protocol_text(settings.protocol_file) or "")
    names = {agent.name for agent in agents}
    missing = [entry.agent for entry in team.roster if entry.agent not in names and not team.roster_derived]
    if missing:
        source.notes.append(
            f"the protocol's roster lists {len(missing)} agent(s) not installed ({', '.join(missing)}): "
            "`agentctl validate` reports their rows (TM002) until you install them too "
            "(`agentctl init --agents NAME,...` adds them) or remove the rows"
        )
    return source


def _markdown(folder: Path) -> list[Path]:
    from agentctl.walk import markdown_files

    return markdown_files(folder) if folder.is_dir() else []


def _chosen(agents: list[AgentFile], wanted: tuple[str, ...], team: Team) -> list[AgentFile]:
    """The agents named in `wanted` (names or the roster's display names, any case), or all of
    them; every unknown name is one usage error, with the close ones."""
    if not wanted:
        return agents
    chosen: dict[str, AgentFile] = {}
    unknown: list[str] = []
    for name in wanted:
        try:
            agent = team.resolve(name)
        except AgentctlError:
            unknown.append(name)
            continue
        chosen.setdefault(agent.team_name, agent)
    if unknown:
        names = sorted(agent.team_name for agent in agents)
        raise UsageError(_unknown_names(unknown, names, "the team"), hint=f"its agents: {', '.join(names)}")
    return list(chosen.values())


def _catalogue_source(folder: Path, wanted: tuple[str, ...]) -> Source:
    from agentctl.team import normalise_name

    if not folder.is_dir():
        raise UsageError(f"--from-catalogue: {folder} is not a folder", hint="pass a folder of agent files")
    index, skipped = _catalogue_index(folder)
    by_key = {normalise_name(name): name for name in index}
    picked = list(dict.fromkeys(by_key[normalise_name(name)] for name in wanted if normalise_name(name) in by_key))
    unknown = [name for name in wanted if normalise_name(name) not in by_key]
    if unknown:
        raise UsageError(_unknown_names(unknown, sorted(index)), hint="the names are each file's `name:`")
    picked = picked or sorted(index)
    _refuse_duplicates(folder, picked, index)
    agents = [SourceAgent(name, index[name][0].path, f"{name}.md", index[name][0].text) for name in picked]
    source = Source("catalogue", folder, agents)
    if skipped and not wanted:
        source.notes.append(f"left out {len(skipped)} file(s) Claude Code skips even after `agentctl fmt`")
    return source


def _catalogue_index(folder: Path) -> tuple[dict[str, list[AgentFile]], list[Path]]:
    """Every agent of the folder by the name Claude Code gives it once `fmt` has repaired what it
    can; and the files it skips even so (documents such as a README aside)."""
    from agentctl import fmt, spec
    from agentctl.team import is_document

    index: dict[str, list[AgentFile]] = {}
    skipped: list[Path] = []
    for path in _markdown(folder):
        agent = spec.load_agent_file(path)
        if not agent.verdict.loads and agent.text:
            repaired = fmt.format_text(path, agent.text)
            if repaired.problem is None and repaired.changed:
                agent = spec.parse_agent_text(path, repaired.formatted)
                agent.text = repaired.original  # install from the author's file: teamtext formats it
        name = agent.verdict.name
        if not agent.verdict.loads or name is None:
            if not is_document(path):
                skipped.append(path)
            continue
        index.setdefault(name, []).append(agent)
    return index, skipped


def _unknown_names(unknown: list[str], known: list[str], where: str = "the catalogue") -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        parts.append(f"{name!r}" + (f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""))
    return f"no agent called {', '.join(parts)} in {where}"


def _refuse_duplicates(folder: Path, picked: list[str], index: dict[str, list[AgentFile]]) -> None:
    for name in picked:
        if not _FILE_NAME.fullmatch(name):
            raise UsageError(f"the agent name {name[:80]!r} cannot be a file name", hint="leave it out of --agents")
    twice = [name for name in picked if len(index[name]) > 1]
    if twice:
        files = ", ".join(agent.path.relative_to(folder).as_posix() for agent in index[twice[0]])
        raise UsageError(
            f"{len(twice)} name(s) are defined by more than one file of the catalogue ({', '.join(twice[:5])}"
            f"{', …' if len(twice) > 5 else ''}; {twice[0]!r}: {files})",
            hint="point --from-catalogue at the folder of the ones you want, or leave them out of --agents",
        )


# --- the plan ---------------------------------------------------------------------------------------


def _folders(layout: Layout) -> dict[str, str]:
    """The team's folders from the project root, as agentctl's discovery finds them in the layout."""
    base = ".claude/" if layout == "claude" else ""
    return {"agents": f"{base}agents", "shared": f"{base}agents-shared", "memory": f"{base}agents-memory"}


def plan(options: InitOptions, source: Source, project: Path) -> InitResult:
    """Every file init would write, compared with what the project holds; nothing is written."""
    from agentctl import teamtext
    from agentctl.prompts import Templates

    folders, paths = _folders(options.layout), teamtext.team_folders(options.layout, options.memory)
    templates = Templates()
    files: list[PlannedFile] = []
    notes = list(source.notes)
    installed: dict[str, str] = {}
    for agent in source.agents:
        text, changes = teamtext.agent_text(agent.path, agent.text, paths, options.memory, templates)
        installed[agent.name] = text
        files.append(PlannedFile(f"{folders['agents']}/{agent.relative}", "agent", text))
        notes += [f"{agent.name}: {change}" for change in changes if change.startswith("frontmatter")]
    protocol = source.protocol
    for relative, path in source.shared:
        text = teamtext.protocol_text(_read_text(path), paths, options.memory, templates)
        protocol = text if relative == "team-protocol.md" else protocol
        files.append(PlannedFile(f"{folders['shared']}/{relative}", "shared", text))
    files += _memory_files(source, options, folders)
    servers = _servers(installed, files, project)
    files.append(_gitignore(project))
    result = InitResult(
        project=project,
        source_kind=source.kind,
        source=source.root,
        layout=options.layout,
        memory=options.memory,
        agents=list(installed),
        files=files,
        servers=servers,
        project_files=_project_files(installed, protocol, project),
        notes=notes,
        dry_run=options.dry_run,
    )
    _compare(result, options.force)
    _add_config(result, options)
    return result


def _read_text(path: Path, limit: int = bounds.PROTOCOL_BYTES) -> str:
    from agentctl.fsutil import read_bounded

    try:
        return read_bounded(path, limit).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or "not UTF-8 text"
        raise UsageError(f"cannot read {path}: {why}", hint="fix the file in the team, or leave it out") from None


def _memory_files(source: Source, options: InitOptions, folders: dict[str, str]) -> list[PlannedFile]:
    """The chosen agents' dated notes, as they are, or as Claude Code's agent memory."""
    from agentctl.memory import MemoryStore

    if source.memory is None or not source.memory.is_dir():
        return []
    from agentctl.config import load_settings

    store = MemoryStore(load_settings(root=source.root, environ={}))
    files: list[PlannedFile] = []
    for agent in source.agents:
        notes = [entry for entry in store.notes_of(agent.name) if not entry.problems]
        if options.memory == "native":
            files += _native_notes(agent.name, notes)
        else:
            files += [
                PlannedFile(f"{folders['memory']}/{agent.name}/{entry.path.name}", "memory", entry.text)
                for entry in sorted(notes, key=lambda entry: entry.path.name)
            ]
    return files


def _native_notes(agent: str, notes: list[Any]) -> list[PlannedFile]:
    """Dated notes as topic files of Claude Code's agent memory, and the MEMORY.md that lists them."""
    from agentctl.memory import MEMORY_INDEX, native_pointer, native_topic_text

    files: list[PlannedFile] = []
    pointers: list[str] = []
    taken: set[str] = set()
    for entry in sorted(notes, key=lambda entry: (entry.date or "", entry.path.name)):
        stem, number = entry.slug, 2
        while stem in taken:
            stem, number = f"{entry.slug}-{number}", number + 1
        taken.add(stem)
        text = native_topic_text(stem, entry.topic, entry.applies_when, entry.text)
        files.append(PlannedFile(f"{NATIVE_FOLDER}/{agent}/{stem}.md", "memory", text))
        pointers.append(native_pointer(entry.topic, f"{stem}.md", entry.applies_when))
    if pointers:
        files.append(PlannedFile(f"{NATIVE_FOLDER}/{agent}/{MEMORY_INDEX}", "memory", "\n".join(pointers) + "\n"))
    return files


# --- comparing with the project ----------------------------------------------------------------------


def _target(project: Path, relative: str) -> Path:
    """Where `relative` lands below the project, following symlinks that stay inside it; a
    UsageError for one that leads out (nothing is written through it)."""
    real_project = Path(os.path.realpath(project))
    path = real_project
    for part in relative.split("/"):
        path = path / part
        if path.is_symlink():
            resolved = Path(os.path.realpath(path))
            if not resolved.is_relative_to(real_project):
                raise UsageError(
                    f"{project / relative}: {path} is a symbolic link that leads out of the project, to {resolved}",
                    hint="agentctl init writes only inside the project: replace the link, or install elsewhere",
                )
            path = resolved
    return path


def _existing(path: Path, limit: int = _LIMIT) -> tuple[str | None, str]:
    """(the text of the file at `path`, None when there is none; why it cannot be compared, or "")."""
    from agentctl.fsutil import read_bounded

    if not os.path.lexists(path):
        return None, ""
    try:
        return read_bounded(path, limit).decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "it is not UTF-8 text"
    except OSError as error:
        return None, f"it cannot be read ({error.strerror or error})"


def _compare(result: InitResult, force: bool) -> None:
    """Each team file's action: create, same, conflict (or overwrite with --force), kept (a memory
    note that is there: the project's own)."""
    for file in result.files:
        if file.kind in ("mcp", "gitignore"):
            continue  # merged where they were planned
        old, problem = _existing(_target(result.project, file.path))
        file.old = old
        if old is None and not problem:
            file.action = "create"
        elif old == file.text:
            file.action = "same"
        elif file.kind == "memory":
            file.action, file.reason = "kept", "a memory note the project has: left as it is"
        elif problem:
            file.action, file.reason = "conflict", f"{problem}: not replaced, even with --force"
        else:
            file.action = "overwrite" if force else "conflict"
            file.reason = "differs from what agentctl init writes"


def _add_config(result: InitResult, options: InitOptions) -> None:
    """agentctl.toml when agentctl would not find the team without it (agents alone at the top
    level); a note when the project's own configuration points agentctl elsewhere."""
    project = result.project
    has_config = (project / "agentctl.toml").exists() or _pyproject_configures(project)
    if has_config:
        result.notes += _config_notes(project, _folders(options.layout)["agents"])
        return
    kinds = {file.kind for file in result.files}
    if options.layout == "top-level" and not kinds & {"shared", "memory"}:
        text = '# agentctl init: the team is agents/ at the top level.\nlayout = "top-level"\n'
        config = PlannedFile("agentctl.toml", "config", text)
        old, problem = _existing(_target(project, config.path))
        config.old, config.action = old, "create" if old is None and not problem else "same"
        result.files.append(config)


def _pyproject_configures(project: Path) -> bool:
    text, _ = _existing(project / "pyproject.toml", bounds.CONFIG_BYTES)
    return text is not None and "[tool.agentctl" in text


def _config_notes(project: Path, agents: str) -> list[str]:
    from agentctl.config import load_settings

    try:
        settings = load_settings(root=project, environ={})
    except AgentctlError as error:
        return [f"the project's agentctl configuration cannot be read ({error.message}): fix it to use the team"]
    if settings.agents_dir != Path(os.path.realpath(project / agents)):
        where = settings.config_file.name if settings.config_file else "its configuration"
        return [f"the project's {where} points agentctl at {settings.agents_dir}, not at {agents}/: change it"]
    return []


def _project_files(installed: dict[str, str], protocol: str, project: Path) -> dict[str, list[str]]:
    """The project's own files the agents' First Step reads that the project does not have."""
    from agentctl.escalation import first_step_paths
    from agentctl.team import project_paths

    prefixes = tuple(prefix for prefix in project_paths(protocol) if prefix)
    team = ("agents-shared/", "agents-memory/", "agents/", ".claude/")
    wanted: dict[str, list[str]] = {}
    for agent, text in installed.items():
        for path, _line in first_step_paths(text):
            if any(mark in path for mark in ("<", ">", "*", "{")):
                continue  # stands for many files, not one to provide
            ours = path.startswith(prefixes) if prefixes else not path.startswith(team)
            if ours and not os.path.lexists(project / path) and agent not in wanted.setdefault(path, []):
                wanted[path].append(agent)
    return {path: agents for path, agents in sorted(wanted.items()) if agents}


# --- MCP servers and .gitignore ----------------------------------------------------------------------


def server_of(tool: str) -> str | None:
    """The MCP server of `mcp__<server>__<tool>` (or `mcp__<server>`), None for any other tool."""
    if not tool.startswith("mcp__"):
        return None
    server = tool[len("mcp__") :].split("__", 1)[0]
    return server or None


def server_needs(tools: dict[str, list[str] | None]) -> dict[str, list[str]]:
    """Each MCP server the agents name in `tools`, with the agents that name it, both sorted."""
    needs: dict[str, list[str]] = {}
    for agent, names in sorted(tools.items()):
        for server in dict.fromkeys(filter(None, map(server_of, names or []))):
            needs.setdefault(server, []).append(agent)
    return dict(sorted(needs.items()))


def _servers(installed: dict[str, str], result_files: list[PlannedFile], project: Path) -> list[ServerNeed]:
    """What each server the agents need gets: an entry in .mcp.json (the catalogue's, or a
    placeholder), or nothing for one built into Claude Code; the merged .mcp.json is planned."""
    from agentctl.mcp_catalog import load_mcp_servers
    from agentctl.spec import parse_agent_text

    catalogue = load_mcp_servers()
    tools = {name: parse_agent_text(Path(f"{name}.md"), text).verdict.tools for name, text in installed.items()}
    needs: list[ServerNeed] = []
    entries: dict[str, dict[str, Any]] = {}
    for server, agents in server_needs(tools).items():
        known = catalogue.get(server)
        if known is None:
            entries[server] = {"command": f"<the command that starts the {server} MCP server>", "args": [], "env": {}}
            needs.append(ServerNeed(server, agents, "placeholder"))
        elif known.mcp_json is None:
            needs.append(ServerNeed(server, agents, "built-in", dict(known.placeholders), known.docs))
        else:
            entries[server] = json.loads(json.dumps(known.mcp_json))  # a copy: the catalogue is shared
            needs.append(ServerNeed(server, agents, "added", dict(known.placeholders), known.docs))
    if entries:
        mcp, present = _merged_mcp(project, entries)
        for need in needs:
            if need.server in present:  # the user's own entry: what ours would need to be filled in is moot
                need.status, need.placeholders = "present", {}
        result_files.append(mcp)
    return needs


def _merged_mcp(project: Path, entries: dict[str, dict[str, Any]]) -> tuple[PlannedFile, list[str]]:
    """.mcp.json with the servers it lacks added, and the servers it has; an entry that is there is
    never changed, and a file that is not a JSON object of servers is a conflict, even with --force."""
    old, problem = _existing(_target(project, ".mcp.json"), bounds.CONFIG_BYTES)
    if old is None and not problem:
        text = _json_text({"mcpServers": entries})
        return PlannedFile(".mcp.json", "mcp", text, "create", reason=_listed("added", list(entries))), []
    document, problem = _mcp_document(old) if old is not None else (None, problem)
    if document is None:
        return PlannedFile(".mcp.json", "mcp", old or "", "conflict", old, f"{problem}: fix it or move it away"), []
    servers = document.setdefault("mcpServers", {})
    present = [name for name in entries if name in servers]
    added = [name for name in entries if name not in servers]
    servers.update({name: entries[name] for name in added})
    reason = "; ".join(part for part in (_listed("added", added), _listed("present", present)) if part)
    if not added:
        return PlannedFile(".mcp.json", "mcp", old or "", "same", old, reason), present
    return PlannedFile(".mcp.json", "mcp", _json_text(document), "update", old, reason), present


def _json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _listed(label: str, names: list[str]) -> str:
    return f"{label}: {', '.join(names)}" if names else ""


def _mcp_document(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        return None, f"it is not JSON ({str(error)[:120]})"
    if not isinstance(document, dict):
        return None, "it is not a JSON object"
    if not isinstance(document.get("mcpServers", {}), dict):
        return None, "its mcpServers is not an object"
    return document, ""


def _gitignore(project: Path) -> PlannedFile:
    """.gitignore with agentctl's lines added when missing (a line written with or without the
    slashes counts); the rest of the file is never changed."""
    old, problem = _existing(_target(project, ".gitignore"))
    if problem:
        return PlannedFile(".gitignore", "gitignore", "", "conflict", None, f"{problem}: fix it or move it away")
    present = {line.strip().strip("/") for line in (old or "").splitlines()}
    missing = [line for line in GITIGNORE_LINES if line.strip("/") not in present]
    if "agent-memory-local" in present:
        missing = [line for line in missing if "agent-memory-local" not in line]
    if not missing:
        return PlannedFile(".gitignore", "gitignore", old or "", "same", old)
    before = old.rstrip("\n") + "\n\n" if old and old.strip() else ""
    text = before + "\n".join([GITIGNORE_HEADER, *missing]) + "\n"
    action: Action = "update" if old is not None else "create"
    return PlannedFile(".gitignore", "gitignore", text, action, old, _listed("added", missing))


# --- writing -----------------------------------------------------------------------------------------


def _make_folders(project: Path, relative: str) -> None:
    """The folders of `relative` below the project, made as real folders (a symlink among them
    must lead inside the project: _target checked it)."""
    folder = Path(os.path.realpath(project))
    for part in relative.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink():
            folder = Path(os.path.realpath(folder))
        if not folder.is_dir():
            folder.mkdir()


def write(result: InitResult) -> None:
    """Write every file of the plan that changes; nothing when the plan has a conflict."""
    from agentctl.fsutil import atomic_create_text, rewrite_bytes

    if result.conflicts or result.dry_run:
        return
    done = 0
    try:
        result.project.mkdir(exist_ok=True)
        for file in result.files:
            if file.action not in WRITES:
                continue
            target = _target(result.project, file.path)
            _make_folders(result.project, file.path)
            if file.action == "create":
                atomic_create_text(target, file.text)
            else:
                rewrite_bytes(target, file.text.encode("utf-8"))
            done += 1
    except OSError as error:
        raise AgentctlError(
            f"cannot write {error.filename or result.project}: {error.strerror or error}"
            f" ({done} file(s) were written before it)",
            hint="fix the cause and run agentctl init again: it writes only what is still missing",
            exit_code=ExitCode.PROBLEMS,
        ) from None
    result.written = True


def run_init(options: InitOptions) -> InitResult:
    """Plan the install of the team into the project, and write it unless it is a dry run or a file
    is in the way."""
    project = options.project
    if project.exists() and not project.is_dir():
        raise UsageError(f"{project} is not a folder", hint="pass the project's folder")
    if not project.exists() and not project.parent.is_dir():
        raise UsageError(f"{project.parent} does not exist", hint="create the project's folder first")
    source = load_source(options)
    result = plan(options, source, project)
    write(result)
    return result
