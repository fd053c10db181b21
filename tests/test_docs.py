"""The README and the pre-commit hooks say what the code does."""

from __future__ import annotations

import re

import yaml

from agentctl.validate.rules import RULES
from tests.conftest import REPO


def quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_quick_start_has_exactly_two_commands_install_and_run() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    assert commands[0].startswith("pip install .") and "agentctl dispatch" in commands[0]
    assert commands[0].endswith("--dry-run"), "the first command works on a fresh machine, without a key"
    assert commands[1].startswith("pip install") and commands[1].endswith("pytest")


def test_ci_runs_the_second_quick_start_command() -> None:
    script = (REPO / ".ci" / "run").read_text("utf-8")
    second = quick_start_commands()[1]
    assert 'pip install ".[test,claude-code]"' in script and script.rstrip().endswith("pytest")
    assert second == 'pip install ".[test,claude-code]" && pytest'


def test_readme_lists_every_rule_with_its_severity() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    for rule in RULES.values():
        assert f"| {rule.id} | {rule.severity} | {rule.slug} |" in readme, rule.id


def test_pre_commit_hooks_run_agentctl_on_agent_files() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert set(hooks) == {"agentctl-validate", "agentctl-fmt"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["entry"].split()[0] == "agentctl"
        pattern = re.compile(hook["files"])
        assert pattern.search("agents/db-architect.md") and pattern.search(".claude/agents/x.md")
        assert not pattern.search("README.md") and not pattern.search("agents/notes.txt")
