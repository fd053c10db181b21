"""agentctl's expansion of CLAUDE.md imports against what the real `claude -p` sends: the same files,
in the same order, with the same text. Offline (a loopback Messages API, HOME in tmp_path); skipped
when no binary is installed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from agentctl import bounds
from agentctl.claudemd import Budget, NoteFile, with_imports
from agentctl.prompts import _read_import
from tests.claude_binary import find_claude
from tests.messages_server import MessagesServer

CLAUDE = find_claude()
pytestmark = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install "agentctl[claude-code]"')

COMMENT = "<!-- @docs/comment.md -->\n"
SECTION = re.compile(r"^Contents of (.+?) \(project instructions, checked into the codebase\):\n\n", re.M)


def project(tmp_path: Path) -> tuple[Path, Path]:
    root, home = tmp_path / "project", tmp_path / "home"
    (root / "docs").mkdir(parents=True)
    home.mkdir()
    files = {
        "CLAUDE.md": (
            "# Root\nSee @docs/a.md for more.\nInline `@docs/inline.md`, ``x @docs/double.md``.\n"
            "```\n@docs/fenced.md\n```\n~~~\n@docs/tilde.md\n~~~\n\n    @docs/indented.md\n\n"
            f"{COMMENT}Home @~/mine.md, absolute @{tmp_path}/outside.md and @{root}/docs/abs.md here.\n"
            "Missing @missing.md. Up @../outside.md. Punct @docs/punct.md. mail@docs/mail.md (@docs/paren.md)\n"
            "Cycle @docs/cyc1.md and text @docs/data.txt and binary @docs/pic.png, escaped @docs/with\\ space.md#frag\n"
            "Empty @docs/empty.md, link @docs/link.md, twice @docs/dup.md @docs/dup.md, folder @docs\n"
        ),
        "docs/cyc1.md": "one\n@cyc2.md\n",
        "docs/cyc2.md": "two\n@cyc1.md\n@../CLAUDE.md\n",
        "docs/empty.md": "\n",
    }
    for name in "abcdefg":
        files[f"docs/{name}.md"] = f"depth {name}\nnext @{chr(ord(name) + 1)}.md\n"
    for name in ["inline", "double", "fenced", "tilde", "indented", "comment", "abs", "punct", "dup"]:
        files[f"docs/{name}.md"] = f"file {name}\n"
    files.update({"docs/mail.md": "m\n", "docs/paren.md": "p\n", "docs/data.txt": "data\n", "docs/pic.png": "png\n"})
    files["docs/with space.md"] = "spaced\n"
    for name, text in files.items():
        (root / name).write_text(text)
    (tmp_path / "outside.md").write_text("outside\n")
    (home / "mine.md").write_text("mine\n")
    (root / "docs" / "link.md").symlink_to(tmp_path / "outside.md")
    return root, home


def sent_by_claude(root: Path, home: Path) -> list[tuple[str, str]]:
    assert CLAUDE is not None
    with MessagesServer(reply="ok") as server:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-loopback",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        subprocess.run([CLAUDE, "-p", "hi"], cwd=root, env=environ, capture_output=True, timeout=120, check=True)
        texts = [str(block) for request in server.requests for block in _texts(request.body)]
    reminder = next(text for text in texts if "Contents of " in text)
    reminder = reminder.split("</system-reminder>")[0]
    parts = SECTION.split(reminder)[1:]
    return [(path, text.strip()) for path, text in zip(parts[::2], parts[1::2], strict=True)]


def _texts(body: dict[str, object]) -> list[str]:
    found = []
    for message in body.get("messages", []):  # type: ignore[attr-defined]
        content = message["content"]
        blocks = content if isinstance(content, list) else [{"text": content}]
        found += [block.get("text", "") for block in blocks if isinstance(block, dict)]
    return found


def test_agentctl_expands_imports_as_claude_code_does(tmp_path: Path) -> None:
    root, home = project(tmp_path)
    note = root / "CLAUDE.md"
    budget = Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    ours = with_imports(NoteFile(note, note.read_text(), 0), root, home, {note}, _read_import, budget)
    # Claude Code also drops HTML comments from the text it sends; agentctl sends files as they are.
    expected = [(str(found.path), found.text.replace(COMMENT, "").strip()) for found in ours]
    assert sent_by_claude(root, home) == expected
    names = " ".join(Path(path).name for path, _ in expected)
    assert names == "CLAUDE.md a.md b.md c.md d.md abs.md cyc1.md cyc2.md data.txt with space.md dup.md"


def test_emphasis_links_punctuation_headings_and_lists_import_as_claude_code_lexes_them(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    text = (
        "Star *@e1.md* and **@e2.md** and _@e3.md_ and __@e4.md__, *see @e5.md*\n"
        "Link [x](@no-href.md) and [@l1.md](b) and ![@no-img.md](c) and [t](u 'title @no-title.md')\n"
        "Punct @p1.md. and @p2.md, and (@no-paren.md) and @p3.md; <br>@after-tag.md \\*@after-escape.md\n"
        "Ends @e6.md*x* and `code`@after-code.md\n"
        "# Heading @h1.md\n- list @li1.md\n- **@li3.md** @li2.md\n1. @li4.md\n"
        "- x ``y @li5.md ``\n\n"
        "[ref]: @no-def.md\n\n> quote @q1.md\nlazy @q2.md\n\n<div>\n@no-html.md\n</div>\n\n"
        "<!-- hidden --> @c1.md\n"
    )
    imported = ["e1", "e2", "e3", "e4", "e5", "l1", "after-tag", "after-escape", "e6", "after-code", "h1"]
    imported += ["li1", "li2", "li3", "li4", "li5", "q1", "q2", "c1"]
    never = ["no-href", "no-img", "no-title", "no-paren", "no-def", "no-html", "p1", "p2", "p3"]
    (root).mkdir()
    (root / "CLAUDE.md").write_text(text)
    for name in imported + never:
        (root / f"{name}.md").write_text(f"file {name}\n")
    for name in ["p1.md.", "p2.md,", "p3.md;"]:
        (root / name).write_text(f"punctuated {name}\n")
    note = root / "CLAUDE.md"
    budget = Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    ours = with_imports(NoteFile(note, text, 0), root, home, {note}, _read_import, budget)
    # Emphasis, link text, a token's end and lists import; hrefs, alt text, definitions, HTML do not;
    # punctuation stays in the path (`p1.md.` has no text suffix). In a list item, the item's markdown
    # is scanned before its tokens: li2 (plain text) comes before li3 (in emphasis).
    assert [path for path, _ in sent_by_claude(root, home)] == [str(found.path) for found in ours]
    assert [found.path.stem for found in ours[1:]] == imported
