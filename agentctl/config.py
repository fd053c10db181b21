"""Where the team lives: root discovery and settings.

Precedence, highest first: command-line flag, AGENTCTL_* environment variable,
agentctl.toml or [tool.agentctl] in pyproject.toml at the root, discovery, defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentctl.errors import ConfigError, RootNotFoundError

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


@dataclass(slots=True)
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
    config_file: Path | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)  # [models]: alias -> id
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # [prices."id"]
    dispatch: Mapping[str, Any] = field(default_factory=dict)  # [dispatch]: defaults of the flags
    anthropic: Mapping[str, Any] = field(default_factory=dict)  # [anthropic]: max_tokens, timeout, max_retries

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


def load_settings(
    cwd: Path | None = None,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings for the team around `cwd` (or at `root`)."""
    environ = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    root, layout = _resolve_root(cwd, root, environ)
    file_values, config_file = _read_config_file(root)
    layout = _layout_from(file_values, layout)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, defaults in DIRECTORY_SETTINGS.items():
        value, origin = _pick(name, defaults[layout], file_values, environ, overrides or {})
        values[f"{name}_dir"] = (root / value).resolve()
        origins[name] = origin
    ignore = file_values.get("ignore", [])
    env_ignore = environ.get("AGENTCTL_IGNORE")
    if env_ignore:
        ignore = [part.strip() for part in env_ignore.split(",") if part.strip()]
    return Settings(
        root=root,
        layout=layout,
        ignore=tuple(ignore),
        config_file=config_file,
        origins=origins,
        models=file_values.get("models") or {},
        prices={
            model: {k: v for k, v in entry.items() if v is not None}
            for model, entry in (file_values.get("prices") or {}).items()
        },
        dispatch=file_values.get("dispatch") or {},
        anthropic=file_values.get("anthropic") or {},
        **values,
    )


def _resolve_root(cwd: Path, root: Path | None, environ: Mapping[str, str]) -> tuple[Path, Layout]:
    explicit = root or (Path(environ["AGENTCTL_ROOT"]) if environ.get("AGENTCTL_ROOT") else None)
    if explicit is None:
        return find_root(cwd)
    explicit = (cwd / explicit).resolve()
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
    """The [agentctl] settings at the root: agentctl.toml first, then pyproject.toml."""
    config = root / CONFIG_FILE
    if config.is_file():
        return _validated(_read_toml(config), config), config
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.agentctl" in pyproject.read_text("utf-8", errors="replace"):
        section = _read_toml(pyproject).get("tool", {}).get("agentctl")
        if isinstance(section, dict):
            return _validated(section, pyproject, prefix="tool.agentctl."), pyproject
    return {}, None


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only teams with a config file pay for it

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}", hint="fix the syntax error it names") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


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
