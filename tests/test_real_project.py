"""Every command on a project shaped like the ones people really have: a `.claude/` folder with
agents (and a README among them), commands, a skill with its files, rules, an output style, Claude
Code's own agent memory (project and local scope), a CLAUDE.md that imports another file, no roster;
a HOME with user agents, user-scope memory and an installed plugin; a plugin folder for
`--plugin-dir`. Nothing here was written for agentctl: it is what Claude Code's documentation tells
people to make. HOME is always a folder of tmp_path."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.claude_binary import agent_listing, find_claude, listed_entries
from tests.conftest import RunCli

REVIEWER = """---
name: code-reviewer
description: Reviews code changes for bugs, style and security. Use after writing or modifying code.
tools: Read, Grep, Glob
memory: project
---

You are a senior code reviewer. Check correctness first, then style.
"""
TEST_WRITER = """---
name: test-writer
description: Writes pytest tests for new or changed functions.
tools: Read, Write, Bash
memory: local
---

You write focused pytest tests.
"""
PLANNER = """---
name: planner
description: Breaks a feature request into steps and hands review to the code-reviewer agent.
model: opus
---

You plan features. When the plan is done, ask the code-reviewer agent to review it, and the
test-writer to write tests.
"""
FILES = {
    "project/CLAUDE.md": "# Shop\n\nA small web shop. See @docs/style.md for the house style.\n",
    "project/docs/style.md": "Use type hints everywhere. Prefer small functions.\n",
    "project/README.md": "# Shop\n\nA web shop.\n",
    "project/src/app.py": "print('hi')\n",
    "project/.claude/settings.json": json.dumps({"permissions": {"allow": ["Read"]}}),
    "project/.claude/agents/README.md": "# Our agents\n\nThree agents: code-reviewer, test-writer, planner.\n",
    "project/.claude/agents/code-reviewer.md": REVIEWER,
    "project/.claude/agents/test-writer.md": TEST_WRITER,
    "project/.claude/agents/planner.md": PLANNER,
    "project/.claude/commands/deploy.md": (
        "---\ndescription: Deploy the shop to staging\nallowed-tools: Bash(git push:*), Read\n---\n\n"
        "Deploy $ARGUMENTS to staging.\n"
    ),
    "project/.claude/commands/git/commit.md": "---\ndescription: Write a commit message\n---\n\nWrite one.\n",
    "project/.claude/skills/pdf/SKILL.md": (
        "---\nname: pdf\ndescription: Extract text and tables from PDF files.\n---\n\nUse pdfplumber. See reference.md.\n"
    ),
    "project/.claude/skills/pdf/reference.md": "# pdfplumber reference\n\nopen(), pages, extract_text().\n",
    "project/.claude/skills/pdf/scripts/extract.py": "print('x')\n",
    "project/.claude/rules/python.md": '---\npaths:\n  - "src/**/*.py"\n---\n\nUse type hints in Python code.\n',
    "project/.claude/output-styles/terse.md": "---\nname: Terse\ndescription: Short answers\n---\n\nBe brief.\n",
    "project/.claude/agent-memory/code-reviewer/MEMORY.md": (
        "# Code reviewer memory\n\n"
        "- The shop uses SQLAlchemy sessions per request; see [patterns](patterns.md).\n"
        "- Reviews must check index usage on orders queries.\n"
    ),
    "project/.claude/agent-memory/code-reviewer/patterns.md": (
        "# Patterns\n\nSessions are opened in middleware and closed at the end of the request.\n"
    ),
    "project/.claude/agent-memory-local/test-writer/MEMORY.md": (
        "# Test writer memory\n\n- Tests live in tests/ and use the `client` fixture.\n"
    ),
    "home/.claude/agents/personal.md": (
        "---\nname: personal\ndescription: My own helper for writing release notes.\nmemory: user\n---\n\nYou write notes.\n"
    ),
    "home/.claude/agents/code-reviewer.md": "---\nname: code-reviewer\ndescription: My personal reviewer.\n---\n\nReview.\n",
    "home/.claude/agent-memory/personal/MEMORY.md": "# Personal memory\n\n- Release notes list breaking changes first.\n",
    "plugin/.claude-plugin/plugin.json": json.dumps({"name": "shopkit", "version": "1.0.0"}),
    "plugin/agents/security.md": (
        "---\nname: security\ndescription: Audits the shop for security problems.\ntools: Read, Grep\n---\n\nAudit.\n"
    ),
    "plugin/agents/db/migrations.md": "---\ndescription: Reviews database migrations.\n---\n\nCheck migrations.\n",
    "plugin/commands/audit.md": "---\ndescription: Run a security audit\n---\n\nAudit the code.\n",
}


def installed_plugin(home: Path) -> None:
    """`changelog@tools`, installed from a marketplace on GitHub and enabled in the user's settings."""
    plugins = home / ".claude" / "plugins"
    files = {
        "cache/tools/changelog/2.0.0/.claude-plugin/plugin.json": json.dumps({"name": "changelog"}),
        "cache/tools/changelog/2.0.0/agents/writer.md": (
            "---\nname: writer\ndescription: Writes CHANGELOG entries.\n---\n\nWrite entries.\n"
        ),
        "marketplaces/tools/.claude-plugin/marketplace.json": json.dumps(
            {"name": "tools", "owner": {"name": "x"}, "plugins": [{"name": "changelog", "source": "./changelog"}]}
        ),
        "known_marketplaces.json": json.dumps(
            {
                "tools": {
                    "source": {"source": "github", "repo": "example/tools"},
                    "installLocation": str(plugins / "marketplaces" / "tools"),
                    "lastUpdated": "2026-11-01T00:00:00.000Z",
                }
            }
        ),
        "installed_plugins.json": json.dumps(
            {
                "version": 2,
                "plugins": {
                    "changelog@tools": [
                        {
                            "scope": "user",
                            "installPath": str(plugins / "cache/tools/changelog/2.0.0"),
                            "version": "2.0.0",
                        }
                    ]
                },
            }
        ),
    }
    for name, text in files.items():
        write(plugins / name, text)
    write(home / ".claude" / "settings.json", json.dumps({"enabledPlugins": {"changelog@tools": True}}))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    for name, text in FILES.items():
        write(tmp_path / name, text)
    installed_plugin(tmp_path / "home")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path / "project", check=True)
    env = {"HOME": str(tmp_path / "home"), "AGENTCTL_CLAUDE_MANAGED_DIR": str(tmp_path / "no-managed")}
    return tmp_path / "project", env


def diagnostics(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(file["path"], d["rule"]) for file in report["files"] for d in file["diagnostics"]}


def test_validate_checks_each_kind_of_file_by_its_own_rules(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    for args in ((), (".claude",)):
        result = cli("validate", *args, "--format", "json", cwd=root, env=env)
        assert result.exit_code == 0, result.stdout
        report = result.json()
        kinds = {file["path"]: file["kind"] for file in report["files"]}
        assert kinds[".claude/agents/code-reviewer.md"] == "agent"
        assert ".claude/agents/README.md" not in kinds or kinds[".claude/agents/README.md"] != "agent"
        assert kinds[".claude/commands/deploy.md"] == "command" and kinds[".claude/skills/pdf/SKILL.md"] == "skill"
        assert kinds[".claude/agent-memory/code-reviewer/MEMORY.md"] == "agent-memory"
        assert sum(kind == "agent" for kind in kinds.values()) == 3
        assert diagnostics(report) == {(".claude/agents/code-reviewer.md", "NM005")}  # it hides the user's
    quiet = cli("validate", "--no-user", "--strict", cwd=root, env=env)
    assert quiet.exit_code == 0, quiet.stdout


def test_list_and_show_say_where_every_agent_comes_from(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    rows = cli("list", "--plugin-dir", "../plugin", "--format", "json", cwd=root, env=env).json()["agents"]
    found = {(row["name"], row["source"], row["hidden_by"] is not None) for row in rows}
    assert found == {
        ("code-reviewer", "project", False),
        ("test-writer", "project", False),
        ("planner", "project", False),
        ("code-reviewer", "user", True),
        ("personal", "user", False),
        ("changelog:writer", "plugin", False),
        ("shopkit:security", "plugin", False),
        ("shopkit:db:migrations", "plugin", False),
    }
    reviewer = cli("show", "code-reviewer", "--format", "json", cwd=root, env=env).json()
    # memory: project gives a restricted tool list what the agent needs to keep its memory
    assert reviewer["claude_code"]["tools"] == ["Read", "Grep", "Glob", "Write", "Edit"]
    assert reviewer["hides"] == [env["HOME"] + "/.claude/agents/code-reviewer.md"]
    assert cli("show", "personal", "--format", "json", cwd=root, env=env).json()["source"] == "user"


def test_memory_reads_claude_codes_folders_at_every_scope(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    entries = cli("memory", "list", "--format", "json", cwd=root, env=env).json()["entries"]
    seen = {(entry["agent"], entry["scope"], Path(entry["path"]).name) for entry in entries}
    assert seen == {
        ("code-reviewer", "project", "MEMORY.md"),
        ("code-reviewer", "project", "patterns.md"),
        ("test-writer", "local", "MEMORY.md"),
        ("personal", "user", "MEMORY.md"),
    }
    assert cli("memory", "lint", cwd=root, env=env).exit_code == 0
    hits = cli("memory", "search", "session", "--format", "json", cwd=root, env=env).json()["hits"]
    assert hits and Path(hits[0]["path"]).name == "patterns.md"


def test_the_prompt_holds_what_claude_code_would_inject(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    prompt = cli("prompt", "code-reviewer", "--task", "Review the orders query", cwd=root, env=env).stdout
    assert "Reviews must check index usage on orders queries." in prompt  # its MEMORY.md
    assert "Use type hints everywhere." in prompt  # CLAUDE.md's @docs/style.md
    assert "**Planner** (`planner`)" in prompt  # the roster derived from the agent files
    assert ".claude/agent-memory/code-reviewer/" in prompt  # where its notes will be saved


def test_graph_route_export_and_fmt(project: tuple[Path, dict[str, str]], tmp_path: Path, cli: RunCli) -> None:
    root, env = project
    graph = cli("graph", "--format", "json", cwd=root, env=env).json()
    edges = {(edge["from"], edge["to"]) for edge in graph["edges"]}
    assert {("planner", "code-reviewer"), ("planner", "test-writer")} <= edges
    ranked = cli("route", "Review my change to the orders query", "--format", "json", cwd=root, env=env).json()
    assert ranked["ranking"][0]["agent"] == "code-reviewer"
    exported = cli("export", "-o", str(tmp_path / "team.json"), cwd=root, env=env)
    assert exported.exit_code == 0, exported.stderr
    assert set(json.loads((tmp_path / "team.json").read_text("utf-8"))) == {"code-reviewer", "test-writer", "planner"}
    assert cli("fmt", "--check", cwd=root, env=env).exit_code == 0


def test_dispatch_saves_notes_where_claude_code_reads_them(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    note = "## Memory Notes\n\n### orders-index\n```markdown\n# Orders index\n\n**Applies when:** orders queries\n\nUse the (customer_id, created_at) index.\n```\n"
    script = root.parent / "script.json"
    script.write_text(json.dumps({"code-reviewer": [f"Looks fine.\n\n{note}"]}), "utf-8")
    result = cli(
        "dispatch",
        "code-reviewer",
        "Review the orders query",
        "--script",
        str(script),
        "--format",
        "json",
        cwd=root,
        env=env,
    )
    assert result.exit_code == 0, result.stdout
    folder = root / ".claude" / "agent-memory" / "code-reviewer"
    assert "Use the (customer_id, created_at) index." in (folder / "orders-index.md").read_text("utf-8")
    assert "orders-index.md" in (folder / "MEMORY.md").read_text("utf-8")
    assert not (root / "agents-memory").exists()  # the dated store is not made for a native-memory agent


CLAUDE = find_claude()


@pytest.mark.claude_code
@pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk, or set CLAUDE_BIN")
def test_claude_code_loads_what_agentctl_lists(project: tuple[Path, dict[str, str]], cli: RunCli) -> None:
    root, env = project
    rows = cli("list", "--plugin-dir", "../plugin", "--format", "json", cwd=root, env=env).json()["agents"]
    kept = {
        row["name"]: (row["description"], row["claude_code"]["tools_display"]) for row in rows if not row["hidden_by"]
    }
    assert CLAUDE is not None
    listing = agent_listing(
        None, CLAUDE, ["--plugin-dir", str(root.parent / "plugin")], project=root, home=Path(env["HOME"])
    )
    assert listed_entries(listing, set(kept)) == kept
    assert "My personal reviewer." not in listing
