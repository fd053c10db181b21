"""Every command's --help says what its exit codes mean and lists the choices of its options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer.main
from typer._click.core import Command, Context
from typer._types import TyperChoice
from typer.core import TyperGroup

from agentctl.cli import _register, app
from agentctl.cli.exits import COMMANDS, EVERYWHERE
from tests.conftest import REPO, RunCli


def commands() -> Iterator[tuple[str, Command]]:
    _register([])  # every command, as `agentctl --help` registers them
    top = typer.main.get_command(app)
    assert isinstance(top, TyperGroup)
    for name, command in top.commands.items():
        if isinstance(command, TyperGroup):
            for sub, subcommand in command.commands.items():
                yield f"{name} {sub}", subcommand
        else:
            yield name, command


def help_text(path: str, command: Command) -> str:
    return command.get_help(Context(command, info_name=path))


def test_the_exit_code_table_names_exactly_the_commands() -> None:
    assert {path for path, _ in commands()} == set(COMMANDS)


@pytest.mark.parametrize(("path", "command"), list(commands()), ids=[path for path, _ in commands()])
def test_help_lists_exit_codes_and_choices(path: str, command: Command) -> None:
    text = " ".join(help_text(path, command).split())
    assert text.count("Exit codes:") == 1, path  # the table's line, not a second one in the docstring
    for code, meaning in (*COMMANDS[path], *EVERYWHERE):
        assert f"{code} {meaning}" in text, (path, code)
    for parameter in command.params:
        if isinstance(parameter.type, TyperChoice):
            shown = "|".join(str(choice) for choice in parameter.type.choices)
            assert shown in text, (path, parameter.name, shown)


def test_one_spelling_for_how_many_results() -> None:
    """route, memory search and runs list all take -n/--limit; none shows another spelling."""
    counted = {path: command for path, command in commands() if path in ("route", "memory search", "runs list")}
    for path, command in counted.items():
        shown = [
            option
            for parameter in command.params
            if not getattr(parameter, "hidden", False)
            for option in parameter.opts
        ]
        assert "--limit" in shown and "-n" in shown and "--top" not in shown, path


def test_the_old_top_still_works_with_a_warning(cli: RunCli) -> None:
    result = cli("route", "review the code", "--top", "1", "--root", str(REPO))
    assert result.exit_code == 0 and "--top is now -n/--limit" in result.stderr
    assert len([line for line in result.stdout.splitlines() if line.strip()]) == 2  # header and one agent


def test_every_format_option_lists_its_choices() -> None:
    for path, command in commands():
        for parameter in command.params:
            if "--format" in parameter.opts:
                assert isinstance(parameter.type, TyperChoice), path


def test_the_overview_lists_the_same_commands_as_the_full_app() -> None:
    """`agentctl --help` is built from a light copy of the app: the same lines as the real one."""
    from typer._click.core import Context as ClickContext

    from agentctl.cli import _overview

    _register([])
    full = typer.main.get_command(app)
    light = typer.main.get_command(_overview())
    assert light.get_help(ClickContext(light, info_name="agentctl")) == full.get_help(
        ClickContext(full, info_name="agentctl")
    )
