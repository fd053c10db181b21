"""Root discovery and settings, as DESIGN.md orders them: flag, env, config file, discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.config import load_settings
from agentctl.errors import ConfigError, RootNotFoundError
from tests.conftest import RunCli, agent_text, make_team


def test_top_level_layout_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")})
    (tmp_path / "src" / "deep").mkdir(parents=True)
    settings = load_settings(cwd=tmp_path / "src" / "deep", environ={})
    assert settings.root == tmp_path and settings.layout == "top-level"
    assert settings.agents_dir == tmp_path / "agents" and settings.memory_dir == tmp_path / "agents-memory"


def test_claude_code_project_layout(tmp_path: Path) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")}, layout="claude")
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.layout == "claude"
    assert settings.agents_dir == tmp_path / ".claude" / "agents"
    assert settings.protocol_file == tmp_path / ".claude" / "agents-shared" / "team-protocol.md"


def test_a_bare_agents_folder_is_not_a_team(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    with pytest.raises(RootNotFoundError):
        load_settings(cwd=tmp_path, environ={})


def test_root_flag_beats_environment_beats_discovery(tmp_path: Path) -> None:
    found, from_env, from_flag = (make_team(tmp_path / name, {}) for name in ("found", "env", "flag"))
    assert load_settings(cwd=found, environ={}).root == found
    assert load_settings(cwd=found, environ={"AGENTCTL_ROOT": str(from_env)}).root == from_env
    assert load_settings(cwd=found, root=from_flag, environ={"AGENTCTL_ROOT": str(from_env)}).root == from_flag


def test_config_file_moves_directories_and_env_beats_it(tmp_path: Path) -> None:
    (tmp_path / "agentctl.toml").write_text('agents = "team/agents"\nmemory = "team/memory"\n')
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.agents_dir == tmp_path / "team" / "agents" and settings.memory_dir == tmp_path / "team" / "memory"
    assert settings.shared_dir == tmp_path / "agents-shared"  # unset keys keep their defaults
    overridden = load_settings(cwd=tmp_path, environ={"AGENTCTL_AGENTS_DIR": "elsewhere"})
    assert overridden.agents_dir == tmp_path / "elsewhere" and overridden.origins["agents"] == "AGENTCTL_AGENTS_DIR"


def test_pyproject_tool_section(tmp_path: Path) -> None:
    make_team(tmp_path, {})
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.agentctl]\nagents = "prompts"\n')
    assert load_settings(cwd=tmp_path, environ={}).agents_dir == tmp_path / "prompts"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("agents = 3\n", "agents: Input should be a valid string"),
        ('agentz = "x"\n', "agentz: unknown key"),
        ('layout = "flat"\n', "layout: Input should be 'top-level' or 'claude'"),
        ('agents = "x\n', "not valid TOML"),
    ],
)
def test_bad_config_says_which_field(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "agentctl.toml").write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path, environ={})
    assert problem in raised.value.message


def test_bad_config_is_a_usage_error_on_the_command_line(tmp_path: Path, cli: RunCli) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")})
    (tmp_path / "agentctl.toml").write_text('ignore = "FM001"\n')
    result = cli("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert (
        "agentctl.toml: invalid agentctl settings" in result.stderr
        and "ignore: Input should be a valid list" in result.stderr
    )


def test_root_that_is_not_a_directory(tmp_path: Path, cli: RunCli) -> None:
    result = cli("list", "--root", "missing", cwd=tmp_path)
    assert result.exit_code == 2 and "--root points to" in result.stderr
    result = cli("list", cwd=tmp_path, env={"AGENTCTL_ROOT": str(tmp_path / "nope")})
    assert result.exit_code == 2 and "AGENTCTL_ROOT points to" in result.stderr
