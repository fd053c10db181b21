"""Where Claude Code reads agents: the team's (project) and $HOME/.claude/agents/ (user), and which
definition of a name wins. HOME is always a folder of tmp_path, never the real one."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.claude_binary import agent_listing, find_claude, listed_entries
from tests.conftest import RunCli, agent_text, make_team


def project_and_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A team with `twin` and `solo-project`; a HOME with `twin` and `solo-user`."""
    root = make_team(
        tmp_path / "team",
        {"twin.md": agent_text("twin", "PROJECT twin"), "solo-project.md": agent_text("solo-project", "PROJECT only")},
        layout="claude",
    )
    user = tmp_path / "home" / ".claude" / "agents"
    user.mkdir(parents=True)
    (user / "twin.md").write_text(agent_text("twin", "USER twin"), "utf-8")
    (user / "solo-user.md").write_text(agent_text("solo-user", "USER only"), "utf-8")
    return root, {"HOME": str(tmp_path / "home")}


def test_list_json_says_where_each_agent_comes_from_and_what_wins(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    rows = cli("list", "--format", "json", cwd=root, env=env).json()["agents"]
    found = {(row["name"], row["source"]): row for row in rows}
    assert set(found) == {("twin", "project"), ("solo-project", "project"), ("twin", "user"), ("solo-user", "user")}
    assert found["twin", "user"]["hidden_by"] == ".claude/agents/twin.md"
    assert found["twin", "user"]["path"] == str(tmp_path / "home" / ".claude" / "agents" / "twin.md")
    assert found["twin", "project"]["hidden_by"] is None and found["solo-user", "user"]["hidden_by"] is None
    assert [row["source"] for row in rows] == ["project", "project", "user", "user"]  # highest first


def test_list_text_has_a_source_column_with_the_user_level(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    lines = cli("list", cwd=root, env=env).stdout.splitlines()
    assert lines[0].split()[-1] == "source"
    assert any(line.startswith("twin") and "USER twin" in line and line.endswith("user, hidden") for line in lines)
    assert any(line.startswith("twin") and "PROJECT twin" in line and line.endswith("project") for line in lines)
    assert lines[-1].startswith("4 agents (2 project, 2 user, 1 hidden)")


def test_no_user_lists_the_team_alone(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    rows = cli("list", "--no-user", "--format", "json", cwd=root, env=env).json()["agents"]
    assert {row["source"] for row in rows} == {"project"} and len(rows) == 2
    lines = cli("list", "--no-user", cwd=root, env=env).stdout.splitlines()
    assert "source" not in lines[0] and lines[-1].startswith("2 agents")


def test_without_home_there_is_no_user_level(tmp_path: Path, cli: RunCli) -> None:
    root, _ = project_and_home(tmp_path)
    rows = cli("list", "--format", "json", cwd=root).json()["agents"]
    assert len(rows) == 2


def test_show_names_the_winner_and_reaches_user_agents(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    twin = cli("show", "twin", "--format", "json", cwd=root, env=env).json()
    assert twin["source"] == "project" and twin["description"] == "PROJECT twin"
    assert twin["hides"] == [str(tmp_path / "home" / ".claude" / "agents" / "twin.md")]
    solo = cli("show", "solo-user", "--format", "json", cwd=root, env=env).json()
    assert solo["source"] == "user" and solo["hidden_by"] is None and solo["hides"] == []
    text = cli("show", "twin", cwd=root, env=env).stdout
    assert "project, hides" in text
    gone = cli("show", "solo-user", "--no-user", cwd=root, env=env)
    assert gone.exit_code == 2


def test_validate_reports_a_hidden_user_agent_as_info(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    result = cli("validate", "--format", "json", cwd=root, env=env)
    assert result.exit_code == 0, result.stdout
    found = [(f["path"], d["rule"], d["severity"]) for f in result.json()["files"] for d in f["diagnostics"]]
    assert (".claude/agents/twin.md", "NM005", "info") in found
    assert not any(rule == "NM005" and "solo" in path for path, rule, _ in found)
    quiet = cli("validate", "--no-user", "--format", "json", cwd=root, env=env).json()
    assert not any(d["rule"] == "NM005" for f in quiet["files"] for d in f["diagnostics"])


def test_duplicates_in_one_scope_stay_errors(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    (root / ".claude" / "agents" / "twin-copy.md").write_text(agent_text("twin", "copy"), "utf-8")
    result = cli("validate", "--format", "json", cwd=root, env=env)
    assert result.exit_code == 1
    assert any(d["rule"] == "NM003" for f in result.json()["files"] for d in f["diagnostics"])


CLAUDE = find_claude()


@pytest.mark.claude_code
@pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk, or set CLAUDE_BIN")
def test_the_binary_prefers_the_project_agent(tmp_path: Path) -> None:
    root, env = project_and_home(tmp_path)
    assert CLAUDE is not None
    listing = agent_listing(root / ".claude" / "agents", CLAUDE, user_agents=Path(env["HOME"]) / ".claude" / "agents")
    assert "- twin: PROJECT twin" in listing and "USER twin" not in listing
    assert "- solo-user: USER only" in listing and "- solo-project: PROJECT only" in listing
    alone = agent_listing(
        root / ".claude" / "agents",
        CLAUDE,
        ["--setting-sources", "project,local"],
        user_agents=Path(env["HOME"]) / ".claude" / "agents",
    )
    assert "solo-user" not in alone  # what --no-user stands for


# --- every place Claude Code reads agents from ------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def every_place(tmp_path: Path) -> tuple[Path, dict[str, str], list[str]]:
    """A project, a HOME with user agents and an installed plugin, a `--agents` file and two
    `--plugin-dir` folders: (project root, environment, the flags that name the last two).

    reviewer: project and user (the project's wins); planner: `--agents` and project (`--agents`
    wins); Explore: the project's replaces the built-in one; plugin agents get scoped names."""
    root = make_team(
        tmp_path / "project",
        {
            "reviewer.md": agent_text("reviewer", "PROJECT reviewer"),
            "planner.md": agent_text("planner", "PROJECT planner"),
            "Explore.md": agent_text("Explore", "PROJECT explore"),
        },
        layout="claude",
    )
    home = tmp_path / "home"
    write(home / ".claude/agents/reviewer.md", agent_text("reviewer", "USER reviewer"))
    write(home / ".claude/agents/solo-user.md", agent_text("solo-user", "USER only", "tools: Read, Grep\n"))
    session = write(
        tmp_path / "session.json",
        json.dumps(
            {
                "planner": {"description": "CLI planner", "prompt": "You plan."},
                "cli-only": {"description": "CLI only", "prompt": "p", "tools": ["Read"]},
            }
        ),
    )
    kit = tmp_path / "kit-src"
    write(kit / ".claude-plugin/plugin.json", json.dumps({"name": "kit"}))
    write(kit / "agents/lint.md", agent_text("lint", "KIT lint", "tools: Read\nmemory: project\n"))
    write(kit / "agents/ops/deploy.md", "---\ntools: Bash\n---\nDeploy.\n")  # no name, no description
    write(kit / "agents/reviewer.md", agent_text("reviewer", "KIT reviewer", "permissionMode: plan\n"))
    write(kit / "agents/README.md", "# The kit's agents\n")  # the plugin loader takes it as an agent too
    more = tmp_path / "more"
    write(more / "a/.claude-plugin/plugin.json", json.dumps({"name": "alpha"}))
    write(more / "a/agents/x.md", agent_text("x", "ALPHA x"))
    write(more / "b/agents/y.md", agent_text("y", "B y: not loaded, b has no manifest"))
    # An installed plugin, from a marketplace in a GitHub repository: read from its install path.
    installed = home / ".claude/plugins/cache/market/inst/1.0.0"
    write(installed / ".claude-plugin/plugin.json", json.dumps({"name": "inst"}))
    write(installed / "agents/helper.md", agent_text("helper", "INSTALLED helper"))
    plugins = home / ".claude/plugins"
    entry = {"scope": "user", "installPath": str(installed), "version": "1.0.0"}
    source = {"source": "github", "repo": "example/market"}
    market = {"source": source, "installLocation": str(plugins / "marketplaces/market"), "lastUpdated": "2026-11-30"}
    listing = {"name": "market", "owner": {"name": "x"}, "plugins": [{"name": "inst", "source": "./inst"}]}
    write(plugins / "marketplaces/market/.claude-plugin/marketplace.json", json.dumps(listing))
    # One from a marketplace in a local folder: read where that folder has it, not from the cache.
    local = tmp_path / "local-market"
    write(
        local / ".claude-plugin/marketplace.json",
        json.dumps(dict(listing, plugins=[{"name": "near", "source": "./near"}])),
    )
    write(local / "near/agents/one.md", agent_text("one", "NEAR one"))
    write(plugins / "cache/local/near/1.0.0/agents/one.md", agent_text("one", "stale cache copy"))
    near = {"source": {"source": "directory", "path": str(local)}, "installLocation": str(local), "lastUpdated": "x"}
    write(plugins / "known_marketplaces.json", json.dumps({"market": market, "local": near}))
    near_entry = dict(entry, installPath=str(plugins / "cache/local/near/1.0.0"))
    installs = {"inst@market": [entry], "near@local": [near_entry]}
    write(plugins / "installed_plugins.json", json.dumps({"version": 2, "plugins": installs}))
    enabled = {"inst@market": True, "near@local": True}
    write(home / ".claude/settings.json", json.dumps({"enabledPlugins": enabled}))
    env = {"HOME": str(home), "AGENTCTL_CLAUDE_MANAGED_DIR": str(tmp_path / "managed")}
    return root, env, ["--agents", str(session), "--plugin-dir", str(kit), "--plugin-dir", str(more)]


def test_list_ranks_every_place_as_claude_code_does(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    rows = cli("list", "--format", "json", *flags, cwd=root, env=env).json()["agents"]
    kept = {row["name"]: row for row in rows if row["hidden_by"] is None}
    assert {name: row["source"] for name, row in kept.items()} == {
        "planner": "cli",
        "cli-only": "cli",
        "Explore": "project",
        "reviewer": "project",
        "solo-user": "user",
        "kit:lint": "plugin",
        "kit:ops:deploy": "plugin",
        "kit:reviewer": "plugin",
        "kit:README": "plugin",
        "alpha:x": "plugin",
        "inst:helper": "plugin",
        "near:one": "plugin",
    }
    hidden = {(row["name"], row["source"]): row["hidden_by"] for row in rows if row["hidden_by"]}
    assert hidden == {
        ("planner", "project"): f"{tmp_path}/session.json#planner",
        ("reviewer", "user"): ".claude/agents/reviewer.md",
    }
    assert kept["Explore"]["hides_builtin"] == "Explore"
    deploy = kept["kit:ops:deploy"]["claude_code"]
    assert deploy["description"] == "Agent from kit plugin" and deploy["tools"] == ["Bash"]
    assert kept["kit:lint"]["claude_code"]["tools"] == ["Read", "Write", "Edit"]  # memory: adds them
    assert kept["kit:reviewer"]["plugin"] == "kit" and kept["kit:reviewer"]["ignored_keys"] == ["permissionMode"]
    text = cli("list", *flags, cwd=root, env=env).stdout.splitlines()
    assert text[-1].startswith("14 agents (2 cli, 3 project, 2 user, 7 plugin, 2 hidden)")


def test_no_user_leaves_out_the_user_level_and_installed_plugins(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    rows = cli("list", "--no-user", "--format", "json", *flags, cwd=root, env=env).json()["agents"]
    names = {row["name"] for row in rows}
    assert "solo-user" not in names and "inst:helper" not in names and "kit:lint" in names


def test_a_managed_agent_wins_over_every_other_place(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    write(Path(env["AGENTCTL_CLAUDE_MANAGED_DIR"]) / ".claude/agents/planner.md", agent_text("planner", "MANAGED"))
    shown = cli("show", "planner", "--format", "json", *flags, cwd=root, env=env).json()
    assert shown["source"] == "managed" and shown["description"] == "MANAGED" and len(shown["hides"]) == 2
    result = cli("validate", "--format", "json", cwd=root, env=env)
    found = {(f["path"], d["rule"]) for f in result.json()["files"] for d in f["diagnostics"]}
    assert (".claude/agents/planner.md", "NM006") in found


def test_show_reaches_plugin_agents_by_their_scoped_name(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    text = cli("show", "kit:reviewer", *flags, cwd=root, env=env).stdout
    assert "plugin 'kit'" in text and "ignores its permissionMode" in text
    assert cli("show", "kit:reviewer", cwd=root, env=env).exit_code == 2  # without --plugin-dir


def test_validate_compares_the_team_with_the_other_places(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    result = cli("validate", "--format", "json", "--agents", flags[1], cwd=root, env=env)
    assert result.exit_code == 0, result.stdout
    found = {(f["path"], d["rule"], d["severity"]) for f in result.json()["files"] for d in f["diagnostics"]}
    assert {
        (".claude/agents/planner.md", "NM006", "warning"),
        (".claude/agents/reviewer.md", "NM005", "info"),
        (".claude/agents/Explore.md", "NM007", "info"),
    } <= found
    alone = cli("validate", "--format", "json", "--no-user", cwd=root, env=env).json()
    rules = {d["rule"] for f in alone["files"] for d in f["diagnostics"]}
    assert "NM005" not in rules and "NM006" not in rules and "NM007" in rules


def test_a_bad_agents_file_is_a_usage_error(tmp_path: Path, cli: RunCli) -> None:
    root, env, _ = every_place(tmp_path)
    bad = write(tmp_path / "bad.json", '{"x": {"prompt": "no description"}}')
    result = cli("list", "--agents", str(bad), "--format", "json", cwd=root, env=env)
    assert result.exit_code == 2 and "error" in result.json()


@pytest.mark.claude_code
@pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk, or set CLAUDE_BIN")
def test_the_binary_keeps_the_agents_agentctl_says_it_keeps(tmp_path: Path, cli: RunCli) -> None:
    root, env, flags = every_place(tmp_path)
    rows = cli("list", "--format", "json", *flags, cwd=root, env=env).json()["agents"]
    kept = {row["name"]: row for row in rows if row["hidden_by"] is None}
    assert CLAUDE is not None
    shutil.copytree(env["HOME"], tmp_path / "pristine-home")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    listing = agent_listing(None, CLAUDE, flags, project=root, home=Path(env["HOME"]))
    seen = listed_entries(listing, set(kept))
    expected = {name: (row["description"], row["claude_code"]["tools_display"]) for name, row in kept.items()}
    assert seen == expected
    assert "B y" not in listing and "USER reviewer" not in listing and "PROJECT planner" not in listing
    # A marketplace that no longer lists the plugin: Claude Code leaves it out, and agentctl, in a
    # HOME where Claude Code has not run yet (it keeps what it read before).
    fresh = tmp_path / "fresh-home"
    shutil.copytree(tmp_path / "pristine-home", fresh)
    known = fresh / ".claude/plugins/known_marketplaces.json"
    known.write_text(known.read_text("utf-8").replace(env["HOME"], str(fresh)), "utf-8")
    listing_file = fresh / ".claude/plugins/marketplaces/market/.claude-plugin/marketplace.json"
    listing_file.write_text(listing_file.read_text("utf-8").replace('"inst"', '"other"'), "utf-8")
    names = {
        row["name"]
        for row in cli("list", "--format", "json", cwd=root, env=env | {"HOME": str(fresh)}).json()["agents"]
    }
    assert "inst:helper" not in names
    assert "inst:helper" not in agent_listing(None, CLAUDE, [], project=root, home=fresh)


# --- validating a plugin ----------------------------------------------------------------------------


def test_validate_judges_a_plugins_agents_by_the_plugin_loader(tmp_path: Path, cli: RunCli) -> None:
    plugin = tmp_path / "shopkit"
    write(plugin / ".claude-plugin/plugin.json", json.dumps({"name": "shopkit"}))
    write(plugin / "agents/security.md", agent_text("security", "Audits the shop."))  # named like a document
    write(plugin / "agents/db/migrations.md", "---\ntools: Read\n---\nCheck migrations.\n")
    write(plugin / "agents/deployer.md", agent_text("deployer", "Deploys.", "permissionMode: plan\nhooks: {}\n"))
    write(plugin / "commands/audit.md", "---\ndescription: Run an audit\n---\nAudit.\n")
    result = cli("validate", str(plugin), "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stdout  # nothing the plugin loader refuses is an error
    files = {file["path"].removeprefix("shopkit/"): file for file in result.json()["files"]}
    assert {path: file["kind"] for path, file in files.items()} == {
        "agents/security.md": "agent",
        "agents/db/migrations.md": "agent",
        "agents/deployer.md": "agent",
        "commands/audit.md": "command",
    }
    migrations = files["agents/db/migrations.md"]
    assert migrations["claude_code"]["loads"] and migrations["claude_code"]["name"] == "shopkit:db:migrations"
    assert migrations["claude_code"]["description"] == "Agent from shopkit plugin"
    assert [d["rule"] for d in migrations["diagnostics"]] == ["PL001", "PL001"]  # no name, no description
    assert sorted(d["rule"] for d in files["agents/deployer.md"]["diagnostics"]) == ["PL002", "PL002"]
    assert files["agents/security.md"]["diagnostics"] == []


MANAGED_ROOTS = {
    "darwin": "/Library/Application Support/ClaudeCode",
    "linux": "/etc/claude-code",
    "win32": "C:\\Program Files\\ClaudeCode",
}


@functools.cache
def roots_the_binary_names(claude: str) -> frozenset[str]:
    """The managed roots the claude binary's text holds (one pass over its 400 MB for every case)."""
    import mmap

    with open(claude, "rb") as binary, mmap.mmap(binary.fileno(), 0, access=mmap.ACCESS_READ) as text:
        return frozenset(root for root in MANAGED_ROOTS.values() if text.find(root.encode()) != -1)


@pytest.mark.parametrize(("platform", "root"), MANAGED_ROOTS.items())
def test_managed_agents_are_looked_for_where_claude_code_looks(
    monkeypatch: pytest.MonkeyPatch, platform: str, root: str
) -> None:
    from agentctl import sources

    claude = find_claude()  # before sys.platform changes: shutil.which reads it
    monkeypatch.setattr(sources.sys, "platform", platform)
    assert sources._managed_root() == root
    monkeypatch.undo()
    if claude is None:
        pytest.skip('no claude binary: pip install ".[claude-code]"')
    assert root in roots_the_binary_names(claude), f"Claude Code {claude} does not name {root}"
