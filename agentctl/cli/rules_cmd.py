"""agentctl rules [RULE]: the catalogue of validate's rules, or one rule explained.

The explanations live in one data file shipped in the package, agentctl/data/rules.md: a
`## CC003 fallback-changes-meaning` section per rule, with the parts `### What it finds`, `### Why it
matters`, `### Example` (fenced agent files; the info string names the file's place in a team) and
`### How to fix`. Only `agentctl rules RULE` reads it, with a bounded read; the listing and every
other command never touch it. tests/test_rules_cli.py validates every example with agentctl.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, write_json
from agentctl.errors import AgentctlError, ExitCode
from agentctl.records import record

if TYPE_CHECKING:
    from agentctl.validate.model import Rule

EXPLANATIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "rules.md"
# The `### ` headings of a rule's section, and the keys they become in --format json.
PARTS = {"what it finds": "what", "why it matters": "why", "example": "example", "how to fix": "fix"}
UNCHECKED_MARKER = "<!-- example not checked:"
# What --format json and the text explain for each rule.
PART_TITLES = (("what", "What it finds"), ("why", "Why it matters"), ("example", "Example"), ("fix", "How to fix"))
_CONSEQUENCE = {
    "error": "`agentctl validate` exits 1",
    "warning": "`agentctl validate` exits 1 only with --strict",
    "info": "never changes `agentctl validate`'s exit code",
}


@record
class Explanation:
    """One rule explained, each part as markdown."""

    what: str = ""
    why: str = ""
    example: str = ""
    fix: str = ""
    unchecked: str | None = None  # why the tests cannot validate the example (an HTML comment in the file)

    def part(self, key: str) -> str:
        return str(getattr(self, key))


def rules_command(
    rule: Annotated[
        str | None,
        typer.Argument(
            metavar="[RULE]", help="A rule to explain: its id (CC003, any case) or its name (fallback-changes-meaning)."
        ),
    ] = None,
    output: FormatOption = DataFormat.text,
) -> int:
    """List every rule `agentctl validate` applies; with RULE, explain that one rule.

    One rule in full: what it finds, why it matters (what Claude Code does with such a file), an
    example that triggers it, and how to fix or silence it. An unknown rule names the closest
    ids and names.
    """
    if rule is None:
        return _list(output)
    from agentctl.validate.rules import rule_named

    found = rule_named(rule)
    explanation = read_explanations().get(found.id, Explanation())
    if output is DataFormat.json:
        write_json({"rule": rule_json(found, explanation)})
    else:
        environment.current().out(render(found, explanation))
    return ExitCode.OK


def _list(output: DataFormat) -> int:
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


def read_explanations() -> dict[str, Explanation]:
    """The shipped explanations by rule id (a missing file is a broken install: exit 3)."""
    from agentctl import bounds
    from agentctl.fsutil import read_bounded_text

    try:
        text = read_bounded_text(EXPLANATIONS_FILE, bounds.RULES_DOC_BYTES)
    except (OSError, UnicodeDecodeError) as error:
        raise AgentctlError(
            f"cannot read the rules' explanations {EXPLANATIONS_FILE}: {getattr(error, 'strerror', None) or error}",
            hint="reinstall agentctl",
            exit_code=ExitCode.INTERNAL,
        ) from None
    return parse_explanations(text)


def parse_explanations(text: str) -> dict[str, Explanation]:
    """Each `## ID name` section's four `### ` parts; a line-by-line pass, fences respected."""
    sections: dict[str, dict[str, list[str]]] = {}
    parts: dict[str, list[str]] | None = None
    lines: list[str] = []  # the part being read (a throw-away list outside any part)
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None and line.startswith("## "):
            parts = sections.setdefault(line[3:].split(" ", 1)[0].strip(), {})
            lines = []
        elif fence is None and line.startswith("### ") and parts is not None:
            lines = parts.setdefault(PARTS.get(line[4:].strip().lower(), "other"), [])
        else:
            lines.append(line)
        fence = _fence_after(line, fence)
    return {rule_id: _explanation(parts) for rule_id, parts in sections.items()}


def _fence_after(line: str, fence: str | None) -> str | None:
    """The open code fence after `line` (its backticks or tildes), None outside a code block."""
    stripped = line.strip()
    if fence is None:
        if stripped.startswith(("```", "~~~")):
            return stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]
        return None
    # A closing fence: the same character, at least as many, nothing else on the line.
    return None if stripped.startswith(fence) and not stripped.strip(fence[0]) else fence


def _explanation(parts: dict[str, list[str]]) -> Explanation:
    explanation = Explanation()
    for key, lines in parts.items():
        if key not in PARTS.values():
            continue
        kept = []
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("<!--") and stripped.endswith("-->"):  # notes for maintainers
                if stripped.startswith(UNCHECKED_MARKER):
                    explanation.unchecked = stripped[len(UNCHECKED_MARKER) : -3].strip()
                continue
            kept.append(line)
        setattr(explanation, key, "\n".join(kept).strip("\n"))
    return explanation


def silencing(rule: "Rule") -> str:
    return (
        f"To silence it: `agentctl validate --ignore {rule.id}` (or the name, `{rule.slug}`), or\n"
        f'`ignore = ["{rule.id}"]` in agentctl.toml (`[tool.agentctl]` in pyproject.toml).'
    )


def rule_json(rule: "Rule", explanation: Explanation) -> dict[str, object]:
    document: dict[str, object] = {
        "id": rule.id,
        "name": rule.slug,
        "severity": rule.severity,
        "group": rule.group,
        "summary": rule.summary,
    }
    for key, _ in PART_TITLES:
        document[key] = explanation.part(key)
    document["fix"] = "\n\n".join(part for part in (explanation.fix, silencing(rule)) if part)
    return document


def render(rule: "Rule", explanation: Explanation) -> str:
    """The rule as markdown text, as `ruff rule` prints one."""
    document = rule_json(rule, explanation)
    lines = [
        f"# {rule.id} {rule.slug}",
        "",
        f"{rule.summary}.",
        f"Severity: {rule.severity} ({_CONSEQUENCE.get(rule.severity, '')}). Group: {rule.group}.",
    ]
    for key, title in PART_TITLES:
        text = str(document[key]) or "(not written yet)"
        lines += ["", f"## {title}", "", text]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("rules")(rules_command)
