"""Parsers that never hang or crash (issue #10, "Inputs that hang or crash").

- Every compiled pattern in agentctl runs in linear time on pathological text (one subprocess,
  watched: a quadratic pattern takes tens of seconds on these inputs, a cubic one hours).
- YAML within the parse budgets: alias bombs, recursive aliases and deep nesting leave out only the
  top-level keys that hold them, with a finding; the other keys, the verdict and every command go on.
- The validate path is linear in the number of keys, tools, TODOs and examples of a file.

The subprocess cases (tests/hostile/cases_parsing.py) run the same inputs through the real CLI.
"""

from __future__ import annotations

import importlib
import pkgutil
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl import bounds, ccyaml, escalation, handoff
from agentctl.lazyre import LazyPattern
from agentctl.spec import author_entries, parse_agent_text
from tests.conftest import REPO, RunCli
from tests.hostile.cases_parsing import BLOCK_BOMB, BOMB

# --- every regular expression, against pathological text --------------------------------------------------

# Runs of one unit (a character or a pair), after a prefix that leads a pattern into the state where
# it would backtrack, and before a character that makes it fail. Together they reach every
# quadratic and cubic pattern this code base ever had (see the git history of this file).
UNITS = [" ", "\t", "#", "-", ":", "|", "*", "`", "a", "1", "\n", "_", ",", " #", "- ", ": ", "| ", "a-", "a:"]
UNITS += ["1.", "\n ", "{{"]
PREFIXES = ["", "### -> A", "## ", "**Task", "- ", "a: ", "|---", "---\n", "mcp__a", "to:", "<example>"]
FAILING_END = "\x00"
RUN_LENGTH = 40_000  # a linear pattern reads it in a fraction of a millisecond, a quadratic one in seconds
PATTERN_WATCHDOG = 30.0  # seconds for one pattern on all 242 texts: a linear one takes about one at most
AUDIT_WATCHDOG = 240.0  # seconds for the whole set (about 80 patterns take 10-20 s here)


def all_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Every compiled pattern of agentctl's modules: module attributes (re.Pattern, LazyPattern),
    inside tuples, lists and dicts, and in the attributes of agentctl's own classes (PyYAML
    resolvers keep their patterns there)."""
    found: dict[int, tuple[str, re.Pattern[str]]] = {}
    for info in pkgutil.walk_packages([str(REPO / "agentctl")], "agentctl."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            for where, pattern in _patterns_in(f"{info.name}.{name}", value, 0):
                found.setdefault(id(pattern), (where, pattern))
    return sorted(found.values(), key=lambda item: item[0])


def _patterns_in(where: str, value: object, depth: int) -> Iterator[tuple[str, re.Pattern[str]]]:
    if isinstance(value, re.Pattern):
        yield where, value
    elif isinstance(value, LazyPattern):
        yield where, value.compiled()
    elif depth < 4 and isinstance(value, tuple | list | set | frozenset):
        for index, item in enumerate(value):
            yield from _patterns_in(f"{where}[{index}]", item, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for key, item in value.items():
            yield from _patterns_in(f"{where}[{key!r}]", item, depth + 1)
    elif depth == 0 and isinstance(value, type) and value.__module__.startswith("agentctl"):
        for name, item in vars(value).items():
            yield from _patterns_in(f"{where}.{name}", item, depth + 1)


def pathological_texts() -> Iterator[str]:
    for prefix in PREFIXES:
        for unit in UNITS:
            yield prefix + (unit * (RUN_LENGTH // len(unit) + 1))[:RUN_LENGTH] + FAILING_END


def run_audit() -> None:
    """The child: say which pattern it starts, run it (search and fullmatch) on every text."""
    texts = list(pathological_texts())
    for where, pattern in all_patterns():
        print(f"start {where} {pattern.pattern[:120]!r}", flush=True)
        for text in texts:
            pattern.search(text)
            pattern.fullmatch(text)
    print("done", flush=True)


def test_every_pattern_runs_in_linear_time_on_pathological_text() -> None:
    code = "from tests.test_parsing_hostile import run_audit; run_audit()"
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in child.stdout or []], daemon=True)
    reader.start()
    started, current = 0, "(starting)"
    deadline = time.monotonic() + AUDIT_WATCHDOG
    try:
        while True:
            try:
                line = lines.get(timeout=min(PATTERN_WATCHDOG, max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(
                    f"a pattern ran for over {PATTERN_WATCHDOG:.0f} s (or the set for over {AUDIT_WATCHDOG:.0f} s): {current}"
                )
            if line.startswith("done"):
                break
            assert line.startswith("start "), line
            current = line.strip()
            started += 1
            assert started < 1000
    finally:
        child.kill()
        child.wait()
    assert started > 60, "the audit found fewer patterns than agentctl has"


def test_the_audit_sees_the_patterns_that_read_outside_text() -> None:
    names = {where for where, _ in all_patterns()}
    for expected in (
        "agentctl.handoff._REQUEST_HEADING",
        "agentctl.handoff._FIELD_LINE",
        "agentctl.claude_code._FRONTMATTER",
        "agentctl.spec._KEY_LINE",
        "agentctl.team._SEPARATOR",
        "agentctl.bunyaml._TAB_BEFORE_COMMENT",
        "agentctl.validate.clarity._TODO",
    ):
        assert expected in names
    assert any(name.startswith("agentctl.bunyaml.CoreSchemaResolver.yaml_implicit_resolvers") for name in names)


# --- handoff headings and fields with long runs (the patterns are linear; the readings are right) -------


def test_a_heading_with_thousands_of_spaces_is_one_request() -> None:
    answer = "## Handoff Requests\n\n### -> DB Architect" + " " * 50_000 + "##  \n**Task:** add the index\n"
    (request,) = handoff.parse_output(answer).handoffs
    assert request.target == "DB Architect" and request.task == "add the index"


def test_long_runs_in_field_lines_targets_and_tables_are_read_as_before() -> None:
    spaces = " " * 20_000
    (request,) = handoff.parse_output(f"### -> A\n- **Task{spaces}:**{spaces}do it{spaces}\n").handoffs
    assert request.task == "do it"
    assert handoff._clean_target(f"DB Architect{spaces}(db-architect)") == ("DB Architect", ["db-architect"])
    table = f"# Escalation\n| Situation | Escalate To |\n|---|---|\n| x | A{spaces}and{spaces}B |\n"
    assert [target.name for target in escalation.escalation_targets(table)] == ["A", "B"]
    assert [target.name for target in escalation.handoff_targets(f"text\n### -> Reviewer{spaces}###\n")] == ["Reviewer"]


# --- YAML budgets ----------------------------------------------------------------------------------------


def test_an_alias_bomb_leaves_out_only_the_keys_over_the_budget() -> None:
    result = ccyaml.parse(f"name: bomb\ndescription: Plain.\n{BOMB}\ntools: Read\n")
    assert result.ok and result.over_budget is not None
    assert "`a4` uses YAML aliases that expand to 66,429 nodes" in result.over_budget
    assert "4 more top-level keys" in result.over_budget
    assert {"name", "description", "tools", "a0", "a3"} <= set(result.value) and "a4" not in result.value
    assert [key for key, _ in result.left_out] == ["a4", "a5", "a6", "a7", "a8"]
    assert result.left_out[0][1] == 7, "the line of the first key left out"


def test_aliases_within_the_budget_are_read_as_written() -> None:
    result = ccyaml.parse("base: &b {model: opus, tools: [Read, Grep]}\nfirst: *b\nsecond: *b\n")
    assert result.over_budget is None and result.value["second"] == {"model": "opus", "tools": ["Read", "Grep"]}


def test_an_alias_that_contains_itself_is_left_out() -> None:
    result = ccyaml.parse("name: loop\nx: &a\n  y: *a\ndescription: Still read.\n")
    assert result.value == {"name": "loop", "description": "Still read."}
    assert result.over_budget == "`x` contains itself through a YAML alias, so it never ends"


@pytest.mark.parametrize(
    "deep",
    [
        "x: " + "[" * 3000 + "]" * 3000,  # past libyaml's own limit of 1,000
        "x: " + "[" * 50_000 + "]" * 50_000,  # Claude Code reads this one
        "x: " + "{a: " * 500 + "1" + "}" * 500,  # within libyaml's limit, past agentctl's
        "x:\n" + "- " * 3000 + "y",  # block style
        "x:\n" + "".join(" " * level + f"k{level}:\n" for level in range(1, 400)) + " " * 400 + "end: 1",
    ],
    ids=["flow-3000", "flow-50000", "flow-500-mappings", "block-3000", "block-mappings-400"],
)
def test_deep_nesting_leaves_out_that_key_and_reads_the_rest(deep: str) -> None:
    result = ccyaml.parse(f"name: deep\n{deep}\ndescription: Still read.\n")
    assert result.ok
    assert result.value == {"name": "deep", "description": "Still read."}
    assert result.over_budget is not None and result.over_budget.startswith("`x` nests ")
    assert result.left_out == [("x", 2)]


def test_deep_nesting_in_text_that_only_the_slow_parser_reads_stops_early() -> None:
    # libyaml refuses the tab line, so PyYAML's pure-Python parser reads the text; it slows down with
    # depth quadratically (minutes at 50,000), so its events are counted and it stops at the limit.
    result = ccyaml.parse("name: deep\n\t\ndescription: Still read.\nx: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert result.ok and result.standard_error is not None
    assert result.value == {"name": "deep", "description": "Still read."} and result.left_out == [("x", 4)]


def test_the_depth_limit_is_exact() -> None:
    def nested(levels: int) -> str:
        return "name: n\nx: " + "[" * levels + "]" * levels + "\n"

    assert ccyaml.parse(nested(bounds.YAML_DEPTH)).over_budget is None
    assert ccyaml.parse(nested(bounds.YAML_DEPTH + 1)).over_budget == (
        f"`x` nests {bounds.YAML_DEPTH + 1} levels deep (agentctl's limit is {bounds.YAML_DEPTH})"
    )


def test_depth_through_a_chain_of_aliases_or_merges_counts() -> None:
    aliases = "a0: &a0 [x]\n" + "".join(f"a{n}: &a{n} [*a{n - 1}]\n" for n in range(1, 120))
    merges = "m0: &m0 {k: v}\n" + "".join(f"m{n}: &m{n} {{<<: *m{n - 1}}}\n" for n in range(1, 120))
    for text, first_over in ((aliases, "a100"), (merges, "m100")):
        result = ccyaml.parse("name: n\n" + text)
        assert result.left_out[0][0] == first_over and "nests 101 levels deep" in (result.over_budget or "")
        assert "name" in result.value and f"{first_over[0]}99" in result.value


def test_a_whole_document_over_the_budget_reads_as_nothing() -> None:
    result = ccyaml.parse("- " * 200 + "x\n")
    assert result.value is None and result.over_budget == "the YAML nests 199 levels deep (agentctl's limit is 100)"


def test_many_deep_keys_are_all_left_out() -> None:
    deep = "".join(f"x{n}: " + "[" * 2000 + "]" * 2000 + "\n" for n in range(6))
    result = ccyaml.parse(f"name: n\n{deep}description: d\n")
    assert result.value == {"name": "n", "description": "d"}
    assert [key for key, _ in result.left_out] == [f"x{n}" for n in range(6)]


# --- what agentctl makes of such files -------------------------------------------------------------------


def agent(extra: str, name: str = "bomb") -> str:
    return f"---\nname: {name}\ndescription: Plain words.\ntools: Read, Grep\n{extra}\nmodel: sonnet\n---\n\nBody.\n"


@pytest.mark.parametrize("bomb", [BOMB, BLOCK_BOMB], ids=["flow", "block"])
def test_the_verdict_and_the_authors_reading_skip_only_the_bomb(bomb: str) -> None:
    file = parse_agent_text(Path("bomb.md"), agent(bomb))
    assert file.verdict.loads and file.verdict.name == "bomb" and file.verdict.tools == ["Read", "Grep"]
    assert file.reading is not None and file.reading.over_budget is not None
    assert set(file.spec.raw) == {"name", "description", "tools", "model", "a0", "a1", "a2", "a3"}
    assert (
        file.spec.model == "sonnet"
        and file.spec.key_lines["model"] == agent(bomb).split("\n").index("model: sonnet") + 1
    )
    # the entry before a left-out key ends where that key begins
    entries = {entry.key: entry for entry in author_entries(file.reading)}
    assert "a4" not in entries["a3"].source


def test_validate_reports_the_budget_and_checks_every_other_file(cli: RunCli, tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "bomb.md").write_text(agent(BOMB), "utf-8")
    (agents / "deep.md").write_text(agent("x: " + "[" * 3000 + "]" * 3000, "deep"), "utf-8")
    (agents / "typo.md").write_text(agent("modle: opus", "typo"), "utf-8")
    result = cli("validate", "agents", "--format", "json")
    assert result.exit_code == 1
    files = {entry["path"]: entry for entry in result.json()["files"]}
    for path, line, words in (("agents/bomb.md", 9, "uses YAML aliases"), ("agents/deep.md", 5, "nests more")):
        (finding,) = [d for d in files[path]["diagnostics"] if d["rule"] == "CC015"]
        assert finding["severity"] == "error" and finding["line"] == line and words in finding["message"]
        assert finding["message"].endswith("agentctl reads only the frontmatter's other keys")
        assert files[path]["claude_code"]["loads"] is True
    assert [d["rule"] for d in files["agents/typo.md"]["diagnostics"]] == ["FM001"]


def test_team_commands_go_on_past_a_deep_file(cli: RunCli, tmp_path: Path) -> None:
    for folder in ("agents", "agents-shared"):
        (tmp_path / folder).mkdir()
    (tmp_path / "agents" / "deep.md").write_text(agent("x:\n" + "- " * 3000 + "y", "deep"), "utf-8")
    (tmp_path / "agents" / "reviewer.md").write_text(agent("", "reviewer"), "utf-8")
    listed = cli("list", "--format", "json")
    assert listed.exit_code == 0 and {"deep", "reviewer"} <= {a["name"] for a in listed.json()["agents"]}
    shown = cli("show", "deep", "--format", "json")
    assert shown.exit_code == 0 and "x" not in shown.json()["frontmatter"]
    assert cli("route", "review the code", "--format", "json").exit_code == 0


# --- linear in the size of a file ------------------------------------------------------------------------


def test_many_keys_each_have_their_line_and_source() -> None:
    keys = "".join(f"k{n}: |\n  line {n}\n" for n in range(3000))
    file = parse_agent_text(Path("many.md"), f"---\nname: many\ndescription: Many.\n{keys}---\n\nBody.\n")
    assert file.spec.key_lines["k0"] == 4 and file.spec.key_lines["k2999"] == 4 + 2 * 2999
    assert file.spec.raw["k2999"] == "line 2999\n"


def test_tool_positions_are_found_in_one_pass(cli: RunCli, tmp_path: Path) -> None:
    tools = ", ".join(f"Tool{n}" for n in range(20_000))
    (tmp_path / "tools.md").write_text(f"---\nname: tools\ndescription: Tools.\ntools: Read, {tools}, Read\n---\nx\n")
    result = cli("validate", "tools.md", "--format", "json")
    diagnostics = result.json()["files"][0]["diagnostics"]
    unknown = [d for d in diagnostics if d["rule"] == "TL001"]
    assert len(unknown) == 20_000 and (unknown[1]["line"], unknown[1]["column"]) == (4, 21)
    (twice,) = [d for d in diagnostics if d["rule"] == "TL005"]
    assert twice["column"] == len("tools: Read, ") + len(tools) + len(", ") + 1
    assert unknown[0]["hint"] == "did you mean `Tool`?" or unknown[0]["hint"].startswith(("did you", "known"))


def test_markers_and_examples_on_long_lines_have_their_positions(tmp_path: Path) -> None:
    from agentctl.validate import check_agent

    body = "x " * 10 + "TODO " * 20_000
    examples = "<example>user: a</example>" * 5000
    file = parse_agent_text(Path("t.md"), f'---\nname: t\ndescription: "{examples}"\n---\n\n{body}\n')
    markers = [d for d in check_agent(file) if d.rule == "CQ004"]
    assert len(markers) == 20_000 and (markers[1].line, markers[1].column) == (6, 26)
    assert len(file.spec.examples) == 5000 and file.spec.examples[-1].line == 3
