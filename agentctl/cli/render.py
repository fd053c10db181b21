"""Renderers of a validation report: text, json, github, sarif.

Every --format value maps to exactly one renderer (a test walks the enum). The report goes to
stdout; for machine formats the one-line summary goes to stderr so stdout stays parseable.
"""

from __future__ import annotations

from collections.abc import Callable

from agentctl import __version__
from agentctl.cli import env as environment
from agentctl.cli.common import JSON_VERSION, painter
from agentctl.validate.model import Diagnostic, FileReport, Report
from agentctl.validate.rules import RULES

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
    lines.append(_summary_line(report, strict))
    current.out("\n".join(lines))


def _summary_line(report: Report, strict: bool) -> str:
    counts = report.summary()
    agents = sum(1 for file in report.files if file.kind == "agent")
    skipped = sum(1 for file in report.files if file.agent is not None and not file.agent.verdict.loads)
    verdict = "failed" if report.failed(strict) else "passed"
    return (
        f"{counts['files']} files checked ({agents} agents, {skipped} that Claude Code skips{_other_kinds(report)}): "
        f"{counts['errors']} errors, {counts['warnings']} warnings, {counts['infos']} infos; {verdict}"
        + (" (--strict)" if strict else "")
    )


# The kinds the summary counts besides agents, in the order a `.claude/` folder lists them.
_COUNTED_KINDS = (
    ("command", "commands"),
    ("skill", "skills"),
    ("skill-file", "skill files"),
    ("rule", "rules files"),
    ("output-style", "output styles"),
    ("agent-memory", "agent memory files"),
    ("claude-md", "CLAUDE.md files"),
)


def _other_kinds(report: Report) -> str:
    """`; 3 commands, 1 skills` for the files of `.claude/` that are not agents, if any."""
    counts = {kind: 0 for kind, _ in _COUNTED_KINDS}
    for file in report.files:
        if file.kind in counts:
            counts[file.kind] += 1
    parts = [f"{counts[kind]} {plural}" for kind, plural in _COUNTED_KINDS if counts[kind]]
    return "; " + ", ".join(parts) if parts else ""


def report_json(report: Report) -> dict[str, object]:
    """The stable JSON contract of DESIGN.md."""
    from agentctl.claude_code import CLAUDE_CODE_VERSION

    return {
        "version": JSON_VERSION,
        "claude_code_version": CLAUDE_CODE_VERSION,  # the release whose loader the verdicts model
        "files": [_file_json(file) for file in report.files],
        "summary": report.summary(),
    }


def _file_json(file: FileReport) -> dict[str, object]:
    entry: dict[str, object] = {"path": file.display_path, "kind": file.kind}
    if file.agent is not None:
        entry["claude_code"] = file.agent.verdict.to_json()
    entry["diagnostics"] = [diagnostic.to_json() for diagnostic in file.diagnostics]
    return entry


def render_json(report: Report, strict: bool) -> None:
    import json  # only JSON and SARIF reports pay for it

    current = environment.current()
    current.out_json(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    current.err(_summary_line(report, strict))


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
    current.err(_summary_line(report, strict))


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
    current.err(_summary_line(report, strict))


RENDERERS: dict[str, Callable[[Report, bool], None]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
