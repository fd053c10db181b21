"""The secret filter: every text agentctl writes from a run or a model's answer passes through it.

Two kinds of secret are replaced with "[redacted]":

- the values of the environment's secret variables (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, and
  any variable named like a key, token, secret or password), 8 characters or more, wherever they
  appear in the text;
- strings in the shape of well-known credentials (Anthropic, OpenAI, GitHub, AWS, Slack and Google
  keys, PEM private-key blocks), whoever's they are: a model that read a `.env` file must not get
  its contents into the run record or the team's memory.

The run record (agentctl/runs/), the answers the anthropic provider returns, and the memory notes a
dispatch saves (engine.py) share one filter per run. Every pattern is a literal prefix followed by
one character class: matching is linear in the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from agentctl.records import record

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter "secrets" would redact ordinary words
ALWAYS_SECRET = frozenset({"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"})
_SECRET_NAME = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)(?:_|$)")

# (kind, pattern): a distinctive literal prefix, then one bounded run of one character class.
KEY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
)
_PEM_BEGIN = "-----BEGIN "
_PEM_PRIVATE = "PRIVATE KEY-----"
_PEM_END = "-----END "


@record
class SecretMatch:
    kind: str
    start: int
    end: int


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values of the variables that hold secrets (by name), long enough to redact safely."""
    return [
        value
        for name, value in environ.items()
        if (name in ALWAYS_SECRET or _SECRET_NAME.search(name.upper())) and len(value) >= MIN_SECRET_LENGTH
    ]


def find_secrets(text: str) -> list[SecretMatch]:
    """Credentials in the shape of a known kind of key, in text order (for redaction and lint)."""
    found = [
        SecretMatch(kind, match.start(), match.end())
        for kind, pattern in KEY_PATTERNS
        for match in pattern.finditer(text)
    ]
    found += _private_keys(text)
    return sorted(found, key=lambda match: match.start)


def _private_keys(text: str) -> list[SecretMatch]:
    """PEM private-key blocks (`-----BEGIN ... PRIVATE KEY-----` to its END line), found with str.find."""
    found: list[SecretMatch] = []
    position = text.find(_PEM_BEGIN)
    while position >= 0:
        header_end = text.find("\n", position)
        header = text[position : header_end if header_end >= 0 else len(text)]
        if _PEM_PRIVATE in header:
            end = text.find(_PEM_END, position + len(header))
            end = len(text) if end < 0 else text.find("-----", end + len(_PEM_END))
            end = len(text) if end < 0 else end + 5
            found.append(SecretMatch("private key", position, end))
            position = end
        else:
            position += len(_PEM_BEGIN)
        position = text.find(_PEM_BEGIN, position)
    return found


class SecretFilter:
    """Replaces the given secret values and every known kind of credential with "[redacted]"."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {secret for secret in secrets if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH}
        # Longest first: a key that contains another goes whole.
        self.values = sorted(kept, key=len, reverse=True)
        # A secret as it reads inside an encoded JSON string (quotes and backslashes escaped).
        self.encoded = [json.dumps(secret, ensure_ascii=False)[1:-1] for secret in self.values]

    def redact(self, text: str) -> str:
        return self._redact(text, self.values)

    def redact_encoded(self, text: str) -> str:
        """`text` that is already JSON: also catches a secret that only appears after an escape."""
        return self._redact(text, self.encoded)

    @staticmethod
    def _redact(text: str, values: list[str]) -> str:
        for secret in values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        matches = find_secrets(text) if _may_hold_keys(text) else []
        for match in reversed(_disjoint(matches)):
            text = text[: match.start] + REDACTED + text[match.end :]
        return text


def _may_hold_keys(text: str) -> bool:
    """A cheap test that skips the patterns for ordinary text."""
    return any(marker in text for marker in ("sk-", "gh", "github_pat_", "AKIA", "ASIA", "xox", "AIza", _PEM_BEGIN))


def _disjoint(matches: list[SecretMatch]) -> list[SecretMatch]:
    kept: list[SecretMatch] = []
    for match in matches:
        if not kept or match.start >= kept[-1].end:
            kept.append(match)
    return kept
