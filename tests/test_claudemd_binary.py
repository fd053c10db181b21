"""agentctl's reading of a project's instructions against what the real `claude -p` sends: the same
files (CLAUDE.md, .claude/CLAUDE.md, the rules, CLAUDE.local.md and what they import), in the same
order, with the same text, each as project or private instructions. Offline (a loopback Messages
API, HOME in tmp_path); skipped when no binary is installed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from agentctl import bounds
from agentctl.claudemd import Budget, note_file, project_instructions, with_imports
from agentctl.config import load_settings
from agentctl.prompts import PromptBuilder, _read_import, _read_top_note
from agentctl.team import load_team
from tests.claude_binary import find_claude
from tests.conftest import copy_shipped_team
from tests.messages_server import MessagesServer

CLAUDE = find_claude()
pytestmark = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install "agentctl[claude-code]"')

PROJECT = "project instructions, checked into the codebase"
LOCAL = "user's private project instructions, not checked in"
SECTION = re.compile(rf"^Contents of (.+?) \(({PROJECT}|{LOCAL})\):\n\n", re.M)
Sent = list[tuple[str, bool, str]]  # (path from the project, private, text)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def sent_by_claude(root: Path, home: Path) -> Sent:
    """The instruction files `claude -p` puts into its first request, in its order."""
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
    reminder = next((text for text in texts if "Contents of " in text), "")
    parts = SECTION.split(reminder.split("</system-reminder>")[0])[1:]
    return [
        (_relative(path, root), kind == LOCAL, text.strip())
        for path, kind, text in zip(parts[::3], parts[1::3], parts[2::3], strict=True)
    ]


def _relative(path: str, root: Path) -> str:
    return Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else path


def _texts(body: dict[str, object]) -> list[str]:
    found = []
    for message in body.get("messages", []):  # type: ignore[attr-defined]
        content = message["content"]
        blocks = content if isinstance(content, list) else [{"text": content}]
        found += [block.get("text", "") for block in blocks if isinstance(block, dict)]
    return found


def read_by_agentctl(root: Path, home: Path | None) -> Sent:
    budget = Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    notes = project_instructions(root, home, set(), _read_top_note, _read_import, budget)
    return [(note.path.relative_to(root).as_posix(), note.local, note.text.strip()) for note in notes]


def names(sent: Sent) -> list[str]:
    return [path for path, _, _ in sent]


# --- imports: the lexer's text tokens -------------------------------------------------------------------


def test_agentctl_expands_imports_as_claude_code_does(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    (root / "docs").mkdir(parents=True)
    home.mkdir()
    files = {
        "CLAUDE.md": (
            "# Root\nSee @docs/a.md for more.\nInline `@docs/inline.md`, ``x @docs/double.md``.\n"
            "```\n@docs/fenced.md\n```\n~~~\n@docs/tilde.md\n~~~\n\n    @docs/indented.md\n\n"
            f"<!-- @docs/comment.md -->\nHome @~/mine.md, absolute @{tmp_path}/outside.md and @{root}/docs/abs.md here.\n"
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
    write(root, files)
    (tmp_path / "outside.md").write_text("outside\n")
    (home / "mine.md").write_text("mine\n")
    (root / "docs" / "link.md").symlink_to(tmp_path / "outside.md")
    expected = read_by_agentctl(root, home)
    assert sent_by_claude(root, home) == expected
    assert " ".join(Path(path).name for path in names(expected)) == (
        "CLAUDE.md a.md b.md c.md d.md abs.md cyc1.md cyc2.md data.txt with space.md dup.md"
    )
    assert "comment" not in expected[0][2]  # the comment block is not sent


def test_emphasis_links_punctuation_headings_and_lists_import_as_claude_code_lexes_them(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    text = (
        "---\ntitle: notes\n---\n"
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
    files = {"CLAUDE.md": text} | {f"{name}.md": f"file {name}\n" for name in imported + never}
    files.update({name: f"punctuated {name}\n" for name in ["p1.md.", "p2.md,", "p3.md;"]})
    write(root, files)
    expected = read_by_agentctl(root, home)
    assert sent_by_claude(root, home) == expected
    # Emphasis, link text, a token's end and lists import; hrefs, alt text, definitions, HTML do not;
    # punctuation stays in the path (`p1.md.` has no text suffix). In a list item, the item's markdown
    # is scanned before its tokens: li2 (plain text) comes before li3 (in emphasis).
    assert [Path(path).stem for path in names(expected)[1:]] == imported
    assert expected[0][2].startswith("Star *@e1.md*")  # sent without its frontmatter


# --- CLAUDE.local.md --------------------------------------------------------------------------------------


def test_claude_local_md_comes_after_the_project_files_with_its_imports(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    write(
        root,
        {
            "CLAUDE.md": "root\n@shared.md\n",
            "CLAUDE.local.md": "mine\n@private.md\n@shared.md\n<!-- not sent -->\n",
            "shared.md": "shared\n",
            "private.md": "private\n",
            ".claude/CLAUDE.md": "dot claude\n",
            ".claude/CLAUDE.local.md": "never read\n",
            ".claude/rules/style.md": "a rule\n",
            "sub/CLAUDE.md": "loaded later, when Claude reads sub/\n",
        },
    )
    expected = read_by_agentctl(root, home)
    assert sent_by_claude(root, home) == expected
    assert expected == [
        ("CLAUDE.md", False, "root\n@shared.md"),
        ("shared.md", False, "shared"),
        (".claude/CLAUDE.md", False, "dot claude"),
        (".claude/rules/style.md", False, "a rule"),
        ("CLAUDE.local.md", True, "mine\n@private.md\n@shared.md"),
        ("private.md", True, "private"),
    ]


def test_claude_local_md_alone_is_loaded(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    write(root, {"CLAUDE.local.md": "only the private file\n"})
    assert (
        sent_by_claude(root, home)
        == read_by_agentctl(root, home)
        == [("CLAUDE.local.md", True, "only the private file")]
    )


# --- .claude/rules ---------------------------------------------------------------------------------------


def test_rules_without_a_scope_load_in_folder_order_with_their_imports(tmp_path: Path) -> None:
    root, home, outside = tmp_path / "project", tmp_path / "home", tmp_path / "outside"
    home.mkdir()
    write(outside, {"out.md": "outside the project\n", "dir/y.md": "in a folder outside\n"})
    rules = ".claude/rules/"
    write(
        root,
        {
            "CLAUDE.md": "root\n",
            rules + "plain.md": "plain rule\n@../../docs/imported.md\n",
            rules + "Upper.md": "upper case name\n",
            rules + "_under.md": "underscore\n",
            rules + "sub/nested.md": "a rule in a subfolder\n",
            rules + "sub/deeper/deep.md": "two folders down\n",
            rules + "scoped.md": "---\npaths: src/**/*.py\n---\nonly for python files\n@../../docs/of-scoped.md\n",
            rules + "scoped-list.md": '---\npaths:\n  - "**/*.ts"\n  - docs/**\n---\nonly for some files\n',
            rules + "two.md": '---\npaths: "**, src/**"\n---\none pattern is not everything\n',
            rules + "global.md": '---\npaths: "**"\n---\nevery file\n',
            rules + "global-slash.md": '---\npaths: "**/**"\n---\nevery file, spelt twice\n',
            rules + "global-braces.md": '---\npaths: "{**,**}"\n---\nevery file, in braces\n',
            rules + "empty-list.md": "---\npaths: []\n---\nno patterns\n",
            rules + "empty-string.md": '---\npaths: ""\n---\nan empty string\n',
            rules + "number.md": "---\npaths: 5\n---\na number is no pattern\n",
            rules + "invalid.md": "---\npaths: [unclosed\n---\nread again leniently: a string\n",
            rules + "other-keys.md": "---\ndescription: frontmatter without paths\n---\nno scope\n",
            rules + "imports-scoped.md": "imports a scoped file\n@../../docs/has-scope.md\n",
            rules + "empty.md": "\n",
            rules + "notes.txt": "not markdown\n",
            rules + "LOUD.MD": "not .md\n",
            rules + "dir.md/inner.md": "a folder named like a rule\n",
            "docs/imported.md": "imported by a rule\n",
            "docs/of-scoped.md": "imported by a scoped rule: loaded at start-up\n",
            "docs/has-scope.md": "---\npaths: lib/**\n---\nan import with a scope of its own\n",
            "inside/linked.md": "a rule linked from inside the project\n",
            "inside/dir/linked-dir.md": "a folder linked from inside the project\n",
        },
    )
    (root / rules / "link-in.md").symlink_to(root / "inside" / "linked.md")
    (root / rules / "dir-in").symlink_to(root / "inside" / "dir")
    (root / rules / "link-out.md").symlink_to(outside / "out.md")
    (root / rules / "dir-out").symlink_to(outside / "dir")
    (root / rules / "loop").symlink_to(root / rules)
    (root / rules / "dangling.md").symlink_to(root / "missing.md")
    os.mkfifo(root / rules / "fifo.md")
    expected = read_by_agentctl(root, home)
    assert sent_by_claude(root, home) == expected
    loaded = set(names(expected))
    assert loaded == {
        "CLAUDE.md",
        *(rules + name for name in ["plain.md", "Upper.md", "_under.md", "sub/nested.md", "sub/deeper/deep.md"]),
        *(rules + name for name in ["global.md", "global-slash.md", "global-braces.md", "empty-list.md"]),
        *(rules + name for name in ["empty-string.md", "number.md", "other-keys.md", "imports-scoped.md"]),
        rules + "dir.md/inner.md",
        "docs/imported.md",
        "docs/of-scoped.md",
        "inside/linked.md",
        "inside/dir/linked-dir.md",
    }
    position = names(expected).index
    assert position("docs/imported.md") == position(rules + "plain.md") + 1


def test_the_order_of_the_rules_is_the_folders_own(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    write(root, {f".claude/rules/r{number:02d}.md": f"rule {number}\n" for number in range(24)})
    listed = [name for name in os.listdir(root / ".claude" / "rules")]
    sent = sent_by_claude(root, home)
    assert sent == read_by_agentctl(root, home)
    assert names(sent) == [f".claude/rules/{name}" for name in listed]  # not sorted


# --- the team block: what an API call sees --------------------------------------------------------------


def test_the_team_block_carries_the_files_claude_code_loads_in_its_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    root = copy_shipped_team(tmp_path / "team")
    write(
        root,
        {
            "CLAUDE.md": "# Project\nStyle: **@docs/style.md**\n",
            "docs/style.md": "Use 4 spaces.\n",
            ".claude/rules/testing.md": "Run the tests.\n",
            ".claude/rules/python.md": "---\npaths: '**/*.py'\n---\nOnly for Python files.\n",
            "CLAUDE.local.md": "My own notes.\n<!-- a reminder to myself -->\n",
        },
    )
    sent = sent_by_claude(root, home)
    builder = PromptBuilder(load_team(load_settings(cwd=root, environ={})), None, home=home)
    blocks, _ = builder.system(builder.team.resolve("db-architect"), "a task")
    team_block = next(block.text for block in blocks if block.name == "team")
    sections = re.split(r"^## `(.+?)`\n\n", team_block, flags=re.M)[1:]
    carried = [(path, text.strip()) for path, text in zip(sections[::2], sections[1::2], strict=True)]
    carried = [(path, text) for path, text in carried if not path.endswith("team-protocol.md")]
    # The team block ends with the protocol's roster heading or the last note; compare the notes.
    assert [(path, text) for path, _, text in sent] == carried[: len(sent)]
    assert names(sent) == ["CLAUDE.md", "docs/style.md", ".claude/rules/testing.md", "CLAUDE.local.md"]


def test_with_imports_reads_a_note_as_claude_code_sends_it(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    write(root, {"CLAUDE.md": "---\nkey: value\n---\n<!-- comment -->\nText @a.md\n", "a.md": "a\n"})
    note = root / "CLAUDE.md"
    budget = Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    ours = with_imports(note_file(note, note.read_text(), 0), root, home, {note}, _read_import, budget)
    expected = [(found.path.relative_to(root).as_posix(), False, found.text.strip()) for found in ours]
    assert sent_by_claude(root, home) == expected == [("CLAUDE.md", False, "Text @a.md"), ("a.md", False, "a")]
