"""The claude-code provider: each call is one headless Claude Code session (`claude -p`).

Claude Code runs the agent as it runs it for its users: `--agents FILE --agent NAME` gives it the
team as `claude --agents` JSON (agentctl.export), so the agent's body, tools, model and the other
fields are applied by Claude Code itself, with its tools, in the project (`cwd`). agentctl keeps what
it adds on top: the team block and the relevant memory notes go in with `--append-system-prompt`,
handoffs, budgets and the record stay the engine's.

Why the CLI's `stream-json` and not the claude-agent-sdk Python API: the SDK starts the same binary
and reads the same stream, but importing it costs start-up time on every dispatch, it owns the
process (agentctl must kill the whole process group at a deadline or on Ctrl-C, children included),
and a stream of JSON lines is what tests can feed and check line by line. The SDK stays useful as
the carrier of the bundled binary, which is found without importing it.

The stream, as 2.1.332 writes it (one JSON object a line):
  {"type": "system", "subtype": "init", "session_id", "model", "permissionMode", "tools", ...}
  {"type": "assistant", "message": {"id", "content": [text | tool_use], "usage"}}  (one per block)
  {"type": "user", "message": {"content": [tool_result]}}                        (tool output: unread)
  {"type": "system", "subtype": "permission_denied" | "api_retry", ...}
  {"type": "result", "subtype": "success" | "error_max_turns" | "error_max_budget_usd" | ...,
   "is_error", "result", "session_id", "num_turns", "total_cost_usd", "usage", "modelUsage",
   "permission_denials", "api_error_status"}
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from agentctl.bounds import SESSION_LINE_BYTES as LINE_BYTES
from agentctl.bounds import TOOL_SUMMARY_CHARS
from agentctl.errors import UsageError
from agentctl.providers.base import (
    Activity,
    BadUsage,
    CallRequest,
    CallResponse,
    ErrorKind,
    Provider,
    ProviderError,
    Usage,
)
from agentctl.records import field, record
from agentctl.textlines import shorten

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.providers import ProviderOptions

NAME = "claude-code"
BINARY_VARIABLE = "AGENTCTL_CLAUDE_BIN"
INSTALL_HINT = 'pip install "agentctl[claude-code]" (it bundles the claude CLI), or name one with AGENTCTL_CLAUDE_BIN'

# What a call may do without a flag: plan mode runs read-only tools (Read, read-only Bash such as
# ls and grep, Glob and Grep where offered) and denies every edit and command, even ones that
# --allowed-tools or settings allow (tests/test_provider_claude_code.py checks each mode).
DEFAULT_PERMISSION_MODE = "plan"
PERMISSION_MODES = ("plan", "default", "manual", "dontAsk", "acceptEdits", "auto", "bypassPermissions")
DEFAULT_MAX_TURNS = 30  # model turns in one session: a First Step that reads a dozen files fits
DEFAULT_CALL_TIMEOUT = 900.0  # seconds for one session, start to result
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL of a session's process group
STDERR_TAIL = 2000  # characters of stderr kept for a message
AUTH_STATUSES: dict[int, ErrorKind] = {401: "auth", 403: "permission"}


@record
class ClaudeCodeConfig:
    binary: Path
    cwd: Path  # the project the team serves: where Claude Code runs its tools
    environ: Mapping[str, str] = field(repr=False)
    agents_file: Path | None = None  # the team as `claude --agents` JSON; None: it is in .claude/agents
    model: str | None = None  # --model: the run's override; None: the agent's own model
    max_turns: int = DEFAULT_MAX_TURNS
    call_timeout: float = DEFAULT_CALL_TIMEOUT


def from_settings(settings: Settings | None, environ: Mapping[str, str], options: ProviderOptions) -> Provider:
    """The registry's builder: [claude_code] settings, the run's options, and the team as --agents JSON."""
    configured = settings.claude_code if settings is not None else {}
    binary = find_binary(configured.get("binary"), environ)
    cwd = options.cwd or (settings.root if settings is not None else Path.cwd())
    if not cwd.is_dir():
        raise UsageError(f"--cwd {cwd}: no such folder", hint="name the project the agents work in")
    return ClaudeCodeProvider(
        ClaudeCodeConfig(
            binary=binary,
            cwd=cwd,
            environ=dict(environ),
            agents_file=agents_file(settings, cwd) if settings is not None else None,
            model=options.model,
            max_turns=options.max_turns or configured.get("max_turns") or DEFAULT_MAX_TURNS,
            call_timeout=float(configured.get("call_timeout") or DEFAULT_CALL_TIMEOUT),
        )
    )


def agents_file(settings: Settings, cwd: Path) -> Path | None:
    """The team as `claude --agents` JSON in .agentctl/claude-code/ (written once per content), or None
    when Claude Code finds the team itself: its agents are the project's .claude/agents."""
    if settings.agents_dir == cwd / ".claude" / "agents":
        return None
    from agentctl import export, statedir
    from agentctl.fsutil import atomic_write_text
    from agentctl.team import load_team

    text = export.dumps(export.agents_json(load_team(settings)))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = statedir.state_folder(settings.root, "claude-code") / f"agents-{digest}.json"
    if not path.is_file():
        atomic_write_text(path, text)
    return path


def find_binary(configured: str | None, environ: Mapping[str, str]) -> Path:
    """The claude executable: $AGENTCTL_CLAUDE_BIN, [claude_code] binary, `claude` on PATH, or the one
    claude-agent-sdk bundles. UsageError (exit 2) with the install command when there is none."""
    for source, named in ((BINARY_VARIABLE, environ.get(BINARY_VARIABLE)), ("[claude_code] binary", configured)):
        if named:
            path = Path(named).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise UsageError(f"{source} names {named!r}, which is not an executable file", hint=INSTALL_HINT)
            return path
    on_path = shutil.which("claude", path=environ.get("PATH", os.defpath))
    if on_path:
        return Path(on_path)
    bundled = _bundled_binary()
    if bundled is not None:
        return bundled
    raise UsageError("the claude-code provider needs the claude CLI, and none was found", hint=INSTALL_HINT)


def _bundled_binary() -> Path | None:
    """claude-agent-sdk's bundled CLI, found without importing the SDK (its import is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "_bundled" / "claude"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class ClaudeCodeProvider:
    name = NAME
    multi_turn = True  # a call is a session of many turns: its usage is not bounded by one prompt

    def __init__(self, config: ClaudeCodeConfig) -> None:
        self.config = config

    async def complete(self, request: CallRequest) -> CallResponse:
        session = Session(request.on_activity, request.cwd or self.config.cwd, request.resumed_cost_usd)
        process = await self._start(request)
        stderr = asyncio.create_task(_tail(process.stderr))
        try:
            async with asyncio.timeout(self.config.call_timeout):
                await _send_prompt(process, request.user)
                async for event in _events(process.stdout, session):
                    session.feed(event)
                await process.wait()
        except TimeoutError:
            raise session.error(
                f"the session ran past its deadline ({self.config.call_timeout:g} s) and was stopped",
                "timeout",
                hint="raise [claude_code] call_timeout, or give the agent a smaller task",
            ) from None
        finally:
            await _stop(process)
            tail = await _collected(stderr)
        return session.response(process.returncode, tail)

    async def aclose(self) -> None:
        return None

    async def _start(self, request: CallRequest) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *self.argv(request),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=request.cwd or self.config.cwd,
                env=dict(self.config.environ),
                start_new_session=True,  # its own process group: a deadline or Ctrl-C kills it and its children
            )
        except OSError as error:
            raise ProviderError(
                f"{NAME}: cannot start {self.config.binary}: {error.strerror or error}", "network", hint=INSTALL_HINT
            ) from None

    def argv(self, request: CallRequest) -> list[str]:
        """The command line of one call; the prompt goes on stdin (it can be longer than an argument may)."""
        config = self.config
        argv = [str(config.binary), "-p", "--output-format", "stream-json", "--verbose"]
        if request.agent_file is not None:
            if config.agents_file is not None:
                argv += ["--agents", str(config.agents_file)]
            argv += ["--agent", request.agent]
        else:  # a plain prompt (routing): no agent, no tools
            argv += ["--system-prompt", _system_text(request, every_block=True), "--tools", ""]
        appended = _system_text(request, every_block=False) if request.agent_file is not None else ""
        if appended:
            argv += ["--append-system-prompt", appended]
        argv += ["--permission-mode", self.permission_mode(request)]
        argv += ["--max-turns", str(config.max_turns if request.agent_file is not None else 1)]
        if request.max_budget_usd is not None:
            # A resumed session's budget is checked against its whole cost, earlier calls included.
            argv += ["--max-budget-usd", f"{request.max_budget_usd + request.resumed_cost_usd:.6f}"]
        if config.model is not None:
            argv += ["--model", config.model]
        elif request.agent_file is None:
            argv += ["--model", request.model]
        if request.permissions.allowed_tools:
            argv += ["--allowed-tools", ",".join(request.permissions.allowed_tools)]
        if request.permissions.disallowed_tools:
            argv += ["--disallowed-tools", ",".join(request.permissions.disallowed_tools)]
        if request.resume_session:
            argv += ["--resume", request.resume_session]
        return argv

    def permission_mode(self, request: CallRequest) -> str:
        """The flag, else the agent's own `permissionMode` (its author opted in), else plan."""
        if request.permissions.mode is not None:
            return request.permissions.mode
        own = request.agent_file.spec.permission_mode if request.agent_file is not None else None
        return own if isinstance(own, str) and own in PERMISSION_MODES else DEFAULT_PERMISSION_MODE


def _system_text(request: CallRequest, every_block: bool) -> str:
    """The system blocks Claude Code does not add itself: without the agent's body, which --agent brings."""
    return "\n\n".join(block.text for block in request.system if every_block or block.name != "agent")


async def _send_prompt(process: asyncio.subprocess.Process, text: str) -> None:
    stdin = process.stdin
    assert stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it ended early: its stream says why
        stdin.write(text.encode("utf-8", "surrogatepass"))
        await stdin.drain()
    stdin.close()


async def _events(stream: asyncio.StreamReader | None, session: Session) -> AsyncIterator[dict[str, Any]]:
    """Each JSON object of the stream; a line that is not one is a broken stream (bad_response)."""
    assert stream is not None
    async for line in _lines(stream, session):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            raise session.error(
                f"Claude Code wrote a line that is not JSON: {shorten(line.decode('utf-8', 'replace'), 80)!r}",
                "bad_response",
            ) from None
        if isinstance(event, dict):
            yield event


async def _lines(stream: asyncio.StreamReader, session: Session) -> AsyncIterator[bytes]:
    """Lines of at most LINE_BYTES; a longer one is skipped whole (a tool result echoing a large file)."""
    pending = bytearray()
    skipping = False
    while chunk := await stream.read(1 << 16):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if not skipping:
                pending += chunk[start:end]
                yield bytes(pending)
            pending.clear()
            skipping, start = False, end + 1
        if not skipping:
            pending += chunk[start:]
            if len(pending) > LINE_BYTES:
                session.skipped_lines += 1
                pending.clear()
                skipping = True
    if pending and not skipping:
        yield bytes(pending)


async def _tail(stream: asyncio.StreamReader | None) -> str:
    """The end of stderr, read as it comes so that the pipe never fills and stalls the session."""
    assert stream is not None
    kept = b""
    while chunk := await stream.read(1 << 16):
        kept = (kept + chunk)[-STDERR_TAIL * 4 :]
    return kept.decode("utf-8", "replace")[-STDERR_TAIL:]


async def _collected(task: asyncio.Task[str]) -> str:
    try:
        return await asyncio.wait_for(task, KILL_GRACE)
    except (TimeoutError, asyncio.CancelledError, OSError):
        task.cancel()
        return ""


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End the session's whole process group: SIGTERM, then SIGKILL after KILL_GRACE.

    Runs after every call, finished or not: a tool that Claude Code left running in the background
    (a dev server, a watcher) is part of the group and must not outlive the call. Shielded, so that
    a cancelled run (Ctrl-C, SIGTERM, --timeout) still waits for the kill to land."""
    await asyncio.shield(_kill_group(process))


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    group = process.pid  # start_new_session: the leader's pid is the group's id
    if not _signal_group(group, signal.SIGTERM) and process.returncode is not None:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), KILL_GRACE)
    _signal_group(group, signal.SIGKILL)  # whatever ignored SIGTERM, or children left after the leader
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), KILL_GRACE)


def _signal_group(group: int, number: signal.Signals) -> bool:
    """Signal every process of the group; False when none is left."""
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# --- the stream, read --------------------------------------------------------------------------------


class Session:
    """What one session's stream has said so far: its id, turns, tool uses, usage, and its result."""

    def __init__(
        self, on_activity: Callable[[Activity], None] | None = None, cwd: Path | None = None, earlier_cost: float = 0.0
    ) -> None:
        self.on_activity = on_activity
        self.cwd = cwd
        self.earlier_cost = earlier_cost  # a resumed session's total_cost_usd includes its earlier calls
        self.session_id: str | None = None
        self.model: str | None = None
        self.turns = 0
        self.tool_uses = 0
        self.denied: list[str] = []
        self.messages: dict[str, Usage] = {}  # usage per assistant message id: blocks repeat it
        self.result: dict[str, Any] | None = None
        self.skipped_lines = 0

    @property
    def usage(self) -> Usage:
        total = Usage()
        for usage in self.messages.values():
            total = total + usage
        return total

    def feed(self, event: dict[str, Any]) -> None:
        kind, subtype = event.get("type"), event.get("subtype")
        if isinstance(event.get("session_id"), str):
            self.session_id = event["session_id"]
        if kind == "system" and subtype == "init" and isinstance(event.get("model"), str):
            self.model = event["model"]
        elif kind == "system" and subtype == "api_retry":
            self._retrying(event)
        elif kind == "system" and subtype == "permission_denied":
            self._denied(event)
        elif kind == "assistant":
            self._assistant(event.get("message"))
        elif kind == "result":
            self.result = event

    def _retrying(self, event: dict[str, Any]) -> None:
        """Claude Code retries a refused key ten times over three minutes: a 401 ends the session now."""
        status = event.get("error_status")
        if isinstance(status, int) and status in AUTH_STATUSES:
            raise self.error(
                f"the API refused the credentials Claude Code sent ({status} {event.get('error') or ''})".strip(),
                AUTH_STATUSES[status],
                hint="check ANTHROPIC_API_KEY (or the login Claude Code uses: `claude /login`)",
                status=status,
            )

    def _denied(self, event: dict[str, Any]) -> None:
        tool = str(event.get("tool_name") or "a tool")
        message = event.get("message") or event.get("decision_reason") or "denied"
        self.denied.append(f"{tool} denied: {shorten(' '.join(str(message).split()), 160)}")

    def _assistant(self, message: object) -> None:
        if not isinstance(message, dict):
            return
        identity = str(message.get("id") or len(self.messages))
        if identity not in self.messages:
            self.turns += 1
        usage = message.get("usage")
        if isinstance(usage, dict):
            with contextlib.suppress(BadUsage):
                self.messages[identity] = Usage.from_counts(usage)
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                self.tool_uses += 1
                self._report(
                    str(block.get("name") or "tool"), tool_summary(block.get("name"), block.get("input"), self.cwd)
                )
        if self.on_activity is not None and not any(_is_tool(block) for block in message.get("content") or []):
            self._report(None, "writing")

    def _report(self, tool: str | None, summary: str) -> None:
        if self.on_activity is not None:
            self.on_activity(Activity(tool, summary, self.turns, self.tool_uses, self.usage))

    # --- the end ------------------------------------------------------------------------------------

    def response(self, exit_status: int | None, stderr: str) -> CallResponse:
        result = self.result
        if result is None:
            said = f": {shorten(' '.join(stderr.split()), 300)}" if stderr.strip() else ""
            raise self.error(f"the session ended (exit {exit_status}) without a result{said}", "bad_response")
        if result.get("is_error") or result.get("subtype") != "success":
            raise self._failure(result)
        text = result.get("result")
        return CallResponse(
            text=text if isinstance(text, str) else "",
            usage=self._usage(result),
            model=self._model(result),
            stop_reason=str(result.get("stop_reason") or result.get("terminal_reason") or "") or None,
            warnings=self._warnings(result),
            cost_usd=self._cost(result),
            session_id=self.session_id,
            turns=_count(result.get("num_turns"), self.turns),
            tool_uses=self.tool_uses,
        )

    def error(self, message: str, kind: ErrorKind, hint: str | None = None, status: int | None = None) -> ProviderError:
        """A failure of this session, carrying what it had used by then (the engine counts it)."""
        error = ProviderError(f"{NAME}: {message}", kind, hint=hint, status=status)
        error.usage = self.usage
        error.session_id = self.session_id
        error.turns, error.tool_uses, error.warnings = self.turns, self.tool_uses, list(self.denied)
        return error

    def _failure(self, result: dict[str, Any]) -> ProviderError:
        subtype = str(result.get("subtype") or "")
        status = result.get("api_error_status")
        said = result.get("result") or "; ".join(str(item) for item in result.get("errors") or [])
        detail = shorten(" ".join(str(said).split()), 300) or subtype or "an error"
        if isinstance(status, int):
            kind = _STATUS_KINDS.get(status, "server" if status >= 500 else "bad_request")
            error = self.error(f"the API answered {status}: {detail}", kind, status=status)
        elif subtype == "error_max_turns":
            error = self.error(f"the session used all its turns: {detail}", "limit", hint="raise --max-turns")
        elif subtype == "error_max_budget_usd":
            error = self.error(f"the session reached its budget: {detail}", "limit", hint="raise --max-cost")
        else:
            error = self.error(f"the session failed ({subtype or 'error'}): {detail}", "session")
        error.usage = self._usage(result)
        error.cost_usd = self._cost(result)
        error.turns = _count(result.get("num_turns"), self.turns)
        return error

    def _cost(self, result: dict[str, Any]) -> float | None:
        """This call's cost: the session's total less what its earlier calls cost (a resumed session)."""
        total = _cost(result)
        return None if total is None else max(0.0, total - self.earlier_cost)

    def _usage(self, result: dict[str, Any]) -> Usage:
        counts = result.get("usage")
        if isinstance(counts, dict):
            with contextlib.suppress(BadUsage):
                return Usage.from_counts(counts)
        return self.usage

    def _model(self, result: dict[str, Any]) -> str:
        """The model that cost the most in the session (Claude Code may use a small one on the side)."""
        models = result.get("modelUsage")
        if isinstance(models, dict) and models:
            return str(max(models, key=lambda name: _model_cost(models[name])))
        return self.model or "unknown"

    def _warnings(self, result: dict[str, Any]) -> list[str]:
        warnings = list(self.denied)
        if not warnings:  # older streams: only the result lists denials
            for denial in result.get("permission_denials") or []:
                if isinstance(denial, dict):
                    warnings.append(f"{denial.get('tool_name') or 'a tool'} denied")
        if self.skipped_lines:
            warnings.append(f"{self.skipped_lines} line(s) of the stream longer than {LINE_BYTES:,} bytes skipped")
        return warnings


_STATUS_KINDS: dict[int, ErrorKind] = {
    401: "auth",
    403: "permission",
    429: "rate_limit",
    529: "overloaded",
    400: "bad_request",
    413: "bad_request",
}


def _is_tool(block: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(block, dict) and block.get("type") == "tool_use"


def _model_cost(entry: object) -> float:
    return (_cost({"total_cost_usd": entry.get("costUSD")}) if isinstance(entry, dict) else None) or 0.0


def _cost(result: Mapping[str, object]) -> float | None:
    cost = result.get("total_cost_usd")
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        return None
    return float(cost)


def _count(value: object, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else fallback


# What a tool use is about, in a few words: the path, command, pattern, query or address it names;
# never the text it writes.
_SUMMARY_KEYS = ("file_path", "notebook_path", "path", "command", "pattern", "query", "url", "description", "prompt")


def tool_summary(tool: object, arguments: object, cwd: Path | None = None) -> str:
    """`Read agents-shared/team-protocol.md`, `Bash pytest -q`: a short line, never file contents.

    A path inside the project is shown relative to it."""
    name = shorten(str(tool or "tool"), 60)
    if not isinstance(arguments, dict):
        return name
    for key in _SUMMARY_KEYS:
        value = arguments.get(key)
        if isinstance(value, str) and value.strip():
            if cwd is not None and key.endswith("path") and value.startswith(f"{cwd}{os.sep}"):
                value = value[len(str(cwd)) + 1 :]
            return shorten(f"{name} {' '.join(value.split())}", TOOL_SUMMARY_CHARS)
    return name
