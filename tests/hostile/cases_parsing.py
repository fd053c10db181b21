"""Hostile cases: parsers (issue #10, "Inputs that hang or crash": ReDoS, YAML alias bombs, deep
nesting, quadratic parsing; and the scripted provider's script file).

Every case here used to hang for minutes, take gigabytes, or exit 3: a handoff heading with 3,000
spaces backtracked cubically, nine lines of YAML aliases expanded to hundreds of millions of nodes,
a frontmatter 3,000 levels deep ended every team command in RecursionError, 60,000 keys took a
minute. Each now ends quickly with the right answer, a finding (exit 1) or one clear line (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tests.hostile.harness import Case, Outcome, Sandbox, agent_text

# Nine levels of `&aN [*aM, ...]`, nine wide: about 450 bytes that describe ~430 million nodes.
BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]" for level in range(1, 9)]
)
# The same in block style (700 bytes), which the old checks walked node by node: `list` never ended.
BLOCK_BOMB = "\n".join(
    ["a0: &a0", *["  - x"] * 9]
    + [line for level in range(1, 9) for line in (f"a{level}: &a{level}", *[f"  - *a{level - 1}"] * 9)]
)
DEEP = "x: " + "[" * 3000 + "]" * 3000  # Claude Code reads it (Bun's parser does not recurse)
OVER_BUDGET = "CC015"


def _team_with(name: str, extra: str) -> Callable[[Sandbox], None]:
    """The small team, plus agents/<name>.md with plain name and description and `extra` keys."""

    def build(sandbox: Sandbox) -> None:
        sandbox.small_team()
        sandbox.write(f"agents/{name}.md", agent_text(name, "Plain words about the agent.", extra + "\n"))
        roster = sandbox.team / "agents-shared" / "team-protocol.md"
        roster.write_text(roster.read_text("utf-8") + f"| `{name}` | {name.title()} | x | x | C |\n", "utf-8")

    return build


def _run(build: Callable[[Sandbox], None], *args: str) -> Callable[[Sandbox], Sequence[str]]:
    def run(sandbox: Sandbox) -> Sequence[str]:
        build(sandbox)
        return args

    return run


def _over_budget_finding(path: str, words: str) -> Callable[[Sandbox, Outcome], None]:
    """validate --format json: `path` has a CC015 error holding `words`, keeps its plain name, and
    the other agents were checked as usual."""

    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        files = {entry["path"]: entry for entry in outcome.json()["files"]}
        findings = [d for d in files[path]["diagnostics"] if d["rule"] == OVER_BUDGET]
        assert findings and words in findings[0]["message"], files[path]["diagnostics"]
        assert findings[0]["severity"] == "error"
        assert files[path]["claude_code"]["name"] == path.split("/")[-1].removesuffix(".md")
        assert files["agents/reviewer.md"]["diagnostics"] == [], "the other agents are checked as usual"

    return check


def _lists_every_agent(*names: str) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        for name in names:
            assert name in outcome.stdout, (name, outcome.stdout)

    return check


def _shows_plain_keys_only(sandbox: Sandbox, outcome: Outcome) -> None:
    shown = outcome.json()
    assert shown["name"] == "bomb" and shown["claude_code"]["loads"] is True
    assert set(shown["frontmatter"]) >= {"name", "description"} and "a8" not in shown["frontmatter"]
    assert len(outcome.stdout) < 1_000_000, "an expanded bomb is never printed"


def _not_rewritten(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "bomb.md" in outcome.stdout + outcome.stderr and "not rewritten" in outcome.stdout + outcome.stderr


# --- ReDoS --------------------------------------------------------------------------------------------------

REDOS_ANSWER = "Done.\n\n## Handoff Requests\n\n### -> A" + " " * 3000 + "x\n**Task:** index the table\n"


def _redos_answer(sandbox: Sandbox) -> Sequence[str]:
    sandbox.write("answer.md", REDOS_ANSWER)
    return ["handoffs", "parse", "answer.md", "--format", "json"]


def _redos_requests(sandbox: Sandbox, outcome: Outcome) -> None:
    requests = outcome.json()["handoffs"]
    assert len(requests) == 1 and requests[0]["task"] == "index the table", requests
    assert requests[0]["target"].startswith("A ") and requests[0]["target"].endswith(" x")


SECTION_PAIR = "## Handoff Requests\n### -> A\n**Task:** x\n## Memory Notes\n### topic\nApplies when: x\n"


def _many_sections(sandbox: Sandbox) -> Sequence[str]:
    sandbox.write("answer.md", SECTION_PAIR * 20_000)  # 1.6 MB: each request looked through every section
    return ["handoffs", "parse", "answer.md", "--format", "json"]


def _every_section_read(sandbox: Sandbox, outcome: Outcome) -> None:
    parsed = outcome.json()
    assert len(parsed["handoffs"]) == 20_000 and len(parsed["memory_notes"]) == 20_000
    assert parsed["problems"] == []


# --- scripts ------------------------------------------------------------------------------------------------


def _script(text: str, name: str = "script.yaml") -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        sandbox.write(name, text)
        return ["dispatch", "reviewer", "Review it", "--provider", "scripted", "--script", name, "--format", "json"]

    return build


def _refused(*words: str) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        error = outcome.json()["error"]
        for word in words:
            assert word in error["message"], error
        assert not (sandbox.team / ".agentctl" / "runs").exists() or not any(
            (sandbox.team / ".agentctl" / "runs").iterdir()
        ), "a refused script starts no run"

    return check


def _many_keys(sandbox: Sandbox) -> Sequence[str]:
    keys = "".join(f"k{index}: v\n" for index in range(60_000))
    sandbox.write("many.md", agent_text("many", "Sixty thousand keys.", keys))
    return ["validate", "many.md", "--format", "json"]


def _every_key_reported(sandbox: Sandbox, outcome: Outcome) -> None:
    (entry,) = outcome.json()["files"]
    assert sum(1 for d in entry["diagnostics"] if d["rule"] == "FM001") == 60_000
    assert entry["claude_code"]["loads"] is True


def _many_swallowed_keys(sandbox: Sandbox) -> Sequence[str]:
    # Inside <example> the lines are dialogue to a person, keys to Claude Code's fallback.
    lines = "".join(f"k{index}: v\n" for index in range(60_000))
    sandbox.write("swallow.md", f"---\nname: swallow\ndescription: Use it: <example>\n{lines}z: </example>\n---\nx\n")
    return ["validate", "swallow.md", "--format", "json"]


def _swallowed_reported(sandbox: Sandbox, outcome: Outcome) -> None:
    (entry,) = outcome.json()["files"]
    (finding,) = [d for d in entry["diagnostics"] if d["rule"] == "CC003"]
    assert "lines 4-60004 as the keys k0, k1" in finding["message"] and "and 59,991 more" in finding["message"]


def _many_tools(sandbox: Sandbox) -> Sequence[str]:
    tools = ", ".join(f"Tool{index}" for index in range(50_000))
    sandbox.write("tools.md", agent_text("tools", "Fifty thousand tools.", f"tools: {tools}\n"))
    return ["validate", "tools.md", "--format", "json"]


def _many_markers(sandbox: Sandbox) -> Sequence[str]:
    sandbox.write("todo.md", agent_text("todo", "Markers.", body="TODO\n" * 150_000))
    return ["validate", "todo.md", "--format", "json"]


def _counted(rule: str, count: int) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        (entry,) = outcome.json()["files"]
        found = [d for d in entry["diagnostics"] if d["rule"] == rule]
        assert len(found) == count and found[-1]["line"] > 1, (len(found), found[-1:])

    return check


_BOMB_TEAM = _team_with("bomb", BLOCK_BOMB)
_DEEP_TEAM = _team_with("deep", DEEP)

CASES = [
    Case(
        "parse-redos-handoff-heading",
        "a handoff heading `### -> A` + 3,000 spaces + `x` took `handoffs parse` past 20 s (cubic backtracking)",
        _redos_answer,
        (0,),
        _redos_requests,
        timeout=10,
    ),
    Case(
        "parse-answer-40000-sections",
        "an answer's sections were searched once per request and per heading: quadratic in the answer",
        _many_sections,
        (0,),
        _every_section_read,
        timeout=20,
    ),
    Case(
        "parse-alias-bomb-validate",
        "a 450-byte frontmatter of nested YAML aliases made validate run for minutes or exhaust memory",
        _run(_BOMB_TEAM, "validate", "--format", "json"),
        (1,),
        _over_budget_finding("agents/bomb.md", "uses YAML aliases that expand to"),
    ),
    Case(
        "parse-alias-bomb-list",
        "the alias bomb made `list` run for minutes",
        _run(_BOMB_TEAM, "list"),
        (0,),
        _lists_every_agent("bomb", "reviewer", "db-architect"),
    ),
    Case(
        "parse-alias-bomb-show",
        "`show --format json` prints the frontmatter: it must never print an expanded bomb",
        _run(_BOMB_TEAM, "show", "bomb", "--format", "json"),
        (0,),
        _shows_plain_keys_only,
    ),
    Case(
        "parse-alias-bomb-fmt",
        "the alias bomb made fmt run for minutes; a frontmatter over the budget is not rewritten",
        _run(_BOMB_TEAM, "fmt", "--check"),
        (1,),
        _not_rewritten,
    ),
    Case(
        "parse-deep-frontmatter-validate",
        "a frontmatter 3,000 levels deep made every team command exit 3 (RecursionError)",
        _run(_DEEP_TEAM, "validate", "--format", "json"),
        (1,),
        _over_budget_finding("agents/deep.md", "nests more than 100 levels deep"),
    ),
    Case(
        "parse-deep-frontmatter-list",
        "one 3,000-deep agent file made `list` exit 3: the other agents must still be listed",
        _run(_DEEP_TEAM, "list"),
        (0,),
        _lists_every_agent("deep", "reviewer", "db-architect"),
    ),
    Case(
        "parse-deep-frontmatter-route",
        "one 3,000-deep agent file made `route` exit 3",
        _run(_DEEP_TEAM, "route", "design the database schema", "--format", "json"),
        (0,),
        lambda sandbox, outcome: _lists_every_agent("db-architect", "reviewer")(sandbox, outcome),
    ),
    Case(
        "parse-60000-keys",
        "an 877 KB agent file with 60,000 keys took validate 62 s (key lines looked up quadratically)",
        _many_keys,
        (0,),
        _every_key_reported,
        timeout=20,
    ),
    Case(
        "parse-60000-swallowed-keys",
        "the lines of keys Claude Code's fallback swallows were found with one pattern of every key: quadratic",
        _many_swallowed_keys,
        (1,),
        _swallowed_reported,
        timeout=20,
    ),
    Case(
        "parse-50000-tools",
        "each tool's position was searched for in the whole entry: 50,000 tools took minutes",
        _many_tools,
        (1,),
        _counted("TL001", 50_000),
        timeout=20,
    ),
    Case(
        "parse-150000-markers",
        "each TODO's line was counted from the start of the file: 150,000 of them took two minutes",
        _many_markers,
        (0,),
        _counted("CQ004", 150_000),
        timeout=20,
    ),
    Case(
        "parse-script-alias-bomb",
        "a 700-byte --script file of YAML aliases took 35 s and 3 GB",
        _script(BOMB + "\nreviewer: [{text: *a8}]\n", "bomb.yaml"),
        (2,),
        _refused("bomb.yaml", "uses YAML aliases that expand to"),
    ),
    Case(
        "parse-script-bad-usage",
        "a non-numeric usage value in a --script exited 3",
        _script("reviewer:\n  - text: hi\n    usage: {input_tokens: lots}\n"),
        (2,),
        _refused("script.yaml", "reviewer reply 1", "input_tokens"),
    ),
    Case(
        "parse-script-deep-json",
        "a --script JSON file nested 100,000 levels deep ended in RecursionError",
        _script('{"reviewer": [{"text": "hi", "x": ' + "[" * 100_000 + "]" * 100_000 + "}]}", "deep.json"),
        (2,),
        _refused("deep.json", "levels deep"),
    ),
]
