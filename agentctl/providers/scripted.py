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

A script is outside input like any other: it is read within bounds.SCRIPT_BYTES, its YAML within the
parse budgets (agentctl.yamlbudget: no alias bombs, no nesting past bounds.YAML_DEPTH), and every
value is checked (usage counts are whole numbers >= 0, a delay a finite number of seconds >= 0), so
that a bad script is a UsageError (exit 2) naming the file and the entry, never a crash or a hang.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from agentctl.bounds import SCRIPT_BYTES, YAML_DEPTH, describe
from agentctl.errors import UsageError
from agentctl.providers.base import (
    BadUsage,
    CallMode,
    CallRequest,
    CallResponse,
    ErrorKind,
    ProviderError,
    Usage,
    in_range,
)
from agentctl.records import field, fields_of, record

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.providers import ProviderOptions

ANY_AGENT = "*"


@record
class ScriptedReply:
    text: str = ""
    usage: Usage | None = None
    mode: str | None = None
    delay: float = 0.0
    error: tuple[ErrorKind, str] | None = None


@record
class Script:
    replies: dict[str, list[ScriptedReply]] = field(default_factory=dict)
    source: str = "<script>"


def from_settings(settings: Settings | None, environ: Mapping[str, str], options: ProviderOptions) -> ScriptedProvider:
    """The registry's builder (agentctl.providers): the replies of --script."""
    if options.script is None:
        raise UsageError("the scripted provider needs --script FILE", hint="a YAML or JSON file of replies per agent")
    return ScriptedProvider(load_script(options.script))


def load_script(path: Path) -> Script:
    """Read a script file; a malformed one is a UsageError naming the file and the entry."""
    from agentctl.fsutil import read_bounded

    try:
        text = read_bounded(path, SCRIPT_BYTES).decode("utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot read the script {path}: {error.strerror or error}",
            hint=f"pass a YAML or JSON file of at most {describe(SCRIPT_BYTES)}",
        ) from None
    except UnicodeDecodeError as error:
        raise UsageError(f"cannot read the script {path}: {error}", hint="save it as UTF-8") from None
    return parse_script(text, str(path))


def parse_script(text: str, source: str = "<script>") -> Script:
    data = _load(text, source)
    if isinstance(data, dict) and set(data) == {"replies"}:
        data = data["replies"]
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a script maps agent names to lists of replies", hint=_EXAMPLE)
    return Script({str(agent): _replies(source, str(agent), items) for agent, items in data.items()}, source)


_EXAMPLE = 'e.g.  db-architect: [{text: "answer"}]'


_FLAT_HINT = f"write the replies out: at most {YAML_DEPTH} levels of nesting, no chains of `&anchor`/`*alias`"


def _load(text: str, source: str) -> Any:
    if source.endswith(".json"):
        return _load_json(text, source)
    import yaml

    from agentctl import yamlbudget

    try:
        node = yamlbudget.compose(text, _safe_loader(), _safe_replay())
    except yamlbudget.TooDeep as deep:
        raise UsageError(f"{source}:{deep.line + 1}: the script {deep}", hint=_FLAT_HINT) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{source}{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    if node is None:
        return None
    problem = yamlbudget.document_problem(node)  # before a value is built: a bomb is cheap to measure
    if problem is not None:
        raise UsageError(f"{source}: the script {problem}", hint=_FLAT_HINT)
    try:
        return yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as error:  # e.g. a !!binary that is not base64
        raise UsageError(f"{source}: not valid YAML: {getattr(error, 'problem', error)}") from None


def _safe_loader() -> type:
    """yaml.safe_load's loader, libyaml's when there is one (it composes in C, never deeper than 1,000)."""
    import yaml

    return cast(type, getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _safe_replay() -> type:
    import yaml

    from agentctl import yamlbudget

    return yamlbudget.replay_class(yaml.resolver.Resolver)


def _load_json(text: str, source: str) -> Any:
    from agentctl import yamlbudget

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None
    except RecursionError:  # json's own limit, at the interpreter's recursion depth
        data = None
        levels = None
    else:
        levels = _nesting(data)
    if levels is None:
        raise UsageError(f"{source}: the script {yamlbudget.TOO_DEEP}", hint=_FLAT_HINT)
    if levels > YAML_DEPTH:
        limit = f"agentctl's limit is {YAML_DEPTH}"
        raise UsageError(f"{source}: the script nests {levels:,} levels deep ({limit})", hint=_FLAT_HINT)
    return data


def _nesting(value: Any) -> int:
    """Levels of lists and objects below the top one, counted without recursion."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


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
        text=_text(where, item.get("text", "")),
        usage=_usage(where, item["usage"]) if "usage" in item else None,
        mode=_mode(where, item.get("mode")),
        delay=_delay(where, item.get("delay")),
        error=_error(where, item.get("error")),
    )


def _text(where: str, value: object) -> str:
    if isinstance(value, dict | list):
        raise UsageError(f"{where}: `text` must be text, not a {'mapping' if isinstance(value, dict) else 'list'}")
    return "" if value is None else str(value)


def _usage(where: str, value: object) -> Usage:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: `usage` must map token counts, e.g. {{input_tokens: 1200, output_tokens: 300}}")
    unknown = sorted(str(key) for key in value if key not in fields_of(Usage))
    if unknown:
        raise UsageError(
            f"{where}: unknown usage keys {', '.join(unknown)}", hint=f"keys: {', '.join(fields_of(Usage))}"
        )
    try:
        return Usage.from_counts(value)
    except BadUsage as bad:
        raise UsageError(f"{where}: usage {bad}", hint="token counts are whole numbers >= 0") from None


def _mode(where: str, value: object) -> str | None:
    if not value:
        return None
    modes = get_args(CallMode)
    if value not in modes:
        raise UsageError(f"{where}: unknown mode {str(value)[:40]!r}", hint=f"modes: {', '.join(modes)}")
    return str(value)


def _delay(where: str, value: object) -> float:
    if value is None:
        return 0.0
    if not in_range(value, whole=False, lowest=0):
        raise UsageError(f"{where}: `delay` is {str(value)[:40]!r}", hint="a delay is a number of seconds >= 0")
    return float(cast(float, value))


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
