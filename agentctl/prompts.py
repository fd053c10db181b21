"""Prompts rendered from Jinja2 templates: fresh task, continuation, handoff brief, memory notes,
and the skeleton of a new agent file.

Templates come from the team's `templates/` folder when it has one (so a team can change its
prompts), else from the copies shipped inside the wheel. The environment is sandboxed and
undefined variables are errors (StrictUndefined): a prompt never silently loses a part.
jinja2 is imported here only, when something is rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.config import Settings
from agentctl.errors import AgentctlError, ExitCode

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = {
    "task": "task.md.j2",
    "continuation": "continuation.md.j2",
    "handoff": "handoff.md.j2",
    "memory_notes": "memory_notes.md.j2",
    "agent": "agent.md.j2",
}


class TemplateError(AgentctlError):
    """A template that does not parse, or asks for a value nobody gives it."""

    exit_code = ExitCode.USAGE


def packaged_templates() -> Path:
    """The templates shipped with agentctl: inside the wheel, or at the top of a source checkout."""
    inside = Path(__file__).parent / "templates"
    return inside if inside.is_dir() else Path(__file__).resolve().parent.parent / "templates"


def template_folders(settings: Settings | None = None) -> list[Path]:
    folders = []
    if settings is not None and settings.templates_dir.is_dir():
        folders.append(settings.templates_dir)
    packaged = packaged_templates()
    if packaged not in folders:
        folders.append(packaged)
    return folders


def environment(settings: Settings | None = None) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=FileSystemLoader([str(folder) for folder in template_folders(settings)]),
        undefined=StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(kind: str, context: dict[str, Any], settings: Settings | None = None) -> str:
    """Render one of TEMPLATES with `context`; problems become a TemplateError naming file:line."""
    import jinja2

    name = TEMPLATES[kind]
    try:
        return environment(settings).get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            f"{error.filename or name}:{error.lineno}: template syntax error: {error.message}",
            hint="fix the template, or delete it to use the one shipped with agentctl",
        ) from None
    except jinja2.UndefinedError as error:
        raise TemplateError(
            f"{name}: {error.message}",
            hint="the template uses a value agentctl does not provide; see the comment at its top",
        ) from None
    except jinja2.TemplateNotFound:
        raise TemplateError(f"template {name} not found in {', '.join(map(str, template_folders(settings)))}") from None
