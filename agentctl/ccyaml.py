"""YAML as Claude Code reads it (Bun's parser, YAML 1.2 core schema): the entry point.

Almost every agent file's frontmatter is one `key: plain words` line per key. Such text is read
here directly, by rules under which Bun, libyaml and PyYAML all give the same strings, so that
read-only commands (`list`, `show`, `route`) need not import PyYAML and its regex tables (20-40 ms,
a fifth of their start-up budget). Anything else goes to `agentctl.bunyaml`, the full reader with
every Bun difference found by differential testing. tests/test_ccyaml.py checks that both paths
agree wherever the direct one answers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from agentctl.records import field, record

# A key the direct path reads: ASCII letters, digits, `-` and `_`, starting with a letter.
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Characters that may not start a plain scalar (YAML indicators), plus those that start a number,
# `~` (null) and `=`/`<` (PyYAML's value and merge tags): such values go to the full reader.
_UNSAFE_START = frozenset("-?:,[]{}#&*!|>'\"%@`0123456789+.~=<")
# Values and keys the core schema reads as something other than a string (in any case).
_NOT_STRINGS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


@record
class YamlProblem:
    """Why a text is not YAML; line and column are 1-based within the parsed text."""

    message: str
    line: int
    column: int


@record
class YamlResult:
    """What a YAML text holds, for Bun and for standard parsers."""

    value: Any = None
    error: YamlProblem | None = None  # set when Bun refuses the text
    standard_error: YamlProblem | None = None  # set when libyaml/PyYAML refuse it
    key_positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)  # (key, 1-based line)
    # Set when the text is over a parse budget (aliases expanding past bounds.YAML_NODES nodes, or
    # nesting past bounds.YAML_DEPTH levels): why, in one sentence. `value` then holds only what
    # could be read within the budget; consumers must not rewrite or walk the rest.
    over_budget: str | None = None
    # (key, 1-based line) of each top-level entry left out of `value` for the budget (key None: the
    # whole document, or a key that is not a plain scalar).
    left_out: list[tuple[str | None, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def parse(text: str) -> YamlResult:
    """Parse `text` as Bun does, and note whether libyaml/PyYAML accept it too."""
    direct = read_plain_mapping(text)
    if direct is not None:
        return direct
    from agentctl import bunyaml

    try:
        return bunyaml.parse(text)
    except RecursionError:  # the last line of defence: the budgets stop deep text long before this
        reason = "the YAML nests too deeply for agentctl to read"
        return YamlResult(error=YamlProblem(reason, 1, 1), over_budget=reason, left_out=[(None, 1)])


def load_value(text: str) -> Any:
    """Bun.YAML.parse(text): the value, or yaml.YAMLError."""
    result = parse(text)
    if result.error is not None:
        import yaml

        raise yaml.YAMLError(result.error.message)
    return result.value


def read_plain_mapping(text: str) -> YamlResult | None:
    """The mapping of a text made only of `key: plain words` lines, or None for anything else."""
    values: dict[str, str] = {}
    positions: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        key, separator, value = line.partition(": ")
        value = value.lstrip(" ")
        if not separator or key in values or not _plain_key(key) or not _plain_value(value):
            return None
        values[key] = value
        positions[key] = (number, 1)
    return YamlResult(value=values, key_positions=positions) if values else None


def _plain_key(key: str) -> bool:
    return _PLAIN_KEY.fullmatch(key) is not None and key.lower() not in _NOT_STRINGS


def _plain_value(value: str) -> bool:
    """A plain scalar every parser reads as this very string (conservative: when in doubt, no)."""
    return (
        bool(value)
        and value[0] not in _UNSAFE_START
        and value.isprintable()  # no tab, CR, control character or unusual space
        and ": " not in value
        and " #" not in value
        and not value.endswith((":", " "))
        and value.lower() not in _NOT_STRINGS
    )


def js_string(value: object) -> str:
    """`String(value)` as JavaScript spells it: how a YAML key becomes an object key in Bun."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)
