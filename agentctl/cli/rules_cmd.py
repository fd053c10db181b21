"""agentctl rules: the catalogue of validate's rules."""

from __future__ import annotations

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, write_json
from agentctl.errors import ExitCode


def rules_command(output: FormatOption = DataFormat.text) -> int:
    """List every rule `agentctl validate` applies, with its id and severity."""
    from agentctl.validate.rules import RULES

    if output is DataFormat.json:
        write_json(
            {
                "rules": [
                    {"id": r.id, "name": r.slug, "severity": r.severity, "group": r.group, "summary": r.summary}
                    for r in RULES.values()
                ]
            }
        )
        return ExitCode.OK
    current = environment.current()
    for rule in RULES.values():
        current.out(f"{rule.id}  {rule.severity:<7}  {rule.slug:<26}  {rule.summary}")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("rules")(rules_command)
