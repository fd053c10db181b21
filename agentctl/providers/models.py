"""Model names in agent files (`opus`, `sonnet`, `inherit`, ids) -> the concrete id a call uses.

The aliases map to the newest id of each family that the installed anthropic SDK knows (read
from its `Model` type as text, without importing it), unless the team's configuration says
otherwise (`[models]` in agentctl.toml). `--model` overrides every agent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from agentctl.records import field, record
from agentctl.reference import sdk_model_ids

FAMILIES = ("opus", "sonnet", "haiku", "fable")
DEFAULT_ALIAS = "sonnet"  # what an agent without `model:` gets, as in Claude Code's default
# Claude Code's other aliases, read as the family they stand for.
ALIAS_SYNONYMS = {"best": "opus", "opusplan": "opus"}
# Used when the SDK cannot be found (it is a dependency, so only in broken installs).
FALLBACK_IDS = {
    "opus": "claude-opus-4-8",
    "sonnet": "claude-sonnet-4-6",
    "haiku": "claude-haiku-4-5",
    "fable": "claude-fable-5",
}
_VERSIONED = re.compile(r"^claude-([a-z]+)-(\d+)(?:-(\d{1,2}))?$")  # no dated snapshots, no "preview"


def newest_ids(known: Iterable[str]) -> dict[str, str]:
    """The newest id of each family among `known`: claude-opus-5-5 beats claude-opus-5 beats 4-8."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for model_id in known:
        match = _VERSIONED.match(model_id)
        if not match or match.group(1) not in FAMILIES:
            continue
        version = (int(match.group(2)), int(match.group(3) or 0))
        if match.group(1) not in best or version > best[match.group(1)][0]:
            best[match.group(1)] = (version, model_id)
    return {family: model_id for family, (_, model_id) in best.items()}


@record
class ModelMap:
    """Alias -> id. `default` is what an agent without `model:` (or `inherit` at the top) uses."""

    aliases: dict[str, str] = field(default_factory=dict)
    default: str = DEFAULT_ALIAS

    @classmethod
    def build(cls, configured: Mapping[str, str] | None = None) -> ModelMap:
        aliases = {**FALLBACK_IDS, **newest_ids(sdk_model_ids())}
        configured = dict(configured or {})
        default = configured.pop("default", DEFAULT_ALIAS)
        aliases.update({key.lower(): value for key, value in configured.items()})
        return cls(aliases, default)

    def resolve(self, wanted: str | None, inherited: str | None = None) -> str:
        """The id for an agent's `model:` value; `inherit` takes the requester's model."""
        name = (wanted or "").strip()
        if not name:
            return self.resolve(self.default)
        if name.lower() == "inherit":
            return inherited or self.resolve(self.default)
        key = name.lower().removesuffix("[1m]")
        key = ALIAS_SYNONYMS.get(key, key)
        return self.aliases.get(key, name)
