"""`agentctl validate` as CI and pre-commit run it: formats, exit codes, --strict, --changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.claude_code import CLAUDE_CODE_VERSION
from agentctl.cli.common import ReportFormat
from agentctl.cli.render import RENDERERS
from tests.conftest import RunCli, agent_text, git, make_team

BROKEN = "---\nname: broken\ndescription: Use this when: x\n<example>\nuser: hi\n</example>\n---\nBody.\n"
WARNED = agent_text("warned", extra="category: x\n")


def team(tmp_path: Path) -> Path:
    return make_team(tmp_path, {"good.md": agent_text("good"), "warned.md": WARNED})


def test_clean_team_exits_0_and_warnings_fail_only_under_strict(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path)
    assert cli("validate", cwd=root).exit_code == 0
    strict = cli("validate", "--strict", cwd=root)
    assert strict.exit_code == 1 and "passed" not in strict.stdout and "(--strict)" in strict.stdout


def test_errors_exit_1_and_are_grouped_by_file(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"broken.md": BROKEN, "good.md": agent_text("good")})
    result = cli("validate", cwd=root)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "agents/broken.md"
    assert lines[1].split()[:3] == ["3:1", "info", "CQ002"]  # findings in file order
    assert lines[3].split()[:3] == ["3:27", "error", "CC002"]
    assert lines[4].strip().startswith("hint: run `agentctl fmt`")
    assert "\x1b[" not in result.stdout  # no colour off a terminal


def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"broken.md": BROKEN})
    assert "\x1b[" in cli("validate", cwd=root, tty=True).stdout
    assert "\x1b[" not in cli("validate", cwd=root, tty=True, env={"NO_COLOR": "1"}).stdout


def test_json_contract(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"broken.md": BROKEN, "good.md": agent_text("good", extra="tools: Read, Grep\n")})
    (root / "agents-memory" / "good").mkdir()
    (root / "agents-memory" / "good" / "2026-01-05-note.md").write_text("# Note\n")
    result = cli("validate", "--format", "json", cwd=root)
    assert result.exit_code == 1
    data = result.json()
    assert set(data) == {"version", "claude_code_version", "files", "summary"} and data["version"] == 1
    assert data["claude_code_version"] == CLAUDE_CODE_VERSION
    by_path = {file["path"]: file for file in data["files"]}
    assert by_path["agents-memory/good/2026-01-05-note.md"] == {
        "path": "agents-memory/good/2026-01-05-note.md",
        "kind": "memory",
        "diagnostics": [],
    }
    good = by_path["agents/good.md"]
    assert good == {
        "path": "agents/good.md",
        "kind": "agent",
        "claude_code": {
            "loads": True,
            "reason": None,
            "name": "good",
            "description": "Reviews code for correctness.",
            "tools": ["Read", "Grep"],
            "disallowed_tools": None,
        },
        "diagnostics": [],
    }
    broken = by_path["agents/broken.md"]
    assert broken["claude_code"]["loads"] is False and broken["claude_code"]["reason"]
    assert set(broken["diagnostics"][0]) == {"rule", "severity", "line", "column", "message", "hint"}
    assert data["summary"] == {"files": 3, "errors": 1, "warnings": 0, "infos": 1}
    assert "failed" in result.stderr  # the summary goes to stderr, stdout stays JSON


def test_paths_outside_the_working_directory_are_absolute(tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "elsewhere").mkdir()
    agent = tmp_path / "elsewhere" / "a.md"
    agent.write_text(agent_text("a"))
    (tmp_path / "here").mkdir()
    data = cli("validate", str(agent), "--format", "json", cwd=tmp_path / "here").json()
    assert data["files"][0]["path"] == str(agent)


def test_github_annotations(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"broken.md": BROKEN})
    result = cli("validate", "--format", "github", cwd=root)
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations[1].startswith(
        "::error file=agents/broken.md,line=3,col=27,title=CC002 unparseable-frontmatter::"
    )
    assert "%0Ahint: " in annotations[1]  # the hint rides on an escaped newline
    assert any(line.startswith("::notice ") for line in annotations)  # infos are notices


def test_sarif_2_1_0(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"broken.md": BROKEN})
    sarif = cli("validate", "--format", "sarif", cwd=root).json()
    assert sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    result = next(r for r in run["results"] if r["ruleId"] == "CC002")
    assert rules[result["ruleIndex"]]["id"] == "CC002" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "agents/broken.md"}, "region": {"startLine": 3, "startColumn": 27}}


def test_every_format_has_a_renderer() -> None:
    assert set(RENDERERS) == {fmt.value for fmt in ReportFormat}


def test_bad_input_never_gives_a_traceback(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"good.md": agent_text("good")})
    (root / "agents" / "binary.md").write_bytes(b"\x00\x01\x02---\n")
    (root / "agents" / "latin1.md").write_bytes(b"---\nname: latin1\ndescription: caf\xe9\n---\nbody\n")
    (root / "agents" / "gone.md").symlink_to(root / "nowhere.md")
    result = cli("validate", "--format", "json", cwd=root)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    rules = {file["path"]: [d["rule"] for d in file["diagnostics"]] for file in result.json()["files"]}
    assert rules["agents/binary.md"] == ["CC010"]
    assert rules["agents/gone.md"] == ["CC010"]
    assert "CC011" in rules["agents/latin1.md"]
    assert rules["agents/good.md"] == []  # one broken file never stops the others


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("validate", "nope"), "no such file or directory"),
        (("validate", "--format", "xml"), "Invalid value"),
        (("validate", "agent.md", "--ignore", "XX999"), "unknown rule"),
        (("validate", "agent.md", "--select", "XX"), "unknown rule to select"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, cli: RunCli, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# Notes\n")
    (tmp_path / "agent.md").write_text(agent_text("agent"))
    result = cli(*args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("given", ["empty", "notes", "notes/README.md", ".claude/agents/README.md"])
def test_nothing_to_check_is_not_an_error(tmp_path: Path, cli: RunCli, given: str) -> None:
    """pre-commit passes every staged file its pattern matches: a README alone is nothing to check."""
    (tmp_path / "empty").mkdir()
    for readme in ("notes/README.md", ".claude/agents/README.md"):
        (tmp_path / readme).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / readme).write_text("# Notes\n\nNot an agent.\n")
    result = cli("validate", given, cwd=tmp_path)
    assert result.exit_code == 0 and "nothing to check" in result.stderr, result.stderr
    data = cli("validate", given, "--format", "json", cwd=tmp_path).json()
    assert data["summary"]["errors"] == 0 and all(file["kind"] != "agent" for file in data["files"])


def test_outside_a_team_without_paths_is_a_usage_error(tmp_path: Path, cli: RunCli) -> None:
    result = cli("validate", cwd=tmp_path)
    assert result.exit_code == 2 and "no agent team found" in result.stderr and "hint:" in result.stderr


def test_ignore_by_id_or_name(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path)
    assert cli("validate", "--strict", "--ignore", "FM001", cwd=root).exit_code == 0
    assert cli("validate", "--strict", "--ignore", "unknown-key", cwd=root).exit_code == 0
    assert cli("validate", "--strict", "--ignore", "fm001", cwd=root).exit_code == 0
    (root / "agentctl.toml").write_text('ignore = ["FM001"]\n')
    assert cli("validate", "--strict", cwd=root).exit_code == 0


def test_select_reports_only_the_chosen_rules(tmp_path: Path, cli: RunCli) -> None:
    """--select by id, name or family (as ruff's), --ignore over it, and the config's `select`."""
    root = make_team(tmp_path, {"broken.md": BROKEN, "warned.md": WARNED})

    def rules(*args: str) -> list[str]:
        data = cli("validate", "--format", "json", *args, cwd=root).json()
        return sorted(d["rule"] for file in data["files"] for d in file["diagnostics"])

    everything = rules()
    assert {"CC002", "CQ002", "FM001"} <= set(everything)
    assert rules("--select", "FM001") == ["FM001"]
    assert rules("--select", "unknown-key", "--select", "cc002") == ["CC002", "FM001"]
    assert rules("--select", "CQ") == [rule for rule in everything if rule.startswith("CQ")]
    assert rules("--select", "CC", "--ignore", "CC002") == [
        r for r in everything if r.startswith("CC") and r != "CC002"
    ]
    assert cli("validate", "--select", "FM001", cwd=root).exit_code == 0  # the errors are not selected
    (root / "agentctl.toml").write_text('select = ["FM"]\n')
    assert rules() == ["FM001"]
    assert rules("--select", "CC002") == ["CC002"]  # the command line's select replaces the config's


def test_changed_checks_only_files_changed_since_a_ref(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"old.md": agent_text("old", extra="category: x\n"), "kept.md": agent_text("kept")})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "team")
    (root / "agents" / "kept.md").write_text(agent_text("kept", extra="tools: Reed\n"))
    (root / "agents" / "new.md").write_text(agent_text("old"))  # untracked, and collides with old.md
    data = cli("validate", "--changed", "--format", "json", cwd=root).json()
    assert sorted(file["path"] for file in data["files"]) == ["agents/kept.md", "agents/new.md"]
    new = next(file for file in data["files"] if file["path"] == "agents/new.md")
    assert [d["rule"] for d in new["diagnostics"]] == ["NM003", "NM004"]  # compared with unchanged files too
    git(root, "add", ".")
    git(root, "commit", "-qm", "more")
    since_first = cli("validate", "--changed", "HEAD~1", "--format", "json", cwd=root).json()
    assert sorted(file["path"] for file in since_first["files"]) == ["agents/kept.md", "agents/new.md"]
    assert cli("validate", "--changed=HEAD", "--format", "json", cwd=root).json()["files"] == []


def test_changed_outside_git_or_with_a_bad_ref(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path)
    assert cli("validate", "--changed", cwd=root).exit_code == 2
    git(root, "init", "-q")
    result = cli("validate", "--changed", "no-such-ref", cwd=root)
    assert result.exit_code == 2 and "git does not know the revision 'no-such-ref'" in result.stderr


def test_checking_some_team_files_still_compares_names_with_the_rest(tmp_path: Path, cli: RunCli) -> None:
    """pre-commit passes only the staged files; a new one can still collide with an old one."""
    root = make_team(tmp_path, {"old.md": agent_text("reviewer"), "new.md": agent_text("reviewer")})
    data = cli("validate", "agents/new.md", "--format", "json", cwd=root).json()
    assert [file["path"] for file in data["files"]] == ["agents/new.md"]
    assert "agents/old.md" in data["files"][0]["diagnostics"][0]["message"]
