"""Rules about frontmatter keys and values (FM*, NM002, NM004)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from agentctl import reference
from agentctl.claude_code import EFFORT_ALIASES
from agentctl.lazyre import LazyPattern
from agentctl.spec import KNOWN_FIELDS, AgentFile
from agentctl.validate.model import Diagnostic
from agentctl.validate.positions import key_position, value_position
from agentctl.validate.rules import SUGGESTIONS_PER_FILE, finding

_NAME_STYLE = LazyPattern(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def check_unknown_keys(agent: AgentFile) -> Iterator[Diagnostic]:
    hints = reference.claude_code().key_hints
    unknown = 0
    for key in agent.spec.raw:
        if key in KNOWN_FIELDS:
            continue
        unknown += 1
        suggestion = hints.get(key.lower())
        if not suggestion and unknown <= SUGGESTIONS_PER_FILE:
            suggestion = _closest(key, KNOWN_FIELDS)
        hint = (
            f"did you mean `{suggestion}`?"
            if suggestion
            else "delete it, or keep it for other tools knowing Claude Code ignores it"
        )
        if suggestion and suggestion.startswith("the "):
            hint = f"Claude Code reads {suggestion}, not this key"
        yield finding("FM001", *key_position(agent, key), f"Claude Code does not read the key `{key}`", hint)


@cache
def _closest(word: str, choices: frozenset[str]) -> str | None:
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[matches[0]] if matches else None


def check_name_style(agent: AgentFile) -> Iterator[Diagnostic]:
    name = agent.verdict.name if agent.verdict.loads else None
    if name is None:
        return
    if not _NAME_STYLE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "my-agent"
        yield finding(
            "NM002",
            *value_position(agent, "name"),
            f"the name {name!r} is not lowercase letters, digits and hyphens",
            f"rename it to `{suggestion}` (and update the agents that delegate to it)",
        )
    stem = agent.path.stem
    if stem != name and not agent.path.name.startswith("."):
        yield finding(
            "NM004",
            *value_position(agent, "name"),
            f"the name {name!r} differs from the file name {agent.path.name!r}",
            f"rename the file to `{name}.md` so that people find the agent by its name",
        )


def check_values(agent: AgentFile) -> Iterator[Diagnostic]:
    raw = agent.spec.raw
    checks = (
        ("model", model_problem, "FM002"),
        ("permissionMode", _permission_mode_problem, "FM003"),
        ("effort", effort_problem, "FM004"),
        ("isolation", _choice_problem("isolation_modes"), "FM005"),
        ("color", _choice_problem("colors"), "FM006"),
        ("memory", _choice_problem("memory_scopes"), "FM007"),
        ("background", _background_problem, "FM008"),
        ("maxTurns", _max_turns_problem, "FM009"),
    )
    for key, problem_of, rule in checks:
        if key not in raw or raw[key] is None:
            continue
        problem = problem_of(raw[key])
        if problem is not None:
            message, hint = problem
            yield finding(rule, *value_position(agent, key), f"`{key}`: {message}", hint)


Problem = tuple[str, str] | None


def model_problem(value: Any) -> Problem:
    """What is wrong with a `model` value, for an agent and (SK009) a command or skill alike."""
    if not isinstance(value, str):
        return f"{value!r} is not a model name", "write an alias (sonnet, opus, haiku), `inherit`, or a model id"
    return _model_id_problem(value.strip())


@cache
def _model_id_problem(model: str) -> Problem:
    facts = reference.claude_code()
    if model.lower() == "inherit" or model in facts.model_aliases:
        return None
    known = reference.sdk_model_ids()
    if model in known:
        return None
    aliases = ", ".join(sorted(facts.model_aliases))
    close = difflib.get_close_matches(model, sorted(known), n=1, cutoff=0.8)
    hint = f"did you mean `{close[0]}`?" if close else f"use an alias ({aliases}) or `inherit`"
    source = "the installed anthropic SDK's model list" if known else "Claude Code's aliases (no anthropic SDK found)"
    return f"{model!r} is not an alias, `inherit`, or in {source}", hint


def _permission_mode_problem(value: Any) -> Problem:
    facts = reference.claude_code()
    mode = facts.permission_mode_aliases.get(value, value) if isinstance(value, str) else value
    if mode in facts.permission_modes:
        return None
    return (
        f"{value!r} is not a permission mode; Claude Code ignores it",
        f"use one of {', '.join(facts.permission_modes)}",
    )


def effort_problem(value: Any) -> Problem:
    """What is wrong with an `effort` value: Claude Code reads an agent's and (SK008) a command's or
    skill's with one parser, which takes a level in any case, `med`, or a positive integer."""
    levels = reference.claude_code().effort_levels
    if isinstance(value, bool):
        pass
    elif (isinstance(value, int) and value > 0) or (
        isinstance(value, str)
        and (EFFORT_ALIASES.get(value.lower(), value.lower()) in levels or (value.strip().isdigit() and int(value) > 0))
    ):
        return None
    return (
        f"{value!r} is not an effort level; Claude Code ignores it",
        f"use one of {', '.join(levels)}, or a positive integer",
    )


def _choice_problem(facts_field: str) -> Any:
    def problem(value: Any) -> Problem:
        choices: tuple[str, ...] = getattr(reference.claude_code(), facts_field)
        if value in choices:
            return None
        return (
            f"{value!r} is not one of {', '.join(choices)}; Claude Code ignores it",
            f"use one of {', '.join(choices)}",
        )

    return problem


def _background_problem(value: Any) -> Problem:
    if value in (True, False, "true", "false"):
        return None
    return f"{value!r} is not true or false; Claude Code ignores it", "write `background: true` or delete the line"


def _max_turns_problem(value: Any) -> Problem:
    number: Any = value
    if isinstance(value, str):
        digits = re.match(r"\s*[-+]?\d+", value)
        number = int(digits.group()) if digits else None
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return None
    return (
        f"{value!r} is not a positive integer; Claude Code ignores it",
        "write a whole number of turns, such as `maxTurns: 20`",
    )


def check_types(agent: AgentFile) -> Iterator[Diagnostic]:
    raw = agent.spec.raw
    expectations = (
        ("skills", _strings_or_list, "a skill name, or a list of them"),
        ("initialPrompt", lambda value: isinstance(value, str), "text"),
        ("mcpServers", lambda value: isinstance(value, list), "a list of server names or definitions"),
        ("disallowedTools", _strings_or_list, "a comma-separated string of tool names"),
    )
    for key, accepts, expected in expectations:
        if key in raw and raw[key] is not None and not accepts(raw[key]):
            yield finding(
                "FM011",
                *value_position(agent, key),
                f"`{key}` should be {expected}, not {type(raw[key]).__name__}",
                f"write `{key}` as {expected}",
            )


def _strings_or_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


CHECKS = (check_unknown_keys, check_name_style, check_values, check_types)
