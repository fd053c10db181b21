"""What each command's exit codes mean: the `Exit codes:` line at the end of its --help.

One table for every command (tests/test_cli_help.py walks it against the commands typer knows).
Codes 2, 3, 130 and 143 mean the same everywhere (DESIGN.md, "Conventions users see") and are
added to every line; each command lists the codes of its own.
"""

from __future__ import annotations

EVERYWHERE = (
    (2, "bad usage or input"),
    (3, "a bug in agentctl"),
    (130, "Ctrl-C"),
    (143, "SIGTERM"),
)
_OK = ((0, "done"),)
_LOOKUP = ((0, "found"),)

COMMANDS: dict[str, tuple[tuple[int, str], ...]] = {
    "init": (
        (0, "written, or nothing to do"),
        (1, "a file differs from what init writes: nothing written (--force overwrites)"),
    ),
    "validate": ((0, "no errors (no warnings either, with --strict)"), (1, "errors found")),
    "fmt": ((0, "nothing left to do"), (1, "a file would change (--check) or could not be formatted")),
    "list": _OK,
    "show": _LOOKUP,
    "rules": _LOOKUP,
    "new": ((0, "written"),),
    "graph": _OK,
    "route": _OK,
    "prompt": _OK,
    "handoffs parse": ((0, "parsed"), (1, "the answer has problems (with --strict)")),
    "export": ((0, "written"),),
    "import": ((0, "written"), (1, "the file system refused a write")),
    "memory list": _OK,
    "memory show": _LOOKUP,
    "memory write": ((0, "written"), (1, "the file system refused the write")),
    "memory search": _OK,
    "memory lint": ((0, "no errors (no warnings either, with --strict)"), (1, "errors found")),
    "memory prune": _OK,
    "runs list": _OK,
    "runs show": _LOOKUP,
    "runs report": ((0, "written"),),
    "dispatch": (
        (0, "the run finished"),
        (1, "a call failed and was handed back"),
        (4, "the API failed the first agent, or refused the key"),
        (5, "a limit stopped the run (calls, cost, tokens, --timeout)"),
    ),
}
COMMANDS["runs resume"] = COMMANDS["dispatch"]
COMMANDS["mcp"] = ((0, "the client closed the connection"),)
COMMANDS["batch run"] = (
    (0, "every task finished"),
    (1, "a task failed (the others ran on)"),
    (4, "the API refused the key or a batch"),
    (5, "a limit stopped it: the batch's cost cap, or a task's own"),
)
COMMANDS["batch status"] = _LOOKUP
COMMANDS["batch results"] = _LOOKUP
COMMANDS["batch cancel"] = ((0, "asked"), (4, "the API refused"))


def epilog(command: str) -> str:
    """`Exit codes: 0 ...; 1 ...; 2 ...` for `command` (its words, e.g. "memory prune")."""
    codes = (*COMMANDS.get(command, _OK), *EVERYWHERE)
    return "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in codes) + "."
