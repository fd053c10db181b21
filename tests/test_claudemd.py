"""A project's instructions as Claude Code loads them (agentctl/claudemd.py, agentctl/ccmarkdown.py):
which `@path` imports count (the markdown lexer's text tokens), in what order, what is skipped; the
rules of .claude/rules/ and CLAUDE.local.md; the text sent; the bounds and hostile files.
tests/test_claudemd_binary.py checks the same readings against the binary."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agentctl import bounds, ccmarkdown
from agentctl.claudemd import (
    IMPORT_DEPTH,
    Budget,
    has_scope,
    import_paths,
    is_text_file,
    note_file,
    path_patterns,
    project_instructions,
    rules,
    with_imports,
)
from agentctl.config import load_settings
from agentctl.prompts import PromptBuilder, _read_import, _read_top_note
from agentctl.team import load_team
from tests.conftest import copy_shipped_team


def imports(text: str, home: Path | None = Path("/home/u")) -> list[str]:
    return [str(path) for path in import_paths(text, Path("/p/docs"), home)]


def expand(root: Path, home: Path | None = None, budget: Budget | None = None) -> list[tuple[str, int]]:
    note = root / "CLAUDE.md"
    seen = {note}
    chosen = budget or Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    found = with_imports(note_file(note, note.read_text(), 0), root, home, seen, _read_import, chosen)
    return [(note.path.relative_to(root).as_posix(), note.depth) for note in found]


def loaded(root: Path, home: Path | None = None, budget: Budget | None = None) -> list[str]:
    """What agentctl reads of the project at `root`, as Claude Code would load it at start-up."""
    chosen = budget or Budget(bounds.PROJECT_IMPORT_CHARS, bounds.PROJECT_IMPORT_FILES)
    found = project_instructions(root, home, set(), _read_top_note, _read_import, chosen)
    return [note.path.relative_to(root).as_posix() + (" (local)" if note.local else "") for note in found]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_import_is_at_a_line_start_or_after_whitespace_relative_to_the_file() -> None:
    assert imports("@a.md see @b/c.md and @./d.md\n- @../e.md") == [
        "/p/docs/a.md",
        "/p/docs/b/c.md",
        "/p/docs/d.md",
        "/p/e.md",
    ]


def test_what_does_not_import() -> None:
    text = "mail foo@a.md (@b.md) @@c.md @#x @/ @*d.md @(e.md) @ f.md"
    assert imports(text) == []


def test_a_fragment_is_cut_an_escaped_space_is_a_space_and_duplicates_count_once() -> None:
    assert imports(r"@a.md#part @with\ space.md @a.md") == ["/p/docs/a.md", "/p/docs/with space.md"]


def test_home_and_absolute_paths_resolve_and_home_needs_a_home() -> None:
    assert imports("@~/notes.md @/etc/x.md") == ["/home/u/notes.md", "/etc/x.md"]
    assert imports("@~/notes.md", home=None) == []


@pytest.mark.parametrize(
    "text",
    [
        "`@a.md`",
        "``x @a.md ``",
        "```\n@a.md\n```",
        "~~~~ md\n@a.md\n~~~~",
        "```\nnever closed\n@a.md",
        "text\n\n    @a.md",
        "\t@a.md",
        "<!-- @a.md -->",
        "<!--\n@a.md\n-->",
        "<!-- never closed @a.md",
    ],
)
def test_code_and_comments_do_not_import(text: str) -> None:
    assert imports(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "`code`@a.md",  # a code span ends a piece of text: what follows starts one
        "`not closed @a.md",
        "```\ncode\n```\n@a.md",
        "~~~\n```\n~~~\n@a.md",  # a fence closes only with its own character
        "text\n    @a.md",  # an indented line inside a paragraph is text
        "<!-- x --> @a.md",
        "> @a.md",
        "# @a.md",
        "``` a`b\n@a.md",  # not a fence: a backtick fence's info has no backtick
    ],
)
def test_text_around_code_still_imports(text: str) -> None:
    assert imports(text) == ["/p/docs/a.md"]


def test_text_suffixes() -> None:
    assert all(is_text_file(Path(name)) for name in ["a.md", "a.TXT", "Makefile", ".env", "a.R"])
    assert not any(is_text_file(Path(name)) for name in ["a.png", "a.md.", "a.pdf", "x.bin"])


def test_imports_come_after_their_file_depth_first_to_the_depth_limit(tmp_path: Path) -> None:
    chain = {f"docs/{n}.md": f"{n}\n@{chr(ord(n) + 1)}.md\n" for n in "abcdefg"}
    write(tmp_path, {"CLAUDE.md": "root @docs/a.md @docs/z.md\n", **chain, "docs/z.md": "z\n"})
    deepest = [(f"docs/{n}.md", depth) for depth, n in enumerate("abcd", start=1)]
    assert expand(tmp_path) == [("CLAUDE.md", 0), *deepest, ("docs/z.md", 1)]
    assert len(deepest) + 1 == IMPORT_DEPTH


def test_a_cycle_ends_where_it_closes_and_a_file_comes_once(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@a.md @b.md @a.md\n", "a.md": "@b.md\n", "b.md": "@a.md\n@CLAUDE.md\n"})
    assert expand(tmp_path) == [("CLAUDE.md", 0), ("a.md", 1), ("b.md", 2)]


def test_missing_files_folders_binary_and_empty_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@gone.md @sub @pic.png @empty.md @ok\n", "sub/x.md": "x", "pic.png": "p"})
    write(tmp_path, {"empty.md": "  \n", "ok": "no suffix is text\n"})
    assert expand(tmp_path) == [("CLAUDE.md", 0), ("ok", 1)]


def test_nothing_outside_the_project_by_path_home_or_symlink(tmp_path: Path) -> None:
    root, home = tmp_path / "project", tmp_path / "home"
    write(home, {"mine.md": "private\n"})
    write(tmp_path, {"outside.md": "outside\n"})
    write(root, {"CLAUDE.md": f"@~/mine.md @{tmp_path}/outside.md @../outside.md @link.md @{root}/in.md\n"})
    write(root, {"in.md": "inside, by an absolute path\n"})
    (root / "link.md").symlink_to(tmp_path / "outside.md")
    assert expand(root, home=home) == [("CLAUDE.md", 0), ("in.md", 1)]


def test_home_inside_the_project_is_read(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@~/docs/a.md\n", "docs/a.md": "a\n"})
    assert expand(tmp_path, home=tmp_path) == [("CLAUDE.md", 0), ("docs/a.md", 1)]


def test_the_budget_cuts_the_text_and_then_stops(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@a.md @b.md\n", "a.md": "a" * 100, "b.md": "b\n"})
    budget = Budget(chars=40, files=10)
    note = tmp_path / "CLAUDE.md"
    found = with_imports(note_file(note, note.read_text(), 0), tmp_path, None, {note}, _read_import, budget)
    assert [n.path.name for n in found] == ["CLAUDE.md", "a.md"]
    assert found[1].text.startswith("a" * 40 + "\n\n[cut here: the project notes reached agentctl's budget]")


def test_the_file_count_bounds_what_a_hostile_note_makes_agentctl_look_at(tmp_path: Path) -> None:
    many = " ".join(f"@n{i}.md" for i in range(10_000))
    write(tmp_path, {"CLAUDE.md": many + "\n", "n0.md": "first\n", "n5.md": "sixth\n"})
    assert expand(tmp_path, budget=Budget(chars=1000, files=3)) == [("CLAUDE.md", 0), ("n0.md", 1)]


def test_a_file_over_the_read_limit_is_skipped_as_claude_code_skips_it(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@big.md @small.md\n", "small.md": "small\n"})
    with (tmp_path / "big.md").open("wb") as handle:
        handle.truncate(bounds.PROTOCOL_BYTES + 1)
    assert expand(tmp_path) == [("CLAUDE.md", 0), ("small.md", 1)]


def test_a_fifo_import_does_not_hang(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": "@pipe.md @a.md\n", "a.md": "a\n"})
    os.mkfifo(tmp_path / "pipe.md")
    assert expand(tmp_path) == [("CLAUDE.md", 0), ("a.md", 1)]


def test_the_team_block_places_each_import_after_its_file(tmp_path: Path) -> None:
    copy_shipped_team(tmp_path)
    write(tmp_path, {"CLAUDE.md": "# Project\nSee @docs/style.md for style.\n", "docs/style.md": "Use 4 spaces.\n"})
    settings = load_settings(cwd=tmp_path, environ={})
    builder = PromptBuilder(load_team(settings), None)
    blocks, _ = builder.system(builder.team.resolve("db-architect"), "a task")
    team_block = next(block.text for block in blocks if block.name == "team")
    assert (
        "## `CLAUDE.md`\n\n# Project\nSee @docs/style.md for style.\n\n## `docs/style.md`\n\nUse 4 spaces."
        in team_block
    )


# --- what imports: the text tokens of Claude Code's markdown lexer ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*@a.md* **@b.md** _@c.md_ __@d.md__", ["a.md", "b.md", "c.md", "d.md"]),
        ("*see @a.md* and **Important: @b.md**", ["a.md", "b.md"]),  # the path ends with the text token
        ("[@a.md](x) [x](@b.md) ![@c.md](x) [x](y 'title @d.md')", ["a.md"]),  # link text only
        ("<br>@a.md \\*@b.md *x*@c.md `code`@d.md", ["a.md", "b.md", "c.md", "d.md"]),  # after a token
        ("@a.md*b* @b.md<br> @c.md[x](y)", ["a.md", "b.md", "c.md"]),  # up to the next token
        ("@a.md. @b.md, @c.md; (@d.md)", ["a.md.", "b.md,", "c.md;"]),  # punctuation is part of the path
        (
            "# Heading @a.md\n\n- item @b.md\n1. @c.md\n\n> quote @d.md\nlazy @e.md",
            ["a.md", "b.md", "c.md", "d.md", "e.md"],
        ),
        ("- **@a.md** @b.md", ["b.md", "a.md"]),  # a list item's markdown is scanned before its tokens
        ("- x ``y @a.md ``\n\nx ``y @b.md ``", ["a.md"]),  # ... so a code span with spaces imports there
        ("[x]: @a.md\n\n[@b.md][x]", ["b.md"]),  # a definition is no text; a reference's text is
        ("<div>\n@a.md\n</div>\n\n@b.md", ["b.md"]),  # an HTML block runs to a blank line
        ("<!-- x --> @a.md\n\ntext <!-- not closed @b.md", ["a.md", "b.md"]),
        ("<span>@a.md</span> <a href='@b.md'>x</a>", ["a.md"]),
    ],
)
def test_claude_code_imports_from_the_text_tokens_of_its_lexer(text: str, expected: list[str]) -> None:
    assert imports(text) == [f"/p/docs/{name}" for name in expected]


def test_the_texts_scanned_are_claude_codes_tokens_in_tree_order() -> None:
    assert ccmarkdown.scanned_texts("- a *b* c\n\n> q") == ["a *b* c", "a ", "b", " c", "q"]
    assert ccmarkdown.scanned_texts("```\n@x\n```\n    code\n\n<div>x</div>") == []


def test_a_note_is_sent_without_frontmatter_and_top_level_comment_blocks(tmp_path: Path) -> None:
    raw = "---\npaths: src/**\n---\n# Notes\r\n<!-- private -->\r\nkeep <!-- inline --> this\r\n<!-- x --> @a.md\r\n"
    note = note_file(tmp_path / "CLAUDE.md", raw, 0)
    assert note.text == "# Notes\nkeep <!-- inline --> this\n @a.md\n"  # line breaks become \\n when a block goes
    assert note.body is not None and note.body.startswith("# Notes\r\n<!-- private -->")
    assert not note.scoped  # a scope counts for rules only
    assert note_file(tmp_path / "a.md", "no comment\r\n", 0).text == "no comment\r\n"
    assert note_file(tmp_path / "a.md", "> <!-- nested -->\n", 0).text == "> <!-- nested -->\n"


@pytest.mark.parametrize(
    ("frontmatter", "scoped"),
    [
        ("paths: src/**/*.py", True),
        ('paths: "**, src/**"', True),
        ("paths:\n  - lib/**\n  - '**'", True),
        ("paths: '{src,lib}/**'", True),
        ("paths: [unclosed", True),  # read again leniently: the string "[unclosed"
        ("Paths: src/**", False),  # the key is `paths`
        ('paths: "**"', False),
        ('paths: "**/**"', False),
        ('paths: "/**"', False),  # cut to nothing
        ('paths: "{**,**}"', False),
        ("paths: []", False),
        ('paths: ""', False),
        ("paths:", False),
        ("paths: 5", False),
        ("paths: false", False),
        ("paths: {a: 1}", False),
        ("description: no paths", False),
    ],
)
def test_a_rule_is_scoped_by_paths_patterns_that_are_not_all_everything(frontmatter: str, scoped: bool) -> None:
    assert has_scope(f"---\n{frontmatter}\n---\nbody\n") is scoped


def test_path_patterns_split_commas_outside_braces_and_expand_braces_within_bounds() -> None:
    assert path_patterns(["a, b", ["{c,d}/x"], 3, None]) == ["a", "b", "c/x", "d/x"]
    assert path_patterns("{a,b}{c,d}") == ["ac", "ad", "bc", "bd"]
    assert path_patterns("x{a,{b,c}}") == ["xa}", "xb", "xc}"]  # the first `}` closes, as in Claude Code
    assert path_patterns(["{}", "a{,b}", "{ a , b }x"]) == ["{}", "a", "ab", "ax", "bx"]
    many = "{" + ",".join(str(n) for n in range(40)) + "}"
    assert path_patterns(many * 2) == [many * 2]  # 1,600 patterns: over the bound, used as written


# --- what Claude Code loads: CLAUDE.md, .claude/CLAUDE.md, rules, CLAUDE.local.md --------------------------


def test_the_project_files_load_in_claude_codes_order_each_with_its_imports(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "CLAUDE.md": "root @shared.md\n",
            ".claude/CLAUDE.md": "dot claude\n",
            ".claude/rules/r.md": "rule @rule-import.md\n",
            "CLAUDE.local.md": "mine @private.md @shared.md\n",
            ".claude/CLAUDE.local.md": "not read\n",
            "sub/CLAUDE.md": "not at start-up\n",
            "shared.md": "s\n",
            "private.md": "p\n",
            ".claude/rules/rule-import.md": "imported by the rule, and a rule itself: once\n",
        },
    )
    assert loaded(tmp_path) == [
        "CLAUDE.md",
        "shared.md",
        ".claude/CLAUDE.md",
        ".claude/rules/r.md",
        ".claude/rules/rule-import.md",
        "CLAUDE.local.md (local)",
        "private.md (local)",
    ]


def test_an_empty_or_missing_note_is_left_out(tmp_path: Path) -> None:
    write(tmp_path, {"CLAUDE.md": " \n", "CLAUDE.local.md": "---\nkey: v\n---\n<!-- only a comment -->\n"})
    assert loaded(tmp_path) == []


def test_rules_come_in_the_folders_order_depth_first_without_the_scoped_ones(tmp_path: Path) -> None:
    folder = tmp_path / ".claude" / "rules"
    write(
        folder,
        {
            "a.md": "a\n",
            "sub/b.md": "b\n",
            "sub/deeper/c.md": "c\n",
            "scoped.md": "---\npaths: src/**\n---\nscoped @../../from-scoped.md @../../scoped-import.md\n",
            "notes.txt": "not markdown\n",
            "UPPER.MD": "not .md\n",
            "empty.md": "\n",
            "folder.md/d.md": "d\n",
        },
    )
    write(
        tmp_path, {"from-scoped.md": "loaded where its rule would be\n", "scoped-import.md": "---\npaths: x\n---\nno\n"}
    )
    expected: list[str] = []

    def listing(folder: Path, prefix: str) -> None:
        for entry in os.scandir(folder):
            if entry.is_dir():
                listing(Path(entry.path), f"{prefix}{entry.name}/")
            elif entry.name in ("a.md", "b.md", "c.md", "d.md"):
                expected.append(f".claude/rules/{prefix}{entry.name}")
            elif entry.name == "scoped.md":
                expected.append("from-scoped.md")

    listing(folder, "")
    assert loaded(tmp_path) == expected


def test_rule_symlinks_are_followed_into_the_project_only_and_loops_end(tmp_path: Path) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    write(outside, {"out.md": "outside\n", "dir/o.md": "outside\n"})
    write(root, {"inside/in.md": "in\n", "inside/dir/d.md": "d\n", ".claude/rules/r.md": "r\n"})
    folder = root / ".claude" / "rules"
    (folder / "link-in.md").symlink_to(root / "inside" / "in.md")
    (folder / "dir-in").symlink_to(root / "inside" / "dir")
    (folder / "link-out.md").symlink_to(outside / "out.md")
    (folder / "dir-out").symlink_to(outside / "dir")
    (folder / "loop").symlink_to(folder)
    (folder / "self").symlink_to(folder / "self")
    (folder / "dangling.md").symlink_to(root / "missing.md")
    os.mkfifo(folder / "fifo.md")
    assert sorted(loaded(root)) == [".claude/rules/r.md", "inside/dir/d.md", "inside/in.md"]


def test_a_rules_folder_that_leads_outside_the_project_is_not_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    write(outside, {"r.md": "outside\n"})
    (root / ".claude").mkdir(parents=True)
    (root / ".claude" / "rules").symlink_to(outside)
    assert loaded(root) == []


def test_the_team_block_carries_the_rules_and_the_private_notes(tmp_path: Path) -> None:
    copy_shipped_team(tmp_path)
    write(
        tmp_path,
        {
            "CLAUDE.md": "# Project\n",
            ".claude/rules/style.md": "Use 4 spaces.\n",
            ".claude/rules/python.md": "---\npaths: '**/*.py'\n---\nOnly for Python.\n",
            "CLAUDE.local.md": "Mine.\n",
        },
    )
    builder = PromptBuilder(load_team(load_settings(cwd=tmp_path, environ={})), None)
    blocks, _ = builder.system(builder.team.resolve("db-architect"), "a task")
    team_block = next(block.text for block in blocks if block.name == "team")
    assert (
        "## `CLAUDE.md`\n\n# Project\n\n## `.claude/rules/style.md`\n\nUse 4 spaces.\n\n## `CLAUDE.local.md`\n\nMine."
        in team_block
    )
    assert "Only for Python" not in team_block


# --- bounds and hostile files ------------------------------------------------------------------------------


def test_the_file_budget_bounds_a_rules_folder_of_many_entries(tmp_path: Path) -> None:
    folder = tmp_path / ".claude" / "rules"
    folder.mkdir(parents=True)
    for number in range(300):
        (folder / f"r{number}.md").write_text("r\n")
    found = rules(tmp_path, None, set(), _read_import, Budget(chars=1000, files=10))
    assert 0 < len(found) <= 10


def test_a_hostile_rule_is_skipped_or_read_without_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / ".claude" / "rules"
    folder.mkdir(parents=True)
    with (folder / "big.md").open("wb") as handle:
        handle.truncate(bounds.PROTOCOL_BYTES + 1)
    (folder / "binary.md").write_bytes(b"\x00\xff\xfe@a.md\x00*" * 1000)
    (folder / "cycle.md").write_text("@cycle.md @../../loop1.md\n")
    write(tmp_path, {"loop1.md": "@loop2.md\n", "loop2.md": "@loop1.md\n"})
    assert sorted(loaded(tmp_path)) == [".claude/rules/binary.md", ".claude/rules/cycle.md", "loop1.md", "loop2.md"]


@pytest.mark.parametrize(
    "unit",
    [
        "*",
        "a *",
        "*a ",
        "_a _b ",
        "[",
        "[a](",
        '[a](b "',
        "<a b='",
        "<!--",
        "`",
        "``a`",
        "\\*",
        "> - ",
        "- ",
        "1. [",
        "  - a\n",
        "> a\nb\n",
        "<http:",
        "<a@b.",
        "[a]: b\n",
        "**_",
        "a\n=\n",
        "\t- ",
    ],
)
def test_pathological_markdown_is_lexed_in_linear_time(unit: str) -> None:
    text = (unit * (16_384 // len(unit) + 1))[:16_384] + "@end.md"
    started = time.perf_counter()
    ccmarkdown.scanned_texts(text)
    ccmarkdown.without_comment_blocks(text)
    assert time.perf_counter() - started < 5  # linear: a fraction of a second; quadratic: minutes


def test_deep_nesting_is_cut_and_a_spent_budget_keeps_what_was_found(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "".join("  " * level + "- x\n" for level in range(400)) + ">" * 2000 + " @deep.md\n"
    assert ccmarkdown.scanned_texts(deep)  # no RecursionError
    monkeypatch.setattr(ccmarkdown, "STEPS_PER_CHAR", 0)
    monkeypatch.setattr(ccmarkdown, "STEPS_BASE", 40)
    found = ccmarkdown.scanned_texts("@first.md\n\n" + "*a " * 1000)
    assert found[:1] == ["@first.md"]
