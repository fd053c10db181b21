"""Model aliases, prices, the scripted provider, and the live view of a dispatch on a terminal."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.errors import AgentctlError
from agentctl.providers.base import (
    INPUT_FRAMING_TOKENS,
    OUTPUT_SLACK_TOKENS,
    BadUsage,
    CallRequest,
    ProviderError,
    SystemBlock,
    Usage,
    UsageBound,
    plausible_usage,
    usage_bound,
)
from agentctl.providers.models import ModelMap, newest_ids
from agentctl.providers.pricing import PriceTable
from agentctl.providers.scripted import ScriptedProvider, parse_script
from tests.conftest import REPO, RunCli, TTYStringIO
from tests.hostile.cases_parsing import BOMB
from tests.test_dispatch import team, write_script

__all__ = ["team"]


def test_aliases_map_to_the_newest_id_of_each_family() -> None:
    known = ["claude-opus-4-8", "claude-opus-5", "claude-opus-5-5", "claude-haiku-4-5-20251001", "claude-haiku-4-5"]
    assert newest_ids(known) == {"opus": "claude-opus-5-5", "haiku": "claude-haiku-4-5"}


def test_model_map_resolution_rules() -> None:
    models = ModelMap.build({"sonnet": "claude-sonnet-4-6", "default": "haiku"})
    assert models.resolve("sonnet") == "claude-sonnet-4-6", "configuration wins over the SDK's newest"
    assert models.resolve(None) == models.resolve("haiku"), "no model: the configured default"
    assert models.resolve("inherit", inherited="claude-opus-4-8") == "claude-opus-4-8"
    assert models.resolve("inherit") == models.resolve("haiku"), "inherit at the top: the default"
    assert models.resolve("opus[1m]") == models.resolve("opus") == models.resolve("best")
    assert models.resolve("claude-custom-1") == "claude-custom-1", "an id passes through"


def test_prices_and_unknown_models() -> None:
    prices = PriceTable({"my-model": {"input": 1.0, "output": 2.0}})
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_creation_input_tokens=1_000_000)
    assert prices.cost("my-model", usage) == 1.0 + 2.0 + 1.25
    assert prices.cost("claude-haiku-4-5-20251001", Usage(input_tokens=1_000_000)) == 1.0, "dated ids price as undated"
    assert prices.cost("nobody-knows", usage) is None


def test_the_usage_bound_is_the_bytes_sent_and_max_tokens() -> None:
    system = [SystemBlock("agent", "héllo"), SystemBlock("team", "x" * 10, cache=True)]
    bound = usage_bound(system, "ü", 100)
    assert bound.input_tokens == 6 + 10 + 2 + INPUT_FRAMING_TOKENS, "a token is at least one byte of UTF-8"
    assert bound.output_tokens == 100 + OUTPUT_SLACK_TOKENS
    assert usage_bound([], "\ud800", 1).input_tokens == 3 + INPUT_FRAMING_TOKENS, "a lone surrogate has a length"


def test_an_implausible_usage_is_cut_to_the_bound_in_proportion() -> None:
    bound = UsageBound(input_tokens=1000, output_tokens=116)
    assert plausible_usage(Usage(600, 116, 300, 100), bound) is None, "within the bound: as reported"
    cut = plausible_usage(Usage(3000, 10**12, 1000, 0), bound)
    assert cut == Usage(750, 116, 250, 0)
    assert cut is not None and cut.input_tokens + cut.cache_read_input_tokens <= 1000


@pytest.mark.parametrize(
    ("counts", "problem"),
    [
        ({"input_tokens": -1}, "input_tokens is -1, below 0"),
        ({"output_tokens": 2.5}, "output_tokens is 2.5, not a whole number"),
        ({"output_tokens": True}, "output_tokens is True, not a whole number"),
        ({"cache_read_input_tokens": "9" * 80}, "cache_read_input_tokens is '999"),
    ],
)
def test_usage_counts_must_be_whole_numbers_from_zero(counts: dict[str, object], problem: str) -> None:
    with pytest.raises(BadUsage, match=re.escape(problem)):
        Usage.from_counts(counts)
    assert Usage.from_counts({"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": None}) == Usage(3, 4)


def test_the_price_ceiling_covers_every_split_of_the_input() -> None:
    prices = PriceTable({"m": {"input": 1.0, "output": 2.0, "cache_read": 0.1}})
    bound = UsageBound(input_tokens=1_000_000, output_tokens=1_000_000)
    assert prices.ceiling("m", bound) == 1.25 + 2.0, "every input token at the cache-write price"
    for split in (Usage(1_000_000, 1_000_000), Usage(0, 1_000_000, 0, 1_000_000), Usage(0, 1_000_000, 1_000_000)):
        assert (prices.cost("m", split) or 0) <= (prices.ceiling("m", bound) or 0)
    assert prices.ceiling("nobody", bound) is None


def test_an_unpriced_model_has_null_cost_and_a_warning(cli: RunCli, team: Path) -> None:
    script = write_script(team, {"lead": ["Hi."]})
    result = cli("dispatch", "lead", "x", "--script", script, "--model", "my-model", "--format", "json", cwd=team)
    assert result.exit_code == 0
    assert result.json()["calls"][0]["cost_usd"] is None and result.json()["total"]["cost_usd"] is None
    assert "warning: no price for model my-model" in result.stderr


def request(agent: str, mode: str = "fresh") -> CallRequest:
    return CallRequest("c1", agent, mode, "claude-x", [SystemBlock("agent", "You review.")], "Review this.", 100)  # type: ignore[arg-type]


def test_scripted_replies_in_yaml_by_agent_and_mode() -> None:
    script = parse_script("reviewer:\n  - text: First\n    usage: {input_tokens: 7, output_tokens: 3}\n  - Second\n")
    provider = ScriptedProvider(script)
    first = asyncio.run(provider.complete(request("reviewer")))
    assert first.text == "First" and first.usage == Usage(7, 3)
    assert asyncio.run(provider.complete(request("reviewer"))).usage.input_tokens > 0, "left-out usage is estimated"
    with pytest.raises(ProviderError) as raised:
        asyncio.run(provider.complete(request("reviewer")))
    assert "no reply for call 3 to reviewer (fresh); it has 2" in raised.value.message
    strict = ScriptedProvider(parse_script('{"reviewer": [{"mode": "continuation", "text": "x"}]}', "s.json"))
    with pytest.raises(ProviderError, match="expects call 1 to reviewer to be continuation"):
        asyncio.run(strict.complete(request("reviewer")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just a list\n", "maps agent names to lists of replies"),
        ("reviewer: [{txt: x}]\n", "unknown keys txt"),
        ("reviewer: [{error: {kind: meltdown}}]\n", "unknown error kind 'meltdown'"),
        ("reviewer: [{text: x, usage: {input_tokens: lots}}]\n", "reviewer reply 1: usage input_tokens is 'lots'"),
        ("reviewer: [{text: x, usage: {output_tokens: -5}}]\n", "usage output_tokens is -5, below 0"),
        ("reviewer: [{text: x, usage: {input_tokens: 1.5}}]\n", "input_tokens is 1.5, not a whole number"),
        ("reviewer: [{text: x, usage: {tokens: 3}}]\n", "unknown usage keys tokens"),
        ("reviewer: [{text: x, usage: 12}]\n", "`usage` must map token counts"),
        ("reviewer: [{text: x, delay: -1}]\n", "`delay` is '-1'"),
        ("reviewer: [{text: x, delay: .inf}]\n", "`delay` is 'inf'"),
        ("reviewer: [{text: x, delay: soon}]\n", "`delay` is 'soon'"),
        ("reviewer: [{text: x, mode: sideways}]\n", "unknown mode 'sideways'"),
        ("reviewer: [{text: [a, b]}]\n", "`text` must be text, not a list"),
        (BOMB + "\nreviewer: [{text: *a8}]\n", "the script uses YAML aliases that expand to 926,177,086 nodes"),
        (
            "reviewer: [{text: hi, x: " + "[" * 5000 + "]" * 5000 + "}]\n",
            r"script.yaml:1: the script nests more than 100",
        ),
        ("x: &x [*x]\n", "contains itself through a YAML alias"),
    ],
)
def test_malformed_scripts_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(AgentctlError, match=re.escape(message) if "(" in message else message) as raised:
        parse_script(text, "script.yaml")
    assert raised.value.exit_code == 2


def test_a_json_script_nested_past_the_limit_is_refused() -> None:
    def nested(levels: int) -> str:
        return '{"reviewer": [{"text": "hi"}], "x": ' + "[" * levels + "]" * levels + "}"

    for levels, message in ((101, "nests 101 levels deep"), (100_000, "nests more than 100 levels deep")):
        with pytest.raises(AgentctlError, match=message):
            parse_script(nested(levels), "deep.json")
    with pytest.raises(AgentctlError, match="x reply 1: a reply is a text"):  # past the depth check
        parse_script(nested(100), "ok.json")


def test_a_script_is_read_within_its_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from agentctl.providers import scripted

    monkeypatch.setattr(scripted, "SCRIPT_BYTES", 64)
    big = tmp_path / "big.yaml"
    big.write_text("reviewer: [{text: " + "x" * 100 + "}]\n")
    with pytest.raises(AgentctlError, match=r"cannot read the script .*big\.yaml: larger than 64 bytes"):
        scripted.load_script(big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes to it: an unbounded read would block forever
    with pytest.raises(AgentctlError, match=r"fifo\.yaml: a FIFO, not a regular file"):
        scripted.load_script(fifo)


def test_a_terminal_gets_a_live_tree_of_the_calls(team: Path) -> None:
    from agentctl.cli import main
    from agentctl.cli.env import Environment

    script = write_script(team, {"lead": ["Hi."]})
    stdout, stderr = TTYStringIO(True), TTYStringIO(True)
    environment = Environment(stdout=stdout, stderr=stderr, stdin=io.BytesIO(), cwd=team, environ={"PATH": "/bin"})
    assert main(["dispatch", "lead", "Say hi", "--script", script], env=environment) == 0
    assert stdout.getvalue() == "Hi.\n"
    assert "✓ lead (fresh, c1) ok" in stderr.getvalue(), "the tree shows each call's state"
    assert "[c1]" not in stderr.getvalue(), "no progress lines on a terminal"


def test_a_dry_run_does_not_import_the_sdk() -> None:
    if not (REPO / "agents" / "orchestrator.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    probe = "import sys\nfrom agentctl.cli import main\nmain(sys.argv[1:])\nprint('anthropic' in sys.modules)\n"
    args = ["dispatch", "orchestrator", "Plan the export", "--dry-run", "--format", "json"]
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.rstrip().endswith("False"), result.stderr
