"""Renderers of a validation report: text, json, github, sarif.

Every --format value maps to exactly one renderer (a test walks the enum). The report goes to
stdout; for machine formats the one-line summary goes to stderr so stdout stays parseable.
"""

from __future__ import annotations

from collections.abc import Callable

from agentctl import __version__
from agentctl.cli import env as environment
from agentctl.cli.common import painter
from agentctl.validate.model import Diagnostic, FileReport, Report
from agentctl.validate.rules import RULES
from agentctl.views import report_json, summary_line

# ANSI styles; rich's per-line rendering costs ~0.5 ms a line, too slow for thousands of findings.


def render_report(report: Report, output: str, strict: bool) -> None:
    RENDERERS[output](report, strict)


def render_text(report: Report, strict: bool) -> None:
    """Findings grouped by file, one per line, hints below; coloured on a terminal only."""
    current = environment.current()
    paint = painter(current.colour)
    lines = []
    for file in report.files:
        if not file.diagnostics:
            continue
        # Agents are the common case; any other kind is named, as its rules differ.
        lines.append(paint("bold", file.display_path) + ("" if file.kind == "agent" else f" ({file.kind})"))
        for diagnostic in file.diagnostics:
            where = f"{diagnostic.line}:{diagnostic.column}"
            severity = paint(diagnostic.severity, f"{diagnostic.severity:<7}")
            lines.append(f"  {where:<8} {severity} {paint('dim', diagnostic.rule)}  {diagnostic.message}")
            if diagnostic.hint:
                lines.append(f"  {'':<8} {'':<7} {'':<5}  {paint('dim', 'hint: ' + diagnostic.hint)}")
    lines.append(summary_line(report, strict))
    current.out("\n".join(lines))


def render_json(report: Report, strict: bool) -> None:
    import json  # only JSON and SARIF reports pay for it

    current = environment.current()
    current.out_json(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    current.err(summary_line(report, strict))


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report, strict: bool) -> None:
    """GitHub Actions workflow commands: one annotation per finding."""
    current = environment.current()
    for file in report.files:
        for diagnostic in file.diagnostics:
            properties = (
                f"file={_escape_property(file.display_path)},line={diagnostic.line},col={diagnostic.column},"
                f"title={_escape_property(f'{diagnostic.rule} {RULES[diagnostic.rule].slug}')}"
            )
            message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
            current.out(f"::{_GITHUB_LEVEL[diagnostic.severity]} {properties}::{_escape_data(message)}")
    current.err(summary_line(report, strict))


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def report_sarif(report: Report) -> dict[str, object]:
    """SARIF 2.1.0, as GitHub code scanning and other viewers read it."""
    rule_ids = list(RULES)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "agentctl",
                        "version": __version__,
                        "informationUri": "https://github.com/agentctl/agentctl",
                        "rules": [_sarif_rule(rule_id) for rule_id in rule_ids],
                    }
                },
                "results": [
                    _sarif_result(file, diagnostic, rule_ids.index(diagnostic.rule))
                    for file in report.files
                    for diagnostic in file.diagnostics
                ],
            }
        ],
    }


def _sarif_rule(rule_id: str) -> dict[str, object]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"group": rule.group},
    }


def _sarif_result(file: FileReport, diagnostic: Diagnostic, index: int) -> dict[str, object]:
    text = diagnostic.message + (f" (hint: {diagnostic.hint})" if diagnostic.hint else "")
    return {
        "ruleId": diagnostic.rule,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[diagnostic.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(file.display_path)},
                    "region": {"startLine": diagnostic.line, "startColumn": diagnostic.column},
                }
            }
        ],
    }


def _uri(display_path: str) -> str:
    from pathlib import Path

    path = Path(display_path)
    return path.as_uri() if path.is_absolute() else display_path


def render_sarif(report: Report, strict: bool) -> None:
    import json

    current = environment.current()
    current.out_json(json.dumps(report_sarif(report), indent=2, ensure_ascii=False))
    current.err(summary_line(report, strict))


RENDERERS: dict[str, Callable[[Report, bool], None]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
