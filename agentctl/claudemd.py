"""Claude Code's project instructions: the files 2.1.332 loads when it starts in a project, and the
`@path` imports it expands in them (its loader, read from the binary and checked against what
`claude -p` sends: tests/test_claudemd_binary.py).

What it loads from the folder it runs in, in this order, each file followed by the files it imports:

1. `CLAUDE.md`, then `.claude/CLAUDE.md` ("project instructions, checked into the codebase").
2. The rules: every `*.md` below `.claude/rules/` (subfolders too, depth first, in the order the
   folder lists them: Claude Code does not sort), except those whose frontmatter `paths:` scopes
   them to some files (they load when Claude reads such a file). A scope is a truthy `paths:`
   whose patterns (lists flattened, comma lists split, braces expanded, a trailing `/**` cut) are
   not all `**`: `"**"`, `"**/**"`, `[]`, `""`, a number or no `paths:` scope nothing. The files a
   scoped rule imports still load at start-up, where it would have been; an import with a scope
   of its own does not. A symlink is followed when it leads inside the project (the file is named
   by its real path); FIFOs and other non-files are never read.
3. `CLAUDE.local.md` ("user's private project instructions, not checked in"); `.claude/CLAUDE.local.md`
   is not read, nor are the CLAUDE.md files of subfolders (they load when Claude reads a file there).

Every file is sent without its frontmatter, and without the HTML comments of the comment blocks at
its top level (a block with nothing else goes whole). Imports:

- Found by Claude Code's markdown lexer (ccmarkdown.py): `@` starting a text token or after
  whitespace in one, then the path up to the next whitespace (`\\ ` is a space) or the end of the
  token; a `#fragment` is cut. The path must start with `./`, `~/`, `/` or a letter, digit, `.`,
  `_` or `-`. Emphasis and link text import (`**@a.md**`, `[@a.md](x)`), code, link destinations,
  HTML and link definitions do not; `@a.md.` asks for `a.md.` and `(@a.md)` imports nothing.
- Paths are relative to the importing file; `~/` is the home folder.
- Each imported file comes after the file that imports it, in the order the imports appear, each
  one whole and as its own file (the importing text keeps its `@path`): depth first, pre-order.
- A chain holds at most 5 files, the first included (the docs say "5 hops"; the binary stops at 4
  imports deep).
- A file is read once per session, whoever imports it: a cycle ends where it closes.
- Missing files, folders, and files whose suffix is not a text suffix (`.png`, `x.md.`) are
  skipped; a file with no suffix is read. An empty file is skipped, and so are its imports.
- A file outside the folder claude runs in (by its path or through a symlink) is skipped unless
  the user approved "external imports" in an interactive session; `claude -p` never asks. agentctl
  never reads one: `~/` and absolute paths count only when they lead into the project.

agentctl reads only the project: Claude Code also loads the CLAUDE.md files of the folders above
it and the user's `~/.claude/CLAUDE.md` and `~/.claude/rules/`, which are not the team's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentctl.lazyre import LazyPattern
from agentctl.records import record
from agentctl.walk import real_path

IMPORT_DEPTH = 5  # files in one chain of imports, the first included
NOTE_NAME = "CLAUDE.md"
LOCAL_NOTE_NAME = "CLAUDE.local.md"
TEXT_SUFFIXES = frozenset(
    [
        ".md",
        ".txt",
        ".text",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".xml",
        ".csv",
        ".html",
        ".htm",
        ".css",
        ".scss",
        ".sass",
        ".less",
        ".js",
        ".ts",
        ".tsx",
        ".jsx",
        ".mjs",
        ".cjs",
        ".mts",
        ".cts",
        ".py",
        ".pyi",
        ".pyw",
        ".rb",
        ".erb",
        ".rake",
        ".go",
        ".rs",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".c",
        ".cpp",
        ".cc",
        ".cxx",
        ".h",
        ".hpp",
        ".hxx",
        ".cs",
        ".swift",
        ".sh",
        ".bash",
        ".zsh",
        ".fish",
        ".ps1",
        ".bat",
        ".cmd",
        ".env",
        ".ini",
        ".cfg",
        ".conf",
        ".config",
        ".properties",
        ".sql",
        ".graphql",
        ".gql",
        ".proto",
        ".vue",
        ".svelte",
        ".astro",
        ".ejs",
        ".hbs",
        ".pug",
        ".jade",
        ".php",
        ".pl",
        ".pm",
        ".lua",
        ".r",
        ".dart",
        ".ex",
        ".exs",
        ".erl",
        ".hrl",
        ".clj",
        ".cljs",
        ".cljc",
        ".edn",
        ".hs",
        ".lhs",
        ".elm",
        ".ml",
        ".mli",
        ".f",
        ".f90",
        ".f95",
        ".for",
        ".cmake",
        ".make",
        ".makefile",
        ".gradle",
        ".sbt",
        ".rst",
        ".adoc",
        ".asciidoc",
        ".org",
        ".tex",
        ".latex",
        ".lock",
        ".log",
        ".diff",
        ".patch",
    ]
)

# Claude Code's own pattern, with JavaScript's \s; its two alternatives never start alike, so it is linear.
_WS = "\\t\\n\\v\\f\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_IMPORT = LazyPattern(r"(?:^|(?<=[" + _WS + r"]))@((?:[^" + _WS + r"\\]|\\ )+)")
_PATH_START = LazyPattern(r"(?:\./|~/|/.|[A-Za-z0-9._-])")
BRACE_RESULTS = 1000  # Claude Code's own bounds on the patterns one `paths:` expands to
BRACE_BYTES = 4 * 1024 * 1024


@record
class NoteFile:
    """One file of the project instructions: a CLAUDE.md, a rule, a CLAUDE.local.md, or a file one
    of them imports (depth 1 and more)."""

    path: Path
    text: str  # as Claude Code sends it (no frontmatter, no comment blocks)
    depth: int
    body: str | None = None  # where its imports are found (the text after the frontmatter); None: text
    scoped: bool = False  # its `paths:` frontmatter scopes it to some files (a rule loaded on demand)
    local: bool = False  # CLAUDE.local.md or a file it imports: "not checked in"


def note_file(path: Path, raw: str, depth: int, local: bool = False, scope: bool = False) -> NoteFile:
    """A file as Claude Code reads it: the text after its frontmatter, without its top-level HTML
    comment blocks; `scope`: whether its `paths:` scope it (read only for the rules' walk)."""
    from agentctl.ccmarkdown import without_comment_blocks
    from agentctl.claude_code import cut_frontmatter

    block = cut_frontmatter(raw)
    body = raw if block is None else block.body
    scoped = scope and block is not None and has_scope(raw)
    return NoteFile(path, without_comment_blocks(body), depth, body=body, scoped=scoped, local=local)


def has_scope(raw: str) -> bool:
    """Whether the frontmatter's `paths:` limits a rule to some files: a truthy value whose
    patterns (comma lists and braces expanded, `/**` cut from their ends) are not all `**`."""
    from agentctl.claude_code import js_truthy, read_frontmatter

    value = read_frontmatter(raw).data.get("paths")
    if not js_truthy(value):
        return False
    patterns = [pattern[:-3] if pattern.endswith("/**") else pattern for pattern in path_patterns(value)]
    return not all(pattern == "**" for pattern in patterns if pattern)


def path_patterns(value: Any) -> list[str]:
    """Claude Code's reading of a `paths:` value: lists flattened, strings split at the commas
    outside braces and trimmed, braces expanded within its bounds; anything else is no pattern."""
    budget = [BRACE_RESULTS, BRACE_BYTES]
    found: list[str] = []
    stack = [value]
    while stack and len(found) <= BRACE_RESULTS:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            found.extend(pattern for part in _split_commas(item) for pattern in _expand_braces(part, budget))
    return found


def _split_commas(text: str) -> list[str]:
    from agentctl.ccmarkdown import js_trim

    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(js_trim(text[start:index]))
            start = index + 1
    parts.append(js_trim(text[start:]))
    return [part for part in parts if part]


def _expand_braces(pattern: str, budget: list[int]) -> list[str]:
    """Claude Code's `Eu`: `a{b,c}d` -> `abd`, `acd`; over its bounds, the pattern unexpanded."""
    from agentctl.ccmarkdown import js_trim

    if "{" not in pattern:
        return [pattern]
    done: list[str] = []
    pending = [pattern]
    while pending:
        item = pending.pop()
        # Claude Code's `^([^{]*)\{([^}]+)\}(.*)$`: the first `{`, the first `}` after it, one line.
        opened = item.find("{")
        closed = item.find("}", opened + 1)
        if opened < 0 or closed <= opened + 1 or any(char in item[closed:] for char in "\n\r\u2028\u2029"):
            done.append(item)
            continue
        choices = [js_trim(choice) for choice in item[opened + 1 : closed].split(",")]
        budget[1] -= len(item)
        count = len(done) + len(pending) + len(choices)
        if budget[1] < 0 or count > budget[0] or count * len(pattern) > budget[1]:
            return [pattern]
        pending.extend(item[:opened] + choice + item[closed + 1 :] for choice in reversed(choices))
    budget[0] -= len(done)
    budget[1] -= len(done) * len(pattern)
    return done


def import_paths(text: str, folder: Path, home: Path | None) -> list[Path]:
    """The files `text` imports, in order, each once; relative paths from `folder`. `~/` paths need
    `home` (without one they import nothing)."""
    from agentctl.ccmarkdown import scanned_texts

    found: dict[Path, None] = {}
    if "@" not in text:
        return []
    for piece in scanned_texts(text):
        for match in _IMPORT.finditer(piece):
            target = _target(match.group(1), folder, home)
            if target is not None:
                found.setdefault(target, None)
    return list(found)


def _target(raw: str, folder: Path, home: Path | None) -> Path | None:
    name = raw.split("#", 1)[0].replace("\\ ", " ")
    if not name or name == "/" or not _PATH_START.match(name):
        return None
    if name.startswith("~/"):
        return None if home is None else Path(os.path.normpath(home / name[2:]))
    return Path(os.path.normpath(folder / name))


def is_text_file(path: Path) -> bool:
    """Claude Code reads an import only when its suffix is a text one, or it has none."""
    suffix = os.path.splitext(path.name)[1].lower()
    return not suffix or suffix in TEXT_SUFFIXES


@record
class Budget:
    """What the imports and rules of one team block may still add: characters of text, files
    looked at (each a stat, a read or a folder entry)."""

    chars: int
    files: int


Reader = Callable[[Path], "str | None"]


def project_instructions(
    root: Path, home: Path | None, seen: set[Path], read_note: Reader, read: Reader, budget: Budget
) -> list[NoteFile]:
    """What Claude Code loads at start-up from the project folder `root`, in its order: CLAUDE.md,
    .claude/CLAUDE.md, the rules without a scope, CLAUDE.local.md, each followed by its imports.
    `read_note` reads a CLAUDE.md or CLAUDE.local.md, `read` a rule or an import (None when it
    cannot be read); `seen` holds the real paths already placed (shared with the caller)."""
    found: list[NoteFile] = []
    for path in (root / NOTE_NAME, root / ".claude" / NOTE_NAME):
        found.extend(top_note(path, root, home, seen, read_note, read, budget))
    found.extend(rules(root, home, seen, read, budget))
    found.extend(top_note(root / LOCAL_NOTE_NAME, root, home, seen, read_note, read, budget, local=True))
    return found


def top_note(
    path: Path,
    root: Path,
    home: Path | None,
    seen: set[Path],
    read_note: Reader,
    read: Reader,
    budget: Budget,
    local: bool = False,
) -> list[NoteFile]:
    """A CLAUDE.md (or CLAUDE.local.md) inside the project and the files it imports; nothing when it
    is missing, unreadable, empty or already placed."""
    real = real_path(path)
    if real in seen or not _inside(path, root):
        return []
    text = read_note(path)
    if text is None:
        return []
    seen.add(real)
    note = note_file(path, text, 0, local=local)
    if not note.text.strip():
        return []
    return with_imports(note, root, home, seen, read, budget)


def rules(root: Path, home: Path | None, seen: set[Path], read: Reader, budget: Budget) -> list[NoteFile]:
    """The rules of `.claude/rules/` Claude Code loads at start-up, each followed by its imports."""
    found: list[NoteFile] = []
    folder = root / ".claude" / "rules"
    if not _inside(folder, root):
        return found
    for path in _rule_files(folder, root, budget, set()):
        rule = _imported(path, 0, root, seen, read, budget, local=False, scope=True)
        if rule is not None:
            chain = with_imports(rule, root, home, seen, read, budget, scope=True)
            found.extend(note for note in chain if not note.scoped)
    return found


def _rule_files(folder: Path, root: Path, budget: Budget, visited: set[Path]) -> Iterator[Path]:
    """The `*.md` files below `folder`, in the order the folders list them, depth first; each real
    folder once; symlinks only into the project, named by where they lead."""
    real = real_path(folder)
    if real in visited:
        return
    visited.add(real)
    try:
        listing = os.scandir(folder)
    except OSError:
        return
    with listing:
        for entry in listing:
            if budget.files <= 0:
                return
            budget.files -= 1
            path = folder / entry.name
            try:
                linked = entry.is_symlink()
                directory, regular = entry.is_dir(), entry.is_file()
            except OSError:
                continue
            if linked:  # followed into the project only, and named by where it leads
                target, real_root = real_path(path), real_path(root)
                if not target.is_relative_to(real_root):
                    continue
                path = root / target.relative_to(real_root)
            if directory:
                yield from _rule_files(path, root, budget, visited)
            elif regular and entry.name.endswith(".md"):
                yield path


def with_imports(
    note: NoteFile,
    root: Path,
    home: Path | None,
    seen: set[Path],
    read: Reader,
    budget: Budget,
    scope: bool = False,
) -> list[NoteFile]:
    """`note` and then each file it imports, depth first, as Claude Code places them. `seen` holds
    the real paths already in the block (shared by every note of the block, as Claude Code shares
    one set across the session); `read` returns a file's text, None when it cannot be read;
    `scope`: read each file's `paths:` (the rules' walk)."""
    found = [note]
    body = note.text if note.body is None else note.body
    if note.depth + 1 >= IMPORT_DEPTH or "@" not in body:
        return found
    for target in import_paths(body, note.path.parent, home):
        child = _imported(target, note.depth + 1, root, seen, read, budget, note.local, scope)
        if child is not None:
            found.extend(with_imports(child, root, home, seen, read, budget, scope))
    return found


def _imported(
    path: Path,
    depth: int,
    root: Path,
    seen: set[Path],
    read: Reader,
    budget: Budget,
    local: bool = False,
    scope: bool = False,
) -> NoteFile | None:
    real = real_path(path)
    if real in seen or budget.files <= 0 or budget.chars <= 0:
        return None
    # Inside the project by its own path and by where its symlinks lead, as Claude Code checks both.
    if not (path.is_relative_to(root) and _inside(path, root)) or not is_text_file(path):
        return None
    seen.add(real)
    budget.files -= 1
    text = read(path)
    if text is None:
        return None
    note = note_file(path, text, depth, local=local, scope=scope)
    if not note.text.strip():
        return None  # Claude Code skips an empty file, and its imports with it
    if len(note.text) > budget.chars:
        cut = note.text[: budget.chars] + "\n\n[cut here: the project notes reached agentctl's budget]\n"
        note = NoteFile(note.path, cut, depth, body=note.body, scoped=note.scoped, local=local)
    budget.chars -= len(note.text)
    return note


def _inside(path: Path, root: Path) -> bool:
    return real_path(path).is_relative_to(real_path(root))
