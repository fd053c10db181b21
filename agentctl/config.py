"""Where the team lives: root discovery and settings.

Precedence, highest first: command-line flag, AGENTCTL_* environment variable,
agentctl.toml or [tool.agentctl] in pyproject.toml at the root, discovery, defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from agentctl.errors import ConfigError, RootNotFoundError
from agentctl.records import field, record
from agentctl.walk import real_path  # not Path.resolve: it raises RuntimeError on a symlink loop

Layout = Literal["top-level", "claude"]

# Each directory setting: its key in agentctl.toml, its environment variable, and its
# default location below the root for each layout.
DIRECTORY_SETTINGS: dict[str, dict[Layout, str]] = {
    "agents": {"top-level": "agents", "claude": ".claude/agents"},
    "shared": {"top-level": "agents-shared", "claude": ".claude/agents-shared"},
    "memory": {"top-level": "agents-memory", "claude": ".claude/agents-memory"},
    "templates": {"top-level": "templates", "claude": ".claude/templates"},
    "runs": {"top-level": ".agentctl/runs", "claude": ".agentctl/runs"},
}
CONFIG_FILE = "agentctl.toml"


@record
class Settings:
    """Resolved locations of one team, all absolute."""

    root: Path
    layout: Layout
    agents_dir: Path
    shared_dir: Path
    memory_dir: Path
    templates_dir: Path
    runs_dir: Path
    ignore: tuple[str, ...] = ()
    select: tuple[str, ...] = ()  # validate reports only these rules (ids, names, families); all when empty
    config_file: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)  # [models]: alias -> id
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # [prices."id"]
    dispatch: Mapping[str, Any] = field(default_factory=dict)  # [dispatch]: defaults of the flags
    anthropic: Mapping[str, Any] = field(default_factory=dict)  # [anthropic]: max_tokens, timeout, max_retries
    claude_code: Mapping[str, Any] = field(default_factory=dict)  # [claude_code]: binary, permission_mode, ...

    @property
    def protocol_file(self) -> Path:
        return self.shared_dir / "team-protocol.md"


def detect_layout(directory: Path) -> Layout | None:
    """Which team layout `directory` holds, if any.

    The top-level layout needs `agents/` beside `agents-shared/` or `agents-memory/`
    (a bare `agents/` folder is too common in unrelated repositories to count).
    """
    if (directory / "agents").is_dir() and (
        (directory / "agents-shared").is_dir() or (directory / "agents-memory").is_dir()
    ):
        return "top-level"
    if (directory / ".claude" / "agents").is_dir():
        return "claude"
    return None


def find_root(start: Path) -> tuple[Path, Layout]:
    """Walk up from `start` to the first directory holding a team layout or agentctl.toml."""
    for directory in (start, *start.parents):
        layout = detect_layout(directory)
        if layout is not None:
            return directory, layout
        if (directory / CONFIG_FILE).is_file():
            return directory, "top-level"
    raise RootNotFoundError(
        f"no agent team found in {start} or any parent directory",
        hint="run inside a repository with agents/ (plus agents-shared/ or agents-memory/) or "
        ".claude/agents/, or pass --root / set AGENTCTL_ROOT",
    )


def _rule_list(key: str, file_values: dict[str, Any], environ: Mapping[str, str]) -> tuple[str, ...]:
    """`ignore` or `select`: AGENTCTL_IGNORE / AGENTCTL_SELECT (comma-separated) over the file's list."""
    from_environment = environ.get(f"AGENTCTL_{key.upper()}")
    if from_environment:
        return tuple(part.strip() for part in from_environment.split(",") if part.strip())
    return tuple(file_values.get(key) or ())


def load_settings(
    cwd: Path | None = None,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings for the team around `cwd` (or at `root`)."""
    environ = os.environ if environ is None else environ
    cwd = real_path(cwd or Path.cwd())
    root, layout = _resolve_root(cwd, root, environ)
    file_values, config_file = _read_config_file(root)
    layout = _layout_from(file_values, layout)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, defaults in DIRECTORY_SETTINGS.items():
        value, origin = _pick(name, defaults[layout], file_values, environ, overrides or {})
        values[f"{name}_dir"] = real_path(root / value)
        origins[name] = origin
    return Settings(
        root=root,
        layout=layout,
        ignore=_rule_list("ignore", file_values, environ),
        select=_rule_list("select", file_values, environ),
        config_file=config_file,
        origins=origins,
        models=file_values.get("models") or {},
        prices={
            model: {k: v for k, v in entry.items() if v is not None}
            for model, entry in (file_values.get("prices") or {}).items()
        },
        dispatch=file_values.get("dispatch") or {},
        anthropic=file_values.get("anthropic") or {},
        claude_code=file_values.get("claude_code") or {},
        **values,
    )


def _resolve_root(cwd: Path, root: Path | None, environ: Mapping[str, str]) -> tuple[Path, Layout]:
    explicit = root or (Path(environ["AGENTCTL_ROOT"]) if environ.get("AGENTCTL_ROOT") else None)
    if explicit is None:
        return find_root(cwd)
    explicit = real_path(cwd / explicit)
    if not explicit.is_dir():
        source = "--root" if root else "AGENTCTL_ROOT"
        raise RootNotFoundError(
            f"{source} points to {explicit}, which is not a directory",
            hint="pass the directory that holds agents/ or .claude/agents/",
        )
    return explicit, detect_layout(explicit) or "top-level"


def _pick(
    name: str,
    default: str,
    file_values: Mapping[str, Any],
    environ: Mapping[str, str],
    overrides: Mapping[str, str],
) -> tuple[str, str]:
    env_name = f"AGENTCTL_{name.upper()}_DIR"
    if overrides.get(name):
        return overrides[name], "flag"
    if environ.get(env_name):
        return environ[env_name], env_name
    if name in file_values:
        return str(file_values[name]), "config"
    return default, "default"


def _layout_from(file_values: Mapping[str, Any], discovered: Layout) -> Layout:
    layout = file_values.get("layout", discovered)
    return "claude" if layout == "claude" else "top-level"


def _read_config_file(root: Path) -> tuple[dict[str, Any], Path | None]:
    """The [agentctl] settings at the root: agentctl.toml first, then pyproject.toml.

    An agentctl.toml that is there but is not a readable TOML file (a FIFO, a directory, a dangling
    link, too large, not UTF-8) is an error, not a file to skip: the team meant it to count."""
    config = root / CONFIG_FILE
    if os.path.lexists(config):
        return _validated(_parse_toml(_read_config_text(config), config), config), config
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = _read_config_text(pyproject)
        if "[tool.agentctl" in text:
            section = _parse_toml(text, pyproject).get("tool", {}).get("agentctl")
            if isinstance(section, dict):
                return _validated(section, pyproject, prefix="tool.agentctl."), pyproject
    return {}, None


def _read_config_text(path: Path) -> str:
    """The file's text, read within bounds.CONFIG_BYTES (never blocking on a FIFO)."""
    from agentctl.bounds import CONFIG_BYTES
    from agentctl.fsutil import read_bounded

    try:
        data = read_bounded(path, CONFIG_BYTES)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}", hint="make it a regular TOML file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text", hint="TOML files are UTF-8; re-save it as UTF-8") from None


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    import tomllib  # only teams with a config file pay for it

    from agentctl.bounds import TOML_DEPTH

    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}", hint="fix the syntax error it names") from None
    except RecursionError:
        values = None  # tomllib parses nested arrays and inline tables by recursion
    if values is None or _deeper_than(values, TOML_DEPTH):
        raise ConfigError(
            f"{path}: values nested more than {TOML_DEPTH} levels deep", hint="agentctl's settings nest 2 levels"
        )
    return values


def _deeper_than(value: object, limit: int) -> bool:
    """Whether tables and arrays nest more than `limit` levels (walked without recursion)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        current, depth = pending.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
        pending.extend((child, depth + 1) for child in children)
    return False


def _validated(values: dict[str, Any], path: Path, prefix: str = "") -> dict[str, Any]:
    """Check the settings with pydantic, reporting problems as `field: message` lines.

    pydantic is imported here only: it costs more start-up time than typer itself, and only
    teams that write a config file need it.
    """
    from agentctl.settings_schema import validate_config

    problems = validate_config(values)
    if problems:
        lines = "\n".join(f"  {prefix}{problem}" for problem in problems)
        raise ConfigError(
            f"{path}: invalid agentctl settings:\n{lines}",
            hint="see README.md, 'Configuration', for the keys agentctl reads",
        )
    return values
