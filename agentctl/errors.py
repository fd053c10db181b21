"""The user-facing error tree: one message, one hint, one exit code.

Core modules raise these; `agentctl.cli` is the single place that turns them into
`error: ...` lines and exit codes (see DESIGN.md, "Conventions users see").
"""

from __future__ import annotations


class ExitCode:
    """Exit codes are a contract with CI and orchestrator agents; never renumber them."""

    OK = 0
    PROBLEMS = 1
    USAGE = 2
    INTERNAL = 3
    PROVIDER = 4
    BUDGET = 5
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM, what orchestrators and CI send: 128 + 15, as a shell reports it


class AgentctlError(Exception):
    """An error the user can act on: what went wrong, and how to fix it."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(AgentctlError):
    """Bad option, unknown path or agent: exit 2."""


class ConfigError(AgentctlError):
    """agentctl.toml or [tool.agentctl] is malformed: exit 2."""


class RootNotFoundError(AgentctlError):
    """No team root above the working directory: exit 2."""


class UnknownAgentError(AgentctlError):
    """A name that no agent and no roster entry resolves: exit 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so that every path that saves a run on Ctrl-C saves it
    on SIGTERM too; the boundary exits 143 instead of 130."""


def interruption_exit_code(error: BaseException) -> int:
    return ExitCode.TERMINATED if isinstance(error, Terminated) else ExitCode.INTERRUPTED
