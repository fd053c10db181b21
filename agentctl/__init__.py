"""agentctl: check, run and remember a team of Claude Code agents.

The public API is imported lazily so that `import agentctl` stays cheap:

    from agentctl import load_team, validate, load_settings
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_agent_file", "load_settings", "load_team", "validate"]

if TYPE_CHECKING:
    from agentctl.config import load_settings
    from agentctl.spec import load_agent_file
    from agentctl.team import load_team
    from agentctl.validate import validate

_EXPORTS = {
    "load_settings": "agentctl.config",
    "load_team": "agentctl.team",
    "validate": "agentctl.validate",
    "load_agent_file": "agentctl.spec",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'agentctl' has no attribute {name!r}")
