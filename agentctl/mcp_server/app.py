"""The MCP server of `agentctl mcp`, on the official `mcp` SDK (2.x, MCPServer), over stdio.

Each tool is a thin wrapper over one call of calls.TeamTools (the core call the CLI's command makes):
its inputs typed by the signature (the SDK derives the JSON Schema, descriptions included), its result
the data as structured content and a one-line summary as text. The errors of the error tree become
tool errors (`isError`) carrying the message, the hint and the exit code the CLI would have exited
with; any other exception is a bug (exit 3's message, the traceback on stderr) and never ends the
server. The resources are what an agent reads rather than calls: the protocol, the agent files and
the memory notes, listed afresh on every `resources/list`.

This module and cli/mcp_cmd.py are the only ones that import the SDK (its import costs about 1.3 s).
"""

import itertools
import logging
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp.types import Resource as MCPResource
from pydantic import Field, ValidationError

from agentctl import __version__
from agentctl.errors import AgentctlError, ExitCode, UnknownAgentError, UsageError
from agentctl.mcp_server.calls import AGENT_URI, MEMORY_URI, PROTOCOL_URI, Answer, Part, TeamTools
from agentctl.views import JSON_VERSION

log = logging.getLogger("agentctl.mcp")

# Structured content (the output schema: an object) with a text summary beside it.
ToolResult = Annotated[CallToolResult, dict[str, Any]]

READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES_MEMORY = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False)
DISPATCHES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

INSTRUCTIONS = (
    "agentctl serves one team of Claude Code agents (agent files, team protocol, memory notes). "
    "Check the roster with list_agents/show_agent, the files with validate, route a task with route, "
    "recall what the team learned with memory_search/memory_show before planning, save a lesson with "
    "memory_write, and run a task through the team with dispatch (within the server's spending caps). "
    "Resources: agentctl://team/protocol, agentctl://agents/<name>, agentctl://memory/<agent>/<note>."
)

Agent = Annotated[str, Field(description='An agent: its name, roster display name ("DB Architect") or file name.')]
OptionalAgent = Annotated[
    str | None, Field(description="Only this agent's notes (name or display name); all agents when left out.")
]
NoUser = Annotated[
    bool, Field(description="Leave out what HOME holds (the user's agents, installed plugins), as CI does.")
]
Limit = Annotated[int, Field(ge=1, le=10_000, description="How many results, best first.")]
Task = Annotated[str, Field(description="The task, in words.")]


def build_server(tools: TeamTools) -> MCPServer[Any]:
    """The server with every tool and resource of the team at `tools.root`."""
    server = TeamServer(tools)
    _team_tools(server, tools)
    _memory_tools(server, tools)
    _prompt_tools(server, tools)
    _dispatch_tool(server, tools)
    _resources(server, tools)
    return server


class TeamServer(MCPServer[Any]):
    """MCPServer whose resource list is read from the team at each `resources/list`: agents and notes
    come and go while the server runs (a dispatch saves notes, memory_write adds one)."""

    def __init__(self, tools: TeamTools) -> None:
        super().__init__("agentctl", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
        self.team_tools = tools

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Arguments that do not fit a tool's schema, and unknown tools, answer as every usage error
        does (message, hint, exit code 2) instead of the SDK's bare text."""
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if isinstance(error, UnexpectedToolError):
                raise
            cause = error.__cause__
            if isinstance(cause, ValidationError):
                return error_result(UsageError(f"{name}: {_invalid(cause)}", hint=ARGUMENTS_HINT))
            return error_result(UsageError(str(error), hint="tools/list names the tools and their arguments"))

    async def list_resources(self) -> list[MCPResource]:
        try:
            found = await anyio.to_thread.run_sync(self.team_tools.resources)
        except AgentctlError as error:  # a team that cannot be read lists nothing; reading says why
            log.warning("resources/list: %s", error.message)
            return []
        return [
            MCPResource(uri=item.uri, name=item.name, description=item.description, mime_type="text/markdown")
            for item in found
        ]


# --- results -----------------------------------------------------------------------------------------


def answered(call: Callable[[], Answer]) -> CallToolResult:
    """The tool result of one call: its data and summary, or the tool error its exception maps to."""
    try:
        answer = call()
    except AgentctlError as error:
        return error_result(error)
    except Exception as error:  # a bug: said as the CLI says exit 3, and the server goes on
        log.exception("a tool call failed on a bug")
        return error_result(
            AgentctlError(
                f"internal error ({type(error).__name__}: {error}); this is a bug in agentctl",
                hint="the server's stderr (Claude Code's MCP log) has the traceback; please report it",
                exit_code=ExitCode.INTERNAL,
            )
        )
    if answer.error is not None:
        return error_result(answer.error, answer.data, answer.summary)
    return CallToolResult(
        content=[TextContent(type="text", text=answer.summary)],
        structured_content={"version": JSON_VERSION} | answer.data,
    )


def error_result(
    error: AgentctlError, data: dict[str, Any] | None = None, summary: str | None = None
) -> CallToolResult:
    """`isError`: `error: <message>` and `hint: <hint>` as text (what Claude Code shows the model), and
    the CLI's JSON error object (with the data of what ran, a dispatch's record) as structured content."""
    text = f"error: {error.message}" + (f"\nhint: {error.hint}" if error.hint else "")
    payload = {"message": error.message, "hint": error.hint, "exit_code": error.exit_code}
    return CallToolResult(
        content=[TextContent(type="text", text=text + (f"\n\n{summary}" if summary else ""))],
        structured_content={"version": JSON_VERSION} | (data or {}) | {"error": payload},
        is_error=True,
    )


def read_resource(call: Callable[[], str]) -> str:
    """A resource's text, or the resource error its exception maps to (not found for an unknown name)."""
    try:
        return call()
    except UnknownAgentError as error:
        raise ResourceNotFoundError(_message(error)) from None
    except AgentctlError as error:
        raise ResourceError(_message(error)) from None


ARGUMENTS_HINT = "the tool's input schema (tools/list) says what each argument takes"


def _invalid(error: ValidationError) -> str:
    """`limit: Input should be greater than or equal to 1; query: Field required` (never the values)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}" for item in error.errors()
    )


def _message(error: AgentctlError) -> str:
    return error.message + (f" (hint: {error.hint})" if error.hint else "")


# --- tools -------------------------------------------------------------------------------------------


def _team_tools(server: MCPServer[Any], tools: TeamTools) -> None:
    @server.tool(title="List the team's agents", annotations=READS)
    def list_agents(no_user: NoUser = False) -> ToolResult:
        """The agents Claude Code reads with the team (managed, project, user, plugins), each with its
        display name, file, model, tools, the first line of its description and Claude Code's verdict
        (loads, or skipped and why)."""
        return answered(lambda: tools.list_agents(no_user))

    @server.tool(title="Show one agent", annotations=READS)
    def show_agent(name: Agent, no_user: NoUser = False) -> ToolResult:
        """One agent in full: Claude Code's verdict, its tools, model, whole description, frontmatter,
        examples and system prompt, where it comes from and what it hides."""
        return answered(lambda: tools.show_agent(name, no_user))

    @server.tool(title="Check the team's files", annotations=READS)
    def validate(
        paths: Annotated[
            list[str] | None,
            Field(description="Files or folders inside the team's root (relative to it); default: the team."),
        ] = None,
        strict: Annotated[bool, Field(description="Warnings fail too.")] = False,
        ignore: Annotated[
            list[str] | None, Field(description="Rules to skip: ids, names or families (FM001, TM).")
        ] = None,
        no_user: NoUser = False,
        select: Annotated[
            list[str] | None, Field(description="Report only these rules: ids, names or families (TL009, TM).")
        ] = None,
    ) -> ToolResult:
        """`agentctl validate`: what Claude Code will do with every agent file and what is wrong with it.
        Returns the summary (files, errors, warnings, infos), whether it passed, and the diagnostics of
        every file that has some (rule, severity, line, column, message, hint)."""
        return answered(lambda: tools.validate(paths or [], strict, ignore or [], no_user, select or []))

    @server.tool(title="Rank the agents for a task", annotations=READS)
    def route(task: Task, limit: Limit = 5) -> ToolResult:
        """The agents best suited to a task, ranked offline (no model call), each with a score in 0..1
        and the words, examples or escalation rows that matched."""
        return answered(lambda: tools.route(task, limit))


def _memory_tools(server: MCPServer[Any], tools: TeamTools) -> None:
    @server.tool(title="Search the team's memory", annotations=READS)
    def memory_search(
        query: Annotated[str, Field(description="Words to look for.")], agent: OptionalAgent = None, limit: Limit = 10
    ) -> ToolResult:
        """The memory notes that match the words, best first (applies-when counts most, then topic, then
        body): each with its agent, date, topic, applies-when, path and agentctl://memory URI."""
        return answered(lambda: tools.memory_search(query, agent, limit))

    @server.tool(title="List memory notes", annotations=READS)
    def memory_list(
        agent: OptionalAgent = None,
        since: Annotated[str | None, Field(description="Only notes dated on or after YYYY-MM-DD.")] = None,
        stale: Annotated[bool, Field(description="Only notes naming files that changed or are gone.")] = False,
        limit: Annotated[int, Field(ge=1, le=100_000, description="How many notes, newest first.")] = 100,
    ) -> ToolResult:
        """The team's memory notes, newest first, with how many there are in all."""
        return answered(lambda: tools.memory_list(agent, since, stale, limit))

    @server.tool(title="Show one memory note", annotations=READS)
    def memory_show(
        agent: Agent, note: Annotated[str, Field(description="The note's file name, slug or topic.")]
    ) -> ToolResult:
        """One memory note: its fields and its whole text."""
        return answered(lambda: tools.memory_show(agent, note))

    @server.tool(title="Write a memory note", annotations=WRITES_MEMORY)
    def memory_write(
        agent: Annotated[str, Field(description="The agent whose note it is (on the roster).")],
        topic: Annotated[str, Field(description="A short topic, one line; it names the file.")],
        applies_when: Annotated[str, Field(description="When a future task should recall the note, one line.")],
        body: Annotated[str, Field(description="The insight itself: a few lines (the note is 5-15 lines).")],
        date: Annotated[str | None, Field(description="YYYY-MM-DD (default: today).")] = None,
        domain: Annotated[str, Field(description="Format B's Domain line.")] = "",
        source: Annotated[str, Field(description="Format B's Source line.")] = "",
        force: Annotated[bool, Field(description="Keep a note that nearly repeats another.")] = False,
    ) -> ToolResult:
        """Save a dated note in the agent's memory folder, in the format its roster row asks for:
        atomically, never over another note; refused when it nearly repeats one (unless force)."""
        return answered(lambda: tools.memory_write(agent, topic, applies_when, body, date, domain, source, force))


def _prompt_tools(server: MCPServer[Any], tools: TeamTools) -> None:
    @server.tool(title="Parse an agent's answer", annotations=READS)
    def handoffs_parse(answer: Annotated[str, Field(description="An agent's answer, as text.")]) -> ToolResult:
        """What an agent's answer asks of the team: its handoff requests (targets resolved through the
        roster), memory notes, continuation plan, and what could not be parsed."""
        return answered(lambda: tools.handoffs_parse(answer))

    @server.tool(title="Render an agent's prompt", annotations=READS)
    def prompt(
        agent: Agent,
        task: Task,
        context: Annotated[str | None, Field(description="Extra context for a fresh prompt.")] = None,
        continuation: Annotated[
            str | None, Field(description="The agent's previous answer: render its continuation turn.")
        ] = None,
        results: Annotated[
            dict[str, str] | None,
            Field(description="With continuation: each delegate's answer, by agent name."),
        ] = None,
        handoff: Annotated[
            str | None, Field(description="A requester's answer: render the brief of its request to the agent.")
        ] = None,
        requester: Annotated[str | None, Field(description="With handoff: the agent that wrote the request.")] = None,
        part: Annotated[Part, Field(description="all, or only the system prompt or the user turn.")] = "all",
        memory: Annotated[bool, Field(description="Put relevant memory notes in the system prompt.")] = True,
    ) -> ToolResult:
        """The prompt dispatch would send the agent (fresh, continuation or handoff) as the Messages
        API's `system` and `messages`, calling nothing."""
        return answered(
            lambda: tools.prompt(agent, task, context, continuation, results, handoff, requester, part, memory)
        )


def _dispatch_tool(server: MCPServer[Any], tools: TeamTools) -> None:
    @server.tool(title="Run a task through the team", annotations=DISPATCHES)
    async def dispatch(
        task: Task,
        ctx: Context,
        agent: Annotated[
            str | None, Field(description="The agent to send it to; left out, the team routes the task.")
        ] = None,
        context: Annotated[str | None, Field(description="Extra context for the first prompt.")] = None,
        max_calls: Annotated[int | None, Field(description="Start at most N calls.")] = None,
        max_cost: Annotated[float | None, Field(description="USD the run may cost at worst.")] = None,
        max_tokens: Annotated[int | None, Field(description="Tokens the run may use at worst.")] = None,
        max_depth: Annotated[int | None, Field(description="How deep handoffs may nest.")] = None,
        max_rounds: Annotated[int | None, Field(description="Continuation calls per agent and task.")] = None,
        parallel: Annotated[int | None, Field(description="Calls in flight at once.")] = None,
        timeout: Annotated[float | None, Field(description="Seconds for the whole run.")] = None,
        memory: Annotated[bool, Field(description="Memory notes in prompts; save the notes agents return.")] = True,
    ) -> ToolResult:
        """`agentctl dispatch`: send the task to an agent (or route it), run the handoffs it asks for on
        the agents it names, feed their results back, and return its final answer with the run's
        record (run_id, calls, tokens, cost). Its limits can never exceed the server's caps (set by the
        user when the server starts): a larger ask is lowered, and `caps.lowered` says so. Progress
        comes as MCP progress notifications; the run is recorded as `agentctl dispatch` records it."""
        limits = {
            "max_calls": max_calls,
            "max_cost": max_cost,
            "max_tokens": max_tokens,
            "max_depth": max_depth,
            "max_rounds": max_rounds,
            "parallel": parallel,
            "timeout": timeout,
        }
        progress = _progress(ctx)

        def run() -> CallToolResult:
            return answered(lambda: tools.dispatch(task, agent, context, limits, memory, progress))

        return await anyio.to_thread.run_sync(run)


def _progress(ctx: Context) -> Callable[[str], None]:
    """A callback for the dispatch's worker thread that sends each message as a progress notification
    (a no-op for a caller that asked for none); a notification that cannot be sent is dropped."""
    token = anyio.lowlevel.current_token()
    counter = itertools.count(1)

    def report(message: str) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, next(counter), None, message, token=token)
        except Exception:  # the client went away, or the call was cancelled: the run goes on
            log.debug("progress not sent: %s", message)

    return report


# --- resources ---------------------------------------------------------------------------------------


def _resources(server: MCPServer[Any], tools: TeamTools) -> None:
    @server.resource(PROTOCOL_URI, name="team-protocol", mime_type="text/markdown")
    def team_protocol() -> str:
        """The team protocol: the roster, the handoff and continuation formats, the memory protocol."""
        return read_resource(tools.protocol_text)

    @server.resource(AGENT_URI, name="agent", mime_type="text/markdown")
    def agent_file(name: str) -> str:
        """An agent's file as the team has it (frontmatter and system prompt)."""
        return read_resource(lambda: tools.agent_text(name))

    @server.resource(MEMORY_URI, name="memory-note", mime_type="text/markdown")
    def memory_note(agent: str, note: str) -> str:
        """A memory note of an agent, by its file name."""
        return read_resource(lambda: tools.note_text(agent, note))


def serve(tools: TeamTools) -> None:
    """Serve over stdio until the client closes stdin."""
    build_server(tools).run("stdio")
