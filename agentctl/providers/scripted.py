"""Replies from a script instead of a model: for tests, demos and the CI of a team.

A script is YAML or JSON: for each agent, the replies of its calls in order.

    db-architect:
      - text: "The index ... ## Handoff Requests ### -> Backend Architect ..."
        usage: {input_tokens: 1200, output_tokens: 300}
      - mode: continuation        # optional: the call must be of this mode
        text: "Final answer."
    "*":                          # any agent without replies of its own
      - text: "Nothing to add."

A reply may also hold `delay` (seconds, to play a slow model) or `error: {kind, message}` (to play
a failure). A call the script has no reply for fails with a message that names it. Usage left out
is estimated from the prompt (4 characters a token), so cost figures stay plausible.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

from agentctl.errors import UsageError
from agentctl.providers.base import CallRequest, CallResponse, ErrorKind, ProviderError, Usage

ANY_AGENT = "*"


@dataclass(slots=True)
class ScriptedReply:
    text: str = ""
    usage: Usage | None = None
    mode: str | None = None
    delay: float = 0.0
    error: tuple[ErrorKind, str] | None = None


@dataclass(slots=True)
class Script:
    replies: dict[str, list[ScriptedReply]] = field(default_factory=dict)
    source: str = "<script>"


def load_script(path: Path) -> Script:
    """Read a script file; a malformed one is a UsageError naming the file and the entry."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the script {path}: {error}", hint="pass a YAML or JSON file") from None
    return parse_script(text, str(path))


def parse_script(text: str, source: str = "<script>") -> Script:
    data = _load(text, source)
    if isinstance(data, dict) and set(data) == {"replies"}:
        data = data["replies"]
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a script maps agent names to lists of replies", hint=_EXAMPLE)
    return Script({str(agent): _replies(source, str(agent), items) for agent, items in data.items()}, source)


_EXAMPLE = 'e.g.  db-architect: [{text: "answer"}]'


def _load(text: str, source: str) -> Any:
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{source}{where}: not valid YAML: {getattr(error, 'problem', error)}") from None


def _replies(source: str, agent: str, items: object) -> list[ScriptedReply]:
    if isinstance(items, (str, dict)):
        items = [items]
    if not isinstance(items, list):
        raise UsageError(f"{source}: the replies of {agent} must be a list", hint=_EXAMPLE)
    return [_reply(f"{source}: {agent} reply {index}", item) for index, item in enumerate(items, start=1)]


def _reply(where: str, item: object) -> ScriptedReply:
    if isinstance(item, str):
        return ScriptedReply(text=item)
    if not isinstance(item, dict):
        raise UsageError(f"{where}: a reply is a text or a mapping with `text`", hint=_EXAMPLE)
    unknown = set(item) - {"text", "usage", "mode", "delay", "error"}
    if unknown:
        raise UsageError(
            f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}",
            hint="keys: text, usage, mode, delay, error",
        )
    return ScriptedReply(
        text=str(item.get("text", "")),
        usage=Usage.from_json(item["usage"]) if "usage" in item else None,
        mode=str(item["mode"]) if item.get("mode") else None,
        delay=float(item.get("delay") or 0),
        error=_error(where, item.get("error")),
    )


def _error(where: str, value: object) -> tuple[ErrorKind, str] | None:
    if value is None:
        return None
    kind = value.get("kind", "server") if isinstance(value, dict) else "server"
    message = value.get("message", "scripted failure") if isinstance(value, dict) else str(value)
    if kind not in get_args(ErrorKind):
        raise UsageError(f"{where}: unknown error kind {kind!r}", hint=f"kinds: {', '.join(get_args(ErrorKind))}")
    return cast(ErrorKind, kind), str(message)


class ScriptedProvider:
    """Plays a Script; calls to one agent take its replies in the order the calls start."""

    name = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: dict[str, int] = {}

    async def complete(self, request: CallRequest) -> CallResponse:
        reply = self._next(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error is not None:
            kind, message = reply.error
            raise ProviderError(f"{request.agent}: {message}", kind)
        return CallResponse(text=reply.text, usage=reply.usage or _estimate(request, reply.text), model=request.model)

    def _next(self, request: CallRequest) -> ScriptedReply:
        agent = request.agent if request.agent in self.script.replies else ANY_AGENT
        count = self.calls.get(agent, 0) + 1
        self.calls[agent] = count
        replies = self.script.replies.get(agent, [])
        if count > len(replies):
            raise ProviderError(
                f"the script {self.script.source} has no reply for call {count} to {request.agent} "
                f"({request.mode}); it has {len(replies)}",
                "script",
                hint=f"add a reply under `{request.agent}:` in the script",
            )
        reply = replies[count - 1]
        if reply.mode and reply.mode != request.mode:
            raise ProviderError(
                f"the script {self.script.source} expects call {count} to {request.agent} to be {reply.mode}, "
                f"but it is {request.mode}",
                "script",
            )
        return reply

    async def aclose(self) -> None:
        return None


def _estimate(request: CallRequest, text: str) -> Usage:
    sent = sum(len(block.text) for block in request.system) + len(request.user)
    return Usage(input_tokens=max(1, sent // 4), output_tokens=max(1, len(text) // 4))
