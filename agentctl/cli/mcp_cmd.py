"""agentctl mcp [--max-cost USD] [--max-calls N] [--provider NAME] [--script FILE] [--root PATH]

Serves the team over stdio as an MCP server (agentctl/mcp_server/): Claude Code starts it with
`claude mcp add agentctl -- agentctl mcp`. The SDK is imported here, when the command runs, and in
mcp_server/app.py; no other command pays for it.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.bounds import DISPATCH_MAX_CALLS, DISPATCH_MAX_COST
from agentctl.cli import env as environment
from agentctl.cli.common import PROVIDERS_HELP, ProviderName, RootOption, settings_for
from agentctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from agentctl.mcp_server.calls import TeamTools


def mcp_command(
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            help="USD that every dispatch through this server may spend together, at worst "
            f"[[dispatch] max_cost, else {DISPATCH_MAX_COST:g}]. A tool call cannot raise it.",
        ),
    ] = None,
    max_calls: Annotated[
        int | None,
        typer.Option(
            "--max-calls",
            help="Calls that every dispatch through this server may start together "
            f"[[dispatch] max_calls, else {DISPATCH_MAX_CALLS}].",
        ),
    ] = None,
    provider: Annotated[
        ProviderName | None,
        typer.Option(
            "--provider", help=f"Who answers dispatch's calls [anthropic]: {PROVIDERS_HELP}.", case_sensitive=False
        ),
    ] = None,
    script: Annotated[
        Path | None, typer.Option("--script", help="The scripted provider's replies (YAML or JSON).")
    ] = None,
    root: RootOption = None,
) -> int:
    """Serve the team's checks, routing, memory and budgeted dispatch as MCP tools over stdio (for Claude
    Code: `claude mcp add agentctl -- agentctl mcp`). Runs until the client closes its input."""
    from agentctl.mcp_server.calls import ServerConfig, TeamTools
    from agentctl.mcp_server.spending import server_allowance

    current = environment.current()
    settings = settings_for(root)
    allowance = server_allowance(settings, max_cost, max_calls)
    script_path = current.cwd / script if script is not None else None
    if script_path is not None and not script_path.is_file():
        raise UsageError(f"--script {script}: no such file", hint="a YAML or JSON file of replies per agent")
    config = ServerConfig(settings.root, current.environ, provider.value if provider else None, script_path)
    serve = _sdk_serve()
    current.err(
        f"agentctl mcp: serving {settings.root} over stdio; dispatch caps for the server's life: "
        f"${allowance.max_cost:g}, {allowance.max_calls} calls"
    )
    serve(TeamTools(config, allowance))
    return ExitCode.OK


def _sdk_serve() -> "Callable[[TeamTools], None]":
    """The server's entry point, with the SDK imported; exit 2 with the install command without it."""
    try:
        from agentctl.mcp_server.app import serve
    except ImportError as error:
        raise UsageError(
            f"agentctl mcp needs the MCP SDK ({error})", hint='pip install "agentctl[mcp]" (mcp>=2.3,<3)'
        ) from None
    return serve


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)
