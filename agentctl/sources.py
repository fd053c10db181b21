"""Where Claude Code reads agents, and which definition of a name wins.

Claude Code 2.1.332 reads agents from five places. For one name the highest place wins (read from
its bundle, where later sources overwrite earlier ones in one map, and checked against the binary):

1. managed: `<managed folder>/.claude/agents/`: /etc/claude-code on Linux, /Library/Application
   Support/ClaudeCode on macOS (AGENTCTL_CLAUDE_MANAGED_DIR moves it, for tests);
2. cli: the agents of `claude --agents FILE`;
3. project: the team's agents folder;
4. user: `$HOME/.claude/agents/`;
5. plugin: the agents of each plugin, from `--plugin-dir` or installed in `$HOME/.claude/plugins/`
   and enabled in settings, named `<plugin>:<subfolder>:...:<name>` so that they never collide with
   the others.

Any of them hides Claude Code's built-in agent of its name (a project `Explore` replaces the
built-in one). Inside one place the file later in path order wins, as NM003 says.

Plugin agents are read by Claude Code's lenient plugin loader: a file without `name` takes its
file name, one without `description` is "Agent from <plugin> plugin", nothing is refused; and
`permissionMode`, `hooks`, `mcpServers` and `initialPrompt` are ignored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentctl import ccyaml, claude_code, reference
from agentctl.bounds import CONFIG_BYTES
from agentctl.config import Settings
from agentctl.errors import UnknownAgentError, UsageError
from agentctl.records import field, record
from agentctl.spec import AgentFile, load_agent_file, parse_agent_text
from agentctl.team import Team, is_agent, load_team, normalise_name
from agentctl.walk import markdown_files

SOURCES = ("managed", "cli", "project", "user", "plugin")  # highest precedence first
# Keys Claude Code reads from an agent file but ignores when the file comes from a plugin.
PLUGIN_IGNORED_KEYS = ("permissionMode", "hooks", "mcpServers", "initialPrompt")
MANAGED_DIR_VARIABLE = "AGENTCTL_CLAUDE_MANAGED_DIR"
PROJECT_SETTINGS = ("settings.json", "settings.local.json")


@record
class SourcedAgent:
    agent: AgentFile  # for a plugin agent, its verdict carries the scoped name
    source: str  # one of SOURCES
    plugin: str | None = None  # the plugin's name, for a plugin agent
    hidden_by: AgentFile | None = None  # the agent Claude Code keeps for this name instead
    hides: list[AgentFile] = field(default_factory=list)  # the agents of this name it wins over
    hides_builtin: str | None = None  # the built-in agent it replaces

    @property
    def ignored_keys(self) -> list[str]:
        """The frontmatter keys Claude Code ignores in this agent because it comes from a plugin."""
        if self.source != "plugin" or self.agent.reading is None:
            return []
        return [key for key in PLUGIN_IGNORED_KEYS if key in self.agent.reading.data]


@record
class Plugin:
    name: str
    root: Path
    origin: str  # "--plugin-dir", or the installed plugin's `name@marketplace`


@record
class SourceOptions:
    """What the command line adds to the places Claude Code reads (its own flags' names)."""

    environ: Mapping[str, str]  # HOME (the user level, installed plugins) and the managed folder
    no_user: bool = False  # leave out everything HOME holds, as CI should
    agents_json: Path | None = None  # `--agents FILE`
    plugin_dirs: Sequence[Path] = ()  # `--plugin-dir DIR`, repeatable


# --- the places ------------------------------------------------------------------------------------


def managed_agents_dir(environ: Mapping[str, str]) -> Path | None:
    """The managed (organisation-wide) agents folder, if it exists on this machine."""
    root = environ.get(MANAGED_DIR_VARIABLE) or _managed_root()
    folder = Path(root) / ".claude" / "agents" if root else None
    return folder if folder is not None and folder.is_dir() else None


def _managed_root() -> str | None:
    if sys.platform == "darwin":
        return "/Library/Application Support/ClaudeCode"
    if sys.platform.startswith("linux"):
        return "/etc/claude-code"
    if sys.platform == "win32":
        return "C:\\Program Files\\ClaudeCode"  # as Claude Code 2.1.332 writes it, not %ProgramFiles%
    return None


def user_agents_dir(environ: Mapping[str, str]) -> Path | None:
    """`$HOME/.claude/agents/` of the given environment; None without HOME or when it is no folder."""
    home = environ.get("HOME", "")
    folder = Path(home) / ".claude" / "agents" if home else None
    return folder if folder is not None and folder.is_dir() else None


def load_agents_dir(folder: Path | None) -> list[AgentFile]:
    """The agent files of one folder (each read bounded by the one loader); empty without one."""
    if folder is None:
        return []
    return [agent for agent in map(load_agent_file, markdown_files(folder)) if is_agent(agent)]


def load_user_agents(environ: Mapping[str, str]) -> list[AgentFile]:
    return load_agents_dir(user_agents_dir(environ))


def load_cli_agents(path: Path) -> list[AgentFile]:
    """The agents of a `claude --agents` JSON file, each as the file `agentctl import` would write,
    named `FILE#NAME`; UsageError (exit 2) for JSON Claude Code would refuse, as `claude` does."""
    from agentctl import export
    from agentctl.bounds import INPUT_BYTES
    from agentctl.fsutil import read_bounded_text

    try:
        text = read_bounded_text(path, INPUT_BYTES)
    except OSError as error:
        raise UsageError(f"cannot read --agents {path}: {error.strerror or error}", hint="pass a JSON file") from None
    agents, _ = export.checked_agents(export.loads(text, f"--agents {path}"))
    return [
        parse_agent_text(Path(f"{path}#{name}"), export.agent_file_text(name, export.canonical_entry(entry)))
        for name, entry in agents.items()
    ]


# --- plugins ---------------------------------------------------------------------------------------


def plugins_of_dir(folder: Path) -> list[Plugin]:
    """The plugins `claude --plugin-dir FOLDER` loads: the folder itself when it has a manifest
    (`.claude-plugin/plugin.json`) or no child with one; else each child that has one."""
    if not folder.is_dir():
        raise UsageError(f"--plugin-dir {folder} is not a folder", hint="pass a plugin's folder")
    if _manifest_path(folder).is_file():
        return [_plugin(folder, "--plugin-dir")]
    children = [child for child in _subfolders(folder) if _manifest_path(child).is_file()]
    return [_plugin(child, "--plugin-dir") for child in children] or [_plugin(folder, "--plugin-dir")]


def installed_plugins(environ: Mapping[str, str], project: Path) -> list[Plugin]:
    """The plugins installed in `$HOME/.claude/plugins/` that settings enable (user, then project,
    then local settings; a later `false` disables) and whose marketplace is known there."""
    home = environ.get("HOME", "")
    if not home:
        return []
    plugins = Path(home) / ".claude" / "plugins"
    installed = _json_object(plugins / "installed_plugins.json").get("plugins")
    markets = _known_marketplaces(plugins / "known_marketplaces.json")
    settings = [Path(home, ".claude", "settings.json"), *(project / ".claude" / name for name in PROJECT_SETTINGS)]
    enabled = _enabled_plugins(settings)
    found = []
    for plugin_id, entries in installed.items() if isinstance(installed, dict) else ():
        name, _, market = plugin_id.partition("@")
        if enabled.get(plugin_id) is not True or market not in markets:
            continue
        root = _market_plugin_root(markets[market], name, entries)
        if root is not None and root.is_dir():
            found.append(_plugin(root, plugin_id))
    return found


def _known_marketplaces(path: Path) -> dict[str, Any]:
    """The marketplaces of known_marketplaces.json that say where they come from and where their
    clone is (Claude Code complains of an entry without `lastUpdated`, and loads it all the same)."""
    markets = _json_object(path)
    return {
        name: market
        for name, market in markets.items()
        if isinstance(market, dict)
        and isinstance(market.get("source"), dict)
        and isinstance(market.get("installLocation"), str)
    }


def _enabled_plugins(settings_files: list[Path]) -> dict[str, Any]:
    """`enabledPlugins` of the settings files, a later file's value overriding an earlier one's."""
    enabled: dict[str, Any] = {}
    for path in settings_files:
        values = _json_object(path).get("enabledPlugins")
        if isinstance(values, dict):
            enabled |= values
    return enabled


def _market_plugin_root(market: dict[str, Any], name: str, entries: Any) -> Path | None:
    """Where an installed plugin is read: None unless its marketplace, as cloned to its
    `installLocation`, lists it; a marketplace in a local folder gives the plugin's folder there,
    any other the install cache's copy (checked against the binary)."""
    listing = _json_object(Path(market["installLocation"]) / ".claude-plugin" / "marketplace.json").get("plugins")
    listed = [entry for entry in (listing if isinstance(listing, list) else []) if isinstance(entry, dict)]
    entry = next((entry for entry in listed if entry.get("name") == name), None)
    if entry is None:
        return None
    source = market["source"]
    if (
        source.get("source") == "directory"
        and isinstance(source.get("path"), str)
        and isinstance(entry.get("source"), str)
    ):
        return Path(source["path"]) / str(entry["source"])
    return _install_path(entries)


def _install_path(entries: Any) -> Path | None:
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, dict) and isinstance(entry.get("installPath"), str):
            return Path(entry["installPath"])
    return None


def _plugin(root: Path, origin: str) -> Plugin:
    name = _json_object(_manifest_path(root)).get("name")
    return Plugin(name if isinstance(name, str) and name else root.name, root, origin)


def _manifest_path(root: Path) -> Path:
    return root / ".claude-plugin" / "plugin.json"


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(child for child in folder.iterdir() if child.is_dir())
    except OSError:
        return []


def _json_object(path: Path) -> dict[str, Any]:
    """A small JSON file's object, read bounded; {} when it is missing, too large or not an object."""
    from agentctl.fsutil import read_bounded_text

    try:
        value = json.loads(read_bounded_text(path, CONFIG_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def plugin_agents(plugin: Plugin) -> list[AgentFile]:
    """The plugin's agents, each with the verdict of Claude Code's plugin loader. The manifest's
    `agents` (a file or a list of files) replaces the `agents/` folder; subfolders of `agents/`
    add their names to the agent's."""
    listed = _manifest_agents(plugin.root)
    if listed is None:
        folder = plugin.root / "agents"
        files = markdown_files(folder) if folder.is_dir() else []
        return [plugin_agent(plugin, path, list(path.relative_to(folder).parts[:-1])) for path in files]
    return [plugin_agent(plugin, path, []) for path in listed if path.is_file()]


def _manifest_agents(root: Path) -> list[Path] | None:
    """The agent files the manifest's `agents` names (a `.md` file or a list of them; Claude Code
    2.1.332 takes no folder there); None when it names none, and `agents/` holds them."""
    listed = _json_object(_manifest_path(root)).get("agents")
    if listed is None:
        return None
    entries = [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []
    return [root / entry for entry in entries if isinstance(entry, str) and entry.endswith(".md")]


def plugin_agent(plugin: Plugin, path: Path, namespace: list[str]) -> AgentFile:
    """One agent file of a plugin, with the verdict of Claude Code's plugin loader."""
    agent = load_agent_file(path)
    if agent.too_large or agent.read_error is not None:
        return agent
    agent.verdict = plugin_verdict(agent, plugin, namespace)
    return agent


def plugin_verdict(agent: AgentFile, plugin: Plugin, namespace: list[str]) -> claude_code.ClaudeCodeVerdict:
    """What Claude Code's plugin loader makes of a file it could read: it refuses nothing."""
    data = agent.reading.data if agent.reading is not None else {}
    name = _plugin_name(data.get("name")) or agent.path.stem
    description = next(
        (text for key in ("description", "when_to_use", "when-to-use") if (text := _plugin_text(data.get(key)))),
        f"Agent from {plugin.name} plugin",
    )
    tools = claude_code.with_memory_tools(claude_code.tool_list(data.get("tools"), "tools" in data), data.get("memory"))
    denied = claude_code.tool_list(data.get("disallowedTools"), False) if "disallowedTools" in data else None
    scoped = ":".join([plugin.name, *namespace, name])
    return claude_code.ClaudeCodeVerdict(True, None, scoped, description, tools, denied)


def plugin_containing(path: Path) -> tuple[Plugin, list[str]] | None:
    """The plugin whose agent `path` is, and the subfolders that scope its name: the nearest plugin
    above it, when the file is in its `agents/` (or listed in the manifest's `agents`)."""
    folder = plugin_root(path)
    if folder is None:
        return None
    plugin = _plugin(folder, "folder")
    listed = _manifest_agents(folder)
    if listed is not None:
        return (plugin, []) if path.resolve() in {entry.resolve() for entry in listed} else None
    try:
        inside = path.relative_to(folder / "agents")
    except ValueError:
        return None
    return plugin, list(inside.parts[:-1])


def plugin_root(path: Path) -> Path | None:
    """The nearest folder above `path` that is a plugin (it has `.claude-plugin/plugin.json`)."""
    return next((folder for folder in path.parents if _manifest_path(folder).is_file()), None)


def _plugin_name(value: Any) -> str | None:
    """The plugin loader's name: String(value), unless it is absent or over 256 characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else ccyaml.js_string(value)
    return text if claude_code.utf16_length(text) <= claude_code.MAX_NAME_LENGTH else None


def _plugin_text(value: Any) -> str | None:
    """The plugin loader's description: a trimmed string, or a number or boolean as text."""
    if isinstance(value, str):
        return claude_code.js_trim(value) or None
    if isinstance(value, bool | int | float):
        return ccyaml.js_string(value)
    return None


# --- precedence ------------------------------------------------------------------------------------


def team_sources(settings: Settings, options: SourceOptions) -> tuple[Team, list[SourcedAgent]]:
    """The team and every agent Claude Code reads with it, highest place first, each marked with
    what hides it or what it hides."""
    team = load_team(settings)
    places = [*higher_places(options), *(SourcedAgent(agent, "project") for agent in team.agents)]
    places += lower_places(options)
    plugins = [plugin for folder in options.plugin_dirs for plugin in plugins_of_dir(folder)]
    if not options.no_user:
        plugins += installed_plugins(options.environ, settings.root)
    places += [SourcedAgent(agent, "plugin", plugin.name) for plugin in plugins for agent in plugin_agents(plugin)]
    return team, mark_precedence(places)


def higher_places(options: SourceOptions) -> list[SourcedAgent]:
    """The agents of the places above the project (managed, `--agents`): one of them hides a project
    agent of its name."""
    managed = [SourcedAgent(agent, "managed") for agent in load_agents_dir(managed_agents_dir(options.environ))]
    cli = [SourcedAgent(agent, "cli") for agent in load_cli_agents(options.agents_json)] if options.agents_json else []
    return managed + cli


def lower_places(options: SourceOptions) -> list[SourcedAgent]:
    """The agents of the user level, which a project agent of the same name hides (plugin agents
    have names of their own)."""
    users = [] if options.no_user else load_user_agents(options.environ)
    return [SourcedAgent(agent, "user") for agent in users]


def mark_precedence(places: list[SourcedAgent]) -> list[SourcedAgent]:
    """Mark, for each name, the one agent Claude Code keeps: the highest place's, the last file in
    path order within it. Only loaded agents take part."""
    winners: dict[str, SourcedAgent] = {}
    # Claude Code fills one map from the lowest place to the highest, each place in path order: the
    # last to write a name keeps it.
    for item in sorted(places, key=lambda item: (-SOURCES.index(item.source), str(item.agent.path))):
        if item.agent.verdict.loads and item.agent.verdict.name:
            winners[item.agent.verdict.name] = item
    builtins = set(reference.claude_code().builtin_agents)
    for name, winner in winners.items():
        winner.hides_builtin = name if name in builtins else None
    for item in places:
        kept = winners.get(item.agent.verdict.name or "") if item.agent.verdict.loads else None
        if kept is not None and kept is not item:
            item.hidden_by = kept.agent
            kept.hides.append(item.agent)
    return places


def resolve_source(team: Team, sources: list[SourcedAgent], wanted: str) -> SourcedAgent:
    """The agent `wanted` names: the one Claude Code keeps for that exact name, else the team's (by
    roster name, display name or file name), else another place's by name or file name, any case;
    the team's UnknownAgentError when none has it."""
    for item in sources:
        if item.hidden_by is None and item.agent.verdict.loads and item.agent.verdict.name == wanted:
            return item
    try:
        found = team.resolve(wanted)
    except UnknownAgentError:
        key = normalise_name(wanted)
        for item in sources:
            names = (item.agent.name or "", item.agent.path.stem)
            if item.source != "project" and key in map(normalise_name, names):
                return item
        raise
    return next(item for item in sources if item.agent is found)
