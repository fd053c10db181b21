"""Root discovery and settings, as DESIGN.md orders them: flag, env, config file, discovery."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


# --- ranges and hostile files (issue #10: every setting range-checked; a bad file is exit 2) ---------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[anthropic]\ntimeout = -1\n", "anthropic.timeout: Input should be greater than 0 (got -1)"),
        ("[anthropic]\ntimeout = 0\n", "anthropic.timeout: Input should be greater than 0 (got 0)"),
        (
            "[anthropic]\nmax_retries = -1\n",
            "anthropic.max_retries: Input should be greater than or equal to 0 (got -1)",
        ),
        ("[anthropic]\nmax_tokens = 0\n", "anthropic.max_tokens: Input should be greater than or equal to 1 (got 0)"),
        (
            "[anthropic]\nmax_retry_wait = -1.5\n",
            "anthropic.max_retry_wait: Input should be greater than or equal to 0",
        ),
        ("[dispatch]\nparallel = 0\n", "dispatch.parallel: Input should be greater than or equal to 1 (got 0)"),
        ("[dispatch]\nmax_depth = -1\n", "dispatch.max_depth: Input should be greater than or equal to 0 (got -1)"),
        ("[dispatch]\nmax_rounds = 0\n", "dispatch.max_rounds: Input should be greater than or equal to 1 (got 0)"),
        ("[dispatch]\nmax_calls = -3\n", "dispatch.max_calls: Input should be greater than or equal to 1 (got -3)"),
        ("[dispatch]\nmax_tokens = -1\n", "dispatch.max_tokens: Input should be greater than or equal to 1 (got -1)"),
        ("[dispatch]\nmax_cost = -0.5\n", "dispatch.max_cost: Input should be greater than 0 (got -0.5)"),
        ("[dispatch]\nmax_cost = nan\n", "dispatch.max_cost: Input should be a finite number (got nan)"),
        ("[dispatch]\nmax_cost = inf\n", "dispatch.max_cost: Input should be a finite number (got inf)"),
        ("[dispatch]\nmemory_budget = -1\n", "dispatch.memory_budget: Input should be greater than or equal to 0"),
        ("[dispatch]\ntimeout = 0\n", "dispatch.timeout: Input should be greater than 0 (got 0)"),
        ("[dispatch]\nparallel = true\n", "dispatch.parallel: Input should be a valid integer (got true)"),
        ('[prices."m-1"]\ninput = -1\noutput = 1\n', "prices.m-1.input: Input should be greater than or equal to 0"),
        (
            '[prices."m.1"]\ninput = 1\noutput = -inf\n',
            'prices."m.1".output: Input should be a finite number (got -inf)',
        ),
        ('[prices.""]\ninput = 1\noutput = 1\n', 'prices."": a model id is one word, not empty and without spaces'),
        ('[models]\ndefault = ""\n', "models.default: a model id is one word, not empty and without spaces (got '')"),
        ('[models]\nfast = "claude haiku"\n', "models.fast: a model id is one word"),
        ('agents = ""\n', "agents: a folder is a path relative to the root: not empty, without NUL characters"),
        ('memory = "a\\u0000b"\n', "memory: a folder is a path relative to the root"),
    ],
)
def test_every_setting_is_range_checked(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "agentctl.toml").write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path, environ={})
    assert problem in raised.value.message


def test_settings_within_their_ranges_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "agentctl.toml").write_text(
        "[anthropic]\nmax_tokens = 1\ntimeout = 30\nmax_retries = 0\nmax_retry_wait = 0\ncall_timeout = 60\n"
        "[dispatch]\nparallel = 1\nmax_depth = 0\nmax_rounds = 1\nmax_calls = 1\nmax_tokens = 1\n"
        "max_cost = 0.01\nmemory_budget = 0\ntimeout = 0.5\n"
        '[models]\ndefault = "claude-sonnet-4-5[1m]"\n[prices."claude-sonnet-4-5"]\ninput = 0\noutput = 15\n'
    )
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.anthropic["timeout"] == 30 and settings.dispatch["timeout"] == 0.5
    assert settings.prices == {"claude-sonnet-4-5": {"input": 0, "output": 15}}


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _sparse(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(2**31)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (_fifo, "agentctl.toml: cannot read: a FIFO, not a regular file"),
        (Path.mkdir, "agentctl.toml: cannot read: a directory, not a regular file"),
        (lambda path: path.symlink_to(path.name), "agentctl.toml: cannot read: Too many levels of symbolic links"),
        (_sparse, "agentctl.toml: cannot read: larger than 1 MiB"),
        (lambda path: path.write_bytes(b'agents = "x"\nmemory = "\xff"\n'), "agentctl.toml:2: not UTF-8 text"),
        (lambda path: path.write_text("x = " + "[" * 5000 + "]" * 5000), "nested more than 100 levels deep"),
        (lambda path: path.write_text("x = " + "{a = " * 3000 + "1" + "}" * 3000), "nested more than 100 levels"),
        (lambda path: path.write_text("x = " + "[" * 101 + "]" * 101), "nested more than 100 levels deep"),
    ],
    ids=["fifo", "directory", "loop", "too-large", "not-utf8", "deep-arrays", "deep-tables", "just-over"],
)
def test_a_config_file_that_cannot_be_read_is_a_config_error(tmp_path: Path, make: Any, problem: str) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")})
    make(tmp_path / "agentctl.toml")
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path, environ={})
    assert problem in raised.value.message


def test_a_pyproject_over_the_limit_is_a_config_error_not_a_read(tmp_path: Path, cli: RunCli) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")})
    _sparse(tmp_path / "pyproject.toml")
    result = cli("list", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.json()["error"]["message"].endswith("pyproject.toml: cannot read: larger than 1 MiB")


def test_config_nested_within_the_budget_reaches_the_schema(tmp_path: Path) -> None:
    (tmp_path / "agentctl.toml").write_text("x = " + "[" * 99 + "]" * 99)
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path, environ={})
    assert "x: unknown key" in raised.value.message


def test_folders_that_are_symlink_loops_are_usage_errors(tmp_path: Path, cli: RunCli) -> None:
    """Path.resolve raises RuntimeError on a loop (Python < 3.13): settings must not call it."""
    make_team(tmp_path, {"a.md": agent_text("a")})
    (tmp_path / "loop").symlink_to("loop")
    result = cli("list", cwd=tmp_path, env={"AGENTCTL_AGENTS_DIR": "loop"})
    assert result.exit_code == 2 and result.stderr.startswith(f"error: the agents folder {tmp_path / 'loop'} ")
    result = cli("list", "--root", "loop", cwd=tmp_path)
    assert result.exit_code == 2 and "--root points to" in result.stderr


@pytest.mark.parametrize(
    "key", ["max_depth", "max_rounds", "max_calls", "max_tokens", "max_cost", "parallel", "timeout"]
)
def test_the_config_file_and_the_flags_agree_on_each_limit(tmp_path: Path, key: str) -> None:
    """A [dispatch] limit is refused in agentctl.toml exactly where the flag is refused."""
    from agentctl.dispatch import LIMIT_RULES, check_limit
    from agentctl.errors import UsageError

    whole, lowest, _ = LIMIT_RULES[key]
    for value in (lowest - 1, lowest, lowest + 1) if whole else (lowest - 0.5, lowest, lowest + 0.5):
        value = int(value) if whole else float(value)
        (tmp_path / "agentctl.toml").write_text(f"[dispatch]\n{key} = {value}\n")
        try:
            check_limit(key, value, key)
            flag_ok = True
        except UsageError:
            flag_ok = False
        try:
            load_settings(cwd=tmp_path, environ={})
            file_ok = True
        except ConfigError:
            file_ok = False
        assert file_ok == flag_ok, (key, value)


@pytest.mark.parametrize("key", ["max_tokens", "timeout", "max_retries", "max_retry_wait", "call_timeout"])
def test_the_config_file_and_the_provider_agree_on_each_anthropic_setting(tmp_path: Path, key: str) -> None:
    """An [anthropic] value is refused in agentctl.toml exactly where the provider refuses it (library
    callers pass settings straight to AnthropicConfig): at both ends of its range."""
    from agentctl.errors import UsageError
    from agentctl.providers.anthropic import SETTING_RULES, AnthropicConfig

    whole, lowest, highest, _ = SETTING_RULES[key]
    step = 1 if whole else 0.5
    for value in (lowest - step, lowest, lowest + step, highest, highest + step):
        (tmp_path / "agentctl.toml").write_text(f"[anthropic]\n{key} = {value}\n")
        try:
            AnthropicConfig.from_settings({key: value}, {})
            provider_ok = True
        except UsageError:
            provider_ok = False
        try:
            load_settings(cwd=tmp_path, environ={})
            file_ok = True
        except ConfigError:
            file_ok = False
        assert file_ok == provider_ok, (key, value)
