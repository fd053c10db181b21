"""`agentctl export` writes the team as the JSON object `claude --agents` takes; `agentctl import`
writes agent files from such JSON. export -> import -> export is byte-identical, hostile names and
JSON are one clear line and exit 2, nothing is ever overwritten, and the real binary lists every
exported agent with the description and tools agentctl predicts (when it is installed)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from agentctl import export
from agentctl.config import load_settings
from agentctl.errors import UsageError
from agentctl.team import load_team
from tests.claude_binary import agent_listing, entry, find_claude, recorded_requests, unexplained
from tests.conftest import FIXTURES, RunCli, agent_text, copy_shipped_team, make_team

CLAUDE = find_claude()
needs_claude = pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk")

EVERY_FIELD = """---
name: every-field
description: Uses every field.
tools: Read, Grep, Bash(git diff:*)
disallowedTools: Write
model: " Opus "
permissionMode: manual
maxTurns: "1,000"
skills: review, plan
mcpServers:
  - postgres
  - local:
      command: npx
      args: [server]
  - broken: 3
hooks:
  Stop:
    - hooks:
        - type: command
          command: "true"
memory: project
background: "true"
effort: med
isolation: worktree
color: blue
initialPrompt: Start with the schema.
autoCompactWindow: 200000
omitClaudeMd: true
observer: " watcher "
observerMessage: Check the work.
observeSubagents: false
observeToolResults: "no"
experimental:
  cacheTtl: 1h
---

  You are thorough.
"""
EVERY_FIELD_ENTRY = {
    "description": "Uses every field.",
    "tools": ["Read", "Grep", "Bash(git diff:*)", "Write", "Edit"],  # memory adds Write, Edit (and Read)
    "disallowedTools": ["Write"],
    "model": "Opus",
    "effort": "medium",
    "permissionMode": "default",
    "maxTurns": 1000,
    "autoCompactWindow": 200000,
    "skills": ["review", "plan"],
    "mcpServers": ["postgres", {"local": {"command": "npx", "args": ["server"]}}],
    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]},
    "memory": "project",
    "background": True,
    "omitClaudeMd": True,
    "isolation": "worktree",
    "initialPrompt": "Start with the schema.",
    "observer": "watcher",
    "observerMessage": "Check the work.",
    "observeSubagents": False,
    "observeToolResults": False,
    "prompt": "You are thorough.",
}


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path / "team")


def exported(folder: Path) -> str:
    """The export of the agent files in `folder`, as `agentctl export` writes it."""
    settings = load_settings(cwd=folder, root=folder.parent, overrides={"agents": folder.name})
    return export.dumps(export.agents_json(load_team(settings)))


def files_below(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


# --- round trips ---------------------------------------------------------------------------------


def test_the_shipped_team_round_trips_byte_for_byte(shipped: Path, cli: RunCli) -> None:
    first = cli("export", "-o", "team.json", cwd=shipped)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("wrote team.json: 16 agents, ")
    data = (shipped / "team.json").read_bytes()
    assert cli("export", cwd=shipped).stdout.encode() == data  # stdout holds the same bytes as -o
    imported = cli("import", "team.json", "--into", str(shipped / "copy" / "agents"), cwd=shipped)
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.endswith("16 agents imported into copy/agents\n")
    again = cli("--root", "copy", "export", "-o", "again.json", cwd=shipped)
    assert again.exit_code == 0, again.stderr
    assert (shipped / "again.json").read_bytes() == data


def test_the_export_holds_what_claude_code_reads(shipped: Path) -> None:
    agents = json.loads(exported(shipped / "agents"))
    team = load_team(load_settings(cwd=shipped))
    assert list(agents) == sorted(agent.name or "" for agent in team.agents)
    for agent in team.agents:
        assert agent.name is not None
        item = agents[agent.name]
        assert list(item) == ["description", "tools", "model", "prompt"]
        assert (item["description"], item["tools"]) == (agent.verdict.description, agent.verdict.tools)
        assert item["model"] == agent.spec.model
        assert item["prompt"] == agent.spec.body.strip() and item["prompt"].startswith("# First Step")
    assert len(exported(shipped / "agents").encode()) > 128 * 1024  # over one argument's limit: a file


# Ids without "claude_code": conftest makes tests with that keyword opt-in (`-m claude_code`).
FIXTURE_FOLDERS = [pytest.param("claude_code", id="fixtures"), pytest.param("claude_code_duplicates", id="duplicates")]


@pytest.mark.parametrize("folder", FIXTURE_FOLDERS)
def test_fixtures_round_trip(folder: str, tmp_path: Path) -> None:
    """Every fixture Claude Code loads, with names a file can take (one is 256 characters long)."""
    first = json.loads(exported(FIXTURES / folder))
    kept = {name: item for name, item in first.items() if len(name.encode()) <= 200}
    assert len(kept) >= (40 if folder == "claude_code" else 1)
    export.import_agents(kept, tmp_path / "agents")
    assert exported(tmp_path / "agents") == export.dumps(kept)


def test_every_field_is_carried_as_claude_code_reads_it(tmp_path: Path) -> None:
    make_team(tmp_path / "team", {"every-field.md": EVERY_FIELD})
    result = export.export_team(load_team(load_settings(cwd=tmp_path / "team")))
    assert result.agents == {"every-field": EVERY_FIELD_ENTRY}
    assert list(result.agents["every-field"]) == list(EVERY_FIELD_ENTRY)
    assert {(item.key, item.reason.split(" ")[0]) for item in result.left_out} == {
        ("color", "`--agents`"),
        ("experimental", "`--agents`"),
        ("mcpServers", "item"),
    }
    written = export.import_agents(result.agents, tmp_path / "copy" / "agents").written
    assert exported(tmp_path / "copy" / "agents") == export.dumps(result.agents)
    text = written[0].read_text("utf-8")
    assert text.startswith(
        "---\nname: every-field\ndescription: Uses every field.\ntools: Read, Grep, Bash(git diff:*), Write, Edit\n"
    )
    assert text.endswith("---\n\nYou are thorough.\n")


@pytest.mark.parametrize(
    ("frontmatter", "expected"),
    [
        ("maxTurns: 0\n", {}),
        ("maxTurns: 2.5\n", {}),
        ("maxTurns: '1e3'\n", {"maxTurns": 1000}),
        ("maxTurns: ' 7 turns'\n", {"maxTurns": 7}),
        ("maxTurns: true\n", {}),
        ("effort: 3\n", {"effort": 3}),
        ("effort: HIGH\n", {"effort": "high"}),
        ("effort: '4x'\n", {"effort": 4}),
        ("effort: loud\n", {}),
        ("effort: true\n", {}),
        ("effort: 99999999999999999999\n", {}),
        ("model: ' INHERIT '\n", {"model": "inherit"}),
        ("model: ''\n", {}),
        ("model: 3\n", {}),
        ("permissionMode: nope\n", {}),
        ("background: false\n", {}),
        ("background: yes\n", {}),
        ("observeToolResults: 'On'\n", {}),
        ("observeToolResults:\n", {"observeToolResults": False}),
        ("observeSubagents: 'false'\n", {"observeSubagents": False}),
        ("autoCompactWindow: 99999\n", {}),
        ("initialPrompt: '   '\n", {}),
        ("skills: []\n", {}),
        ("skills: '*'\n", {"skills": ["*"]}),
        ("mcpServers: postgres\n", {}),
        ("mcpServers: [{x: {type: carrier-pigeon}}]\n", {}),
        ("hooks: {}\n", {"hooks": {}}),
        ("hooks: {Bogus: []}\n", {}),
        ("tools: '*'\n", {}),
        ("tools:\n", {"tools": []}),
        ("disallowedTools: Bash\n", {"disallowedTools": ["Bash"]}),
    ],
)
def test_values_claude_code_ignores_are_left_out(frontmatter: str, expected: dict[str, Any], tmp_path: Path) -> None:
    make_team(tmp_path, {"a.md": agent_text("a", extra=frontmatter)})
    item = export.agents_json(load_team(load_settings(cwd=tmp_path)))["a"]
    rest = {key: value for key, value in item.items() if key not in ("description", "prompt")}
    assert rest == expected


def test_skipped_files_and_duplicates_are_reported(tmp_path: Path, cli: RunCli) -> None:
    make_team(
        tmp_path,
        {
            "a.md": agent_text("twin", "The first."),
            "b.md": agent_text("twin", "The second."),
            "broken.md": "---\nname: [\n---\n",
            "ok.md": agent_text("ok"),
        },
    )
    result = cli("export", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    document = result.json()
    assert document["exported"] == ["ok", "twin"] and document["path"] is None
    assert document["agents"]["twin"]["description"] == "The second."  # the last in path order, as NM003 says
    assert [item["path"] for item in document["skipped"]] == ["agents/a.md", "agents/broken.md"]
    text = cli("export", cwd=tmp_path)
    assert "warning: left out agents/a.md: b.md also defines 'twin'" in text.stderr
    assert json.loads(text.stdout) == document["agents"]


def test_export_json_with_a_file(shipped: Path, cli: RunCli) -> None:
    result = cli("export", "-o", "out/team.json", "--format", "json", cwd=shipped)
    assert result.exit_code == 2  # the folder does not exist: agentctl writes only what it was told to
    assert result.json()["error"]["message"].startswith("cannot write")
    (shipped / "out").mkdir()
    document = cli("export", "-o", "out/team.json", "--format", "json", cwd=shipped).json()
    assert document["path"] == "out/team.json" and "agents" not in document
    assert document["bytes"] == (shipped / "out" / "team.json").stat().st_size
    assert {item["key"] for item in document["left_out"]} == {"color"}
    assert cli("export", "-o", "out", cwd=shipped).exit_code == 2  # a folder


# --- import: hostile input -----------------------------------------------------------------------

GOOD = {"description": "Helps.", "prompt": "You help."}


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/b",
        "a\\b",
        "/abs",
        "x\n",
        "",
        " x",
        ".",
        "..",
        ".hidden",
        "-x",
        "a:b",
        "a\uff1ab",
        "x" * 300,
        "a\x00b",
        "tab\there",
        "q?",
        "a\u2028b",
        "é" * 130,
    ],
)
def test_hostile_names_are_refused(name: str, tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"ok": GOOD, name: GOOD}), "utf-8")
    result = cli("import", "in.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 2, result.stderr
    assert len(result.stderr.splitlines()) == 2 and result.stderr.startswith("error: the agents are not valid: ")
    assert files_below(tmp_path) == ["in.json"]  # nothing written, not even the ok agent


def test_a_lone_surrogate_is_refused(tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "in.json").write_text(
        '{"a\\ud800": {"description": "d", "prompt": "p"}, "b": {"description": "\\udfff", "prompt": "p"}}'
    )
    result = cli("import", "in.json", "--into", "out", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    assert "not valid Unicode" in result.json()["error"]["message"]
    assert files_below(tmp_path) == ["in.json"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('{"a": NaN}', "is not valid JSON"),
        ("[" * 100_000, "nests too deep"),
        ("1" * 5000, "is not valid JSON"),
        ("[]", "expected a JSON object of agents, not an array"),
        ('"x"', "not a string"),
        ('{"a": []}', "a: expected an object, not an array"),
        ('{"a": {"prompt": "p"}}', "a.description: missing"),
        ('{"a": {"description": "d"}}', "a.prompt: missing"),
        ('{"a": {"description": "", "prompt": "p"}}', "a.description: expected a non-empty string"),
        ('{"a": {"description": "d", "prompt": "p", "tools": "Read"}}', "a.tools: expected a list of strings"),
        ('{"a": {"description": "d", "prompt": "p", "tools": null}}', "not null"),
        ('{"a": {"description": "d", "prompt": "p", "maxTurns": 0}}', "a.maxTurns: expected a positive integer"),
        ('{"a": {"description": "d", "prompt": "p", "effort": "loud"}}', "a.effort"),
        ('{"a": {"description": "d", "prompt": "p", "hooks": {"Bogus": []}}}', "'Bogus' is not a hook event"),
        ('{"a": {"description": "d", "prompt": "p", "mcpServers": [{"s": {"url": 1}}]}}', "needs a `command`"),
        ('{"a": {"description": "d", "prompt": "p", "hooks": {"Stop": ' + "[" * 200 + "]" * 200 + "}}}", "a.hooks"),
        ('{"a": {"description": "d", "prompt": "p", "skills": [' + "[" * 150 + "]" * 150 + "]}}", "a.skills"),
        (
            '{"a": {"description": "d", "prompt": "p", "hooks": {"Stop": [{"hooks": [{"type": "command", '
            '"command": "x", "extra": ' + '{"x": ' * 150 + "1" + "}" * 150 + "}]}]}}}",
            "a: nests deeper than 100 levels",
        ),
    ],
)
def test_bad_json_is_one_line_and_exit_2(text: str, message: str, tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "in.json").write_text(text, "utf-8")
    result = cli("import", "in.json", "--into", "out", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2, result.stderr
    assert message in result.json()["error"]["message"]
    assert result.stderr.count("\n") == 2  # error: and hint:
    assert files_below(tmp_path) == ["in.json"]


def test_an_import_writes_at_most_a_thousand_agents(tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "in.json").write_text(json.dumps({f"a{index}": GOOD for index in range(1001)}))
    result = cli("import", "in.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 2 and "1,001 agents are more than one import writes (1,000)" in result.stderr
    assert files_below(tmp_path) == ["in.json"]


def test_the_input_is_read_bounded(tmp_path: Path, cli: RunCli) -> None:
    with (tmp_path / "big.json").open("wb") as stream:
        stream.truncate(64 * 1024 * 1024)  # sparse: never read past the limit
    result = cli("import", "big.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 2 and "larger than 8 MiB" in result.stderr
    os.mkfifo(tmp_path / "fifo.json")
    assert cli("import", "fifo.json", "--into", "out", cwd=tmp_path).exit_code == 2  # without blocking
    assert cli("import", "missing.json", "--into", "out", cwd=tmp_path).exit_code == 2


def test_values_a_file_cannot_hold_are_refused(tmp_path: Path) -> None:
    agents = {
        "newline": {"description": "two\\nlines", "prompt": "p"},
        "spaced-skill": {"description": "d", "prompt": "p", "skills": ["two words"]},
    }
    with pytest.raises(UsageError) as raised:
        export.import_agents(agents, tmp_path / "out")
    message = raised.value.message
    assert "newline: a file would give Claude Code another description" in message
    assert "turns `\\n` in a file's description into a line break" in message
    assert "spaced-skill: a file would give Claude Code another skills" in message
    assert not (tmp_path / "out").exists()


def test_keys_claude_code_ignores_are_reported(tmp_path: Path, cli: RunCli) -> None:
    data = {"a": dict(GOOD, name="other", color="green", extra=1), "b": dict(GOOD, color="mauve")}
    (tmp_path / "in.json").write_text(json.dumps(data))
    result = cli("import", "in.json", "--into", "out", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.json()["ignored"] == ["a.name", "a.extra", "b.color"]
    assert result.json()["written"] == [{"agent": "a", "path": "out/a.md"}, {"agent": "b", "path": "out/b.md"}]
    assert "color: green\n" in (tmp_path / "out" / "a.md").read_text()  # a file keeps a colour Claude Code knows
    assert "color" not in (tmp_path / "out" / "b.md").read_text()


def test_import_from_stdin_into_the_team(shipped: Path, cli: RunCli) -> None:
    data = json.dumps({"helper": {"description": "Helps with chores.", "prompt": "You help.\n", "tools": ["Read"]}})
    result = cli("import", "-", cwd=shipped, stdin=data.encode())
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "wrote agents/helper.md\n1 agent imported into agents\n"
    text = (shipped / "agents" / "helper.md").read_text()
    assert text == "---\nname: helper\ndescription: Helps with chores.\ntools: Read\n---\n\nYou help.\n"


# --- import: never overwrite ---------------------------------------------------------------------


def test_an_existing_file_refuses_the_whole_import(tmp_path: Path, cli: RunCli) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.md").write_text("mine\n")
    (out / "c.md").symlink_to(tmp_path / "nowhere.md")  # a dangling link is a clash too
    (tmp_path / "in.json").write_text(json.dumps({"a": GOOD, "b": GOOD, "c": GOOD}))
    result = cli("import", "in.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 2
    assert "never overwrites an agent: 2 of the files exist in" in result.stderr and "b.md, c.md" in result.stderr
    assert (out / "b.md").read_text() == "mine\n" and not (out / "a.md").exists()
    assert not (tmp_path / "nowhere.md").exists()


def test_an_agent_defined_under_another_file_name_is_a_clash(tmp_path: Path, cli: RunCli) -> None:
    make_team(tmp_path, {"reviewer-v2.md": agent_text("reviewer")})
    (tmp_path / "in.json").write_text(json.dumps({"reviewer": GOOD}))
    result = cli("import", "in.json", cwd=tmp_path)
    assert result.exit_code == 2 and "'reviewer' is already defined in" in result.stderr
    assert files_below(tmp_path / "agents") == ["reviewer-v2.md"]


def test_names_that_differ_only_in_case_are_refused(tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"Reviewer": GOOD, "reviewer": GOOD}))
    result = cli("import", "in.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 2 and "same file where case does not count" in result.stderr


def test_a_refused_write_is_exit_1_and_a_bad_folder_exit_2(
    tmp_path: Path, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in.json").write_text(json.dumps({"a": GOOD, "b": GOOD}))
    (tmp_path / "file").write_text("")
    result = cli("import", "in.json", "--into", "file", cwd=tmp_path)
    assert result.exit_code == 2 and "cannot create" in result.stderr
    calls: list[Path] = []

    def disk_full_on_the_second(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        path.write_text(text)

    monkeypatch.setattr("agentctl.fsutil.atomic_create_text", disk_full_on_the_second)
    result = cli("import", "in.json", "--into", "out", cwd=tmp_path)
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "No space left on device; wrote" in result.stderr
    assert files_below(tmp_path / "out") == ["a.md"]


# --- the real binary -----------------------------------------------------------------------------


def predicted(folder: Path) -> list[str]:
    """The listing lines agentctl predicts for the agent files in `folder`."""
    team = load_team(load_settings(cwd=folder, root=folder.parent, overrides={"agents": folder.name}))
    kept: dict[str, str] = {}
    for agent in sorted(team.agents, key=lambda each: str(each.path)):
        verdict = agent.verdict
        if verdict.loads and verdict.name and verdict.description is not None:
            kept[verdict.name] = entry(verdict.name, verdict.description, verdict.tools_display)
    return list(kept.values())


@needs_claude
@pytest.mark.parametrize("folder", [pytest.param("shipped", id="shipped"), *FIXTURE_FOLDERS])
def test_claude_code_lists_every_exported_agent_as_predicted(folder: str, shipped: Path, tmp_path: Path) -> None:
    """The whole team's JSON, passed as a file (`claude -p --agents FILE`), as the binary takes it."""
    assert CLAUDE is not None
    agents_dir = shipped / "agents" if folder == "shipped" else FIXTURES / folder
    (tmp_path / "team.json").write_text(exported(agents_dir), "utf-8")
    listing = agent_listing(None, CLAUDE, ["--agents", str(tmp_path / "team.json")])
    missing, rest = unexplained(listing, predicted(agents_dir))
    assert missing == [], "agentctl exported agents that Claude Code did not list as predicted"
    assert rest == "", "Claude Code listed agents that agentctl did not export"


@needs_claude
def test_claude_code_takes_every_field_and_the_prompt_as_it_is(tmp_path: Path) -> None:
    """An entry with every field agentctl maps is accepted (one bad value would refuse them all), and
    `--agent NAME` runs with the exported prompt as its system prompt."""
    assert CLAUDE is not None
    agents = {
        "every-field": EVERY_FIELD_ENTRY,
        "reviewer": {"description": "Reviews.", "prompt": "Be kind.\n\nBe brief."},
    }
    (tmp_path / "agents.json").write_text(export.dumps(agents), "utf-8")
    arguments = ["--agents", str(tmp_path / "agents.json"), "--agent", "reviewer"]
    bodies = [json.loads(body) for body in recorded_requests(None, CLAUDE, arguments)]
    systems = [block.get("text") for body in bodies for block in body.get("system") or [] if isinstance(block, dict)]
    assert "Be kind.\n\nBe brief." in systems
    listing = agent_listing(None, CLAUDE, ["--agents", str(tmp_path / "agents.json")])
    assert "- every-field: Uses every field. (Tools: " in listing
