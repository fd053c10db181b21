"""The command line: parse options, make one core call, render, return an exit code.

This package alone imports typer and rich. `main` is the single error boundary:
AgentctlError prints `error: <message>` and its hint and exits with its code; anything else
is a bug, exits 3 with a pointer to --debug (or re-raises under --debug / AGENTCTL_DEBUG=1).
Ctrl-C exits 130 and SIGTERM 143, after whatever a run had was saved. With `--format json`, every
exit prints one JSON document on stdout: the command's own, or `{"version": 1, "error": {...}}`.
"""

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from agentctl import __version__
from agentctl.cli import env as environment
from agentctl.cli.env import Environment
from agentctl.errors import AgentctlError, ExitCode, Terminated, interruption_exit_code

APP_SETTINGS: dict[str, Any] = {
    "name": "agentctl",
    "help": "Check, run and remember a team of Claude Code agents.",
    "add_completion": False,
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
    "epilog": (
        "Exit codes: 0 success; 1 problems found (validate, fmt, lint) or a failed call handed back "
        "(dispatch); 2 bad usage or input; 3 a bug in agentctl; 4 the API failed (dispatch); 5 a limit "
        "stopped a run; 130 Ctrl-C; 143 SIGTERM. With --format json every exit prints one JSON document."
    ),
}
app = typer.Typer(**APP_SETTINGS)


class GlobalOptions:
    root: Path | None = None
    debug: bool = False


def _version_line() -> str:
    from agentctl.claude_code import CLAUDE_CODE_VERSION

    return f"agentctl {__version__} (models Claude Code {CLAUDE_CODE_VERSION})"


def _version(value: bool) -> None:
    if value:
        environment.current().out(_version_line())
        raise typer.Exit()


@app.callback()
def _global(
    root: Annotated[
        Path | None, typer.Option("--root", help="The team's root folder (default: found from the working directory).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    GlobalOptions.root = root
    GlobalOptions.debug = debug


# Each command's module, imported only when that command runs (or for --help): building every
# command costs typer ~15 ms and imports modules the command does not need.
COMMAND_MODULES = {
    "init": "agentctl.cli.init_cmd",
    "validate": "agentctl.cli.validate_cmd",
    "fmt": "agentctl.cli.fmt_cmd",
    "list": "agentctl.cli.agents_cmd",
    "show": "agentctl.cli.agents_cmd",
    "rules": "agentctl.cli.rules_cmd",
    "new": "agentctl.cli.new_cmd",
    "graph": "agentctl.cli.graph_cmd",
    "memory": "agentctl.cli.memory_cmd",
    "route": "agentctl.cli.route_cmd",
    "runs": "agentctl.cli.runs_cmd",
    "dispatch": "agentctl.cli.dispatch_cmd",
    "prompt": "agentctl.cli.prompt_cmd",
    "handoffs": "agentctl.cli.handoffs_cmd",
    "export": "agentctl.cli.export_cmd",
    "import": "agentctl.cli.export_cmd",
    "batch": "agentctl.cli.batch_cmd",
    "mcp": "agentctl.cli.mcp_cmd",
}
_registered: set[str] = set()


def _register(args: Sequence[str]) -> None:
    """Add the command named in `args` to the app; all of them when none is named."""
    import importlib

    named = next(
        (arg for index, arg in enumerate(args) if not arg.startswith("-") and args[index - 1 : index] != ["--root"]),
        None,
    )
    wanted = [COMMAND_MODULES[named]] if named in COMMAND_MODULES else list(dict.fromkeys(COMMAND_MODULES.values()))
    if not set(wanted) <= _registered and len(wanted) > 1:
        app.registered_commands.clear()  # re-add in the catalogue's order
        _registered.clear()
    for module_name in wanted:
        if module_name not in _registered:
            importlib.import_module(module_name).register(app)
            _registered.add(module_name)
    _add_exit_codes(app)


def _add_exit_codes(group: typer.Typer, prefix: str = "") -> None:
    """Each command's --help ends with what its exit codes mean (cli/exits.py)."""
    from agentctl.cli.exits import epilog

    for info in group.registered_commands:
        name = prefix + (info.name or "")
        info.epilog = info.epilog or epilog(name)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _add_exit_codes(sub.typer_instance, f"{prefix}{sub.name} ")


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run agentctl; return its exit code (never raises, except under --debug)."""
    if env is not None:
        environment.use(env)
    current = environment.current()
    args = _optional_values(list(sys.argv[1:] if argv is None else argv), current.cwd)
    debug = "--debug" in args or current.debug
    json_output = wants_json(args)
    if args[:1] == ["--version"]:  # answered before any command is built: typer need not build them
        current.out(_version_line())
        return ExitCode.OK
    try:
        with _sigterm_as_interrupt():
            _register(args)
            result = _invoke(args)
    except AgentctlError as error:
        return _fail(error.message, error.hint, error.exit_code, json_output)
    except typer.Exit as done:
        return done.exit_code
    except BrokenPipeError:  # `agentctl list | head -1`: the reader left; nothing to say to it
        _silence_stdout()
        return ExitCode.PROBLEMS
    except (typer.Abort, KeyboardInterrupt, EOFError) as stop:
        code = interruption_exit_code(stop)
        return _fail("terminated (SIGTERM)" if code == ExitCode.TERMINATED else "interrupted", None, code, json_output)
    except typer.TyperException as error:
        return _usage_error(error, json_output)
    except Exception as error:
        if debug:
            raise
        return _fail(
            f"internal error ({type(error).__name__}: {error}); this is a bug in agentctl",
            "run again with --debug (or AGENTCTL_DEBUG=1) for the traceback, and report it",
            ExitCode.INTERNAL,
            json_output,
        )
    return result if isinstance(result, int) else ExitCode.OK


def _invoke(args: list[str]) -> object:
    """Run the command as typer's `app()` would, but let KeyboardInterrupt (Ctrl-C, and SIGTERM's
    Terminated) reach this boundary: typer would turn it into a silent `return 130`."""
    import typer.main

    command = typer.main.get_command(_overview() if _asks_for_overview(args) else app)
    with command.make_context("agentctl", list(args)) as context:
        return command.invoke(context)


def _asks_for_overview(args: Sequence[str]) -> bool:
    """`agentctl` or `agentctl --help` (global options aside): only the list of commands is shown."""
    rest = [
        arg for index, arg in enumerate(args) if arg != "--debug" and "--root" not in (arg, *args[index - 1 : index])
    ]
    return [arg for arg in rest if not arg.startswith("--root=")] in ([], ["--help"], ["-h"])


def _overview() -> typer.Typer:
    """The app as `agentctl --help` shows it: every command and group with its help and no options.

    Typer builds every option of every command to show the list (40 ms, a third of a read-only
    command's start-up budget); the list needs only each command's name and help, taken here from
    the real commands."""
    overview = typer.Typer(**APP_SETTINGS)
    overview.callback()(_global)
    for info in app.registered_commands:
        overview.command(info.name, help=info.help or (info.callback.__doc__ if info.callback else None))(_nothing)
    for group in app.registered_groups:
        sub = typer.Typer(help=group.typer_instance.info.help if group.typer_instance else None)
        sub.command("-")(_nothing)  # a group needs a command to be a group; the list never shows it
        overview.add_typer(sub, name=group.name)
    return overview


def _nothing() -> None:
    """(never run: the overview only shows help)"""


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for `--format json` (any spelling typer accepts)."""
    for index, arg in enumerate(args):
        if arg in ("--format", "-f") and index + 1 < len(args) and args[index + 1].lower() == "json":
            return True
        if arg.lower() in ("--format=json", "-fjson"):
            return True
    return False


def _fail(message: str, hint: str | None, code: int, json_output: bool) -> int:
    """The one way an error leaves agentctl: `error:`/`hint:` lines on stderr, and the JSON error
    document on stdout when JSON was asked for and the command has not printed its own."""
    current = environment.current()
    current.err(f"error: {message}" if code not in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) else message)
    if hint:
        current.err(f"hint: {hint}")
    if json_output and not current.json_written:
        from agentctl.cli.common import write_json

        write_json({"error": {"message": message, "hint": hint, "exit_code": code}})
    return code


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises Terminated (a KeyboardInterrupt): runs are saved as on Ctrl-C, exit 143."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; in-process callers elsewhere keep theirs
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _usage_error(error: typer.TyperException, json_output: bool) -> int:
    current = environment.current()
    if type(error).__name__ == "NoArgsIsHelpError":  # bare `agentctl`: the help is the message
        current.out(error.format_message())
        return ExitCode.USAGE
    hint = "`agentctl --help` lists the commands; `agentctl COMMAND --help` their options"
    return _fail(error.format_message(), hint, ExitCode.USAGE, json_output)


# Options whose value may be left out, and the value they then take.
OPTIONAL_VALUES = {"--changed": "HEAD"}


def _optional_values(args: list[str], cwd: Path) -> list[str]:
    """`--changed` alone means `--changed=HEAD`; a following option or existing path is not its value."""
    result: list[str] = []
    for index, arg in enumerate(args):
        if arg in OPTIONAL_VALUES:
            following = args[index + 1] if index + 1 < len(args) else None
            if following is None or following.startswith("-") or (cwd / following).exists():
                result.append(f"{arg}={OPTIONAL_VALUES[arg]}")
                continue
        result.append(arg)
    return result
