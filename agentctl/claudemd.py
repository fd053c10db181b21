"""`@path` imports of CLAUDE.md files, expanded as Claude Code 2.1.332 expands them.

Read from the binary's loader and checked against what `claude -p` sends
(tests/test_claudemd_binary.py):

- Imports are found by Claude Code's markdown lexer (ccmarkdown.py): `@` starting a text token or
  after whitespace in one, then the path up to the next whitespace (`\\ ` is a space) or the end
  of the token; a `#fragment` is cut. The path must start with `./`, `~/`, `/` or a letter, digit,
  `.`, `_` or `-`, so `foo@bar`, `(@x.md)` and `@@x` import nothing. Emphasis and link text import
  (`**@a.md**`, `[@a.md](x)`, `*see @a.md*`); code, link destinations, image text, HTML blocks and
  link definitions do not; `@a.md.` asks for `a.md.` (no text suffix).
- Paths are relative to the importing file; `~/` is the home folder.
- Each imported file comes after the file that imports it, in the order the imports appear, each
  one whole and as its own file (the importing text keeps its `@path`): depth first, pre-order.
- A chain holds at most 5 files, the CLAUDE.md itself included (the docs say "5 hops"; the
  binary stops at 4 imports deep).
- A file is read once per session, whoever imports it: a cycle ends where it closes.
- Missing files, folders, and files whose suffix is not a text suffix (`.png`, `x.md.`) are
  skipped; a file with no suffix is read. An empty file is skipped, and so are its imports.
- A file outside the folder claude runs in (by its path or through a symlink) is skipped unless
  the user approved "external imports" in an interactive session; `claude -p` never asks. agentctl
  never reads one: `~/` and absolute paths count only when they lead into the project.

Claude Code also drops frontmatter and block HTML comments from the text it sends; agentctl sends
each file as it is on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from agentctl.lazyre import LazyPattern
from agentctl.records import record
from agentctl.walk import real_path

IMPORT_DEPTH = 5  # files in one chain of imports, the CLAUDE.md itself included
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


@record
class NoteFile:
    """One file of the project notes: a CLAUDE.md or a file it imports (depth 1 and more)."""

    path: Path
    text: str
    depth: int


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
    """What the imports of one team block may still add: characters of text, files looked at."""

    chars: int
    files: int


def with_imports(
    note: NoteFile,
    root: Path,
    home: Path | None,
    seen: set[Path],
    read: Callable[[Path], str | None],
    budget: Budget,
) -> list[NoteFile]:
    """`note` and then each file it imports, depth first, as Claude Code places them. `seen` holds
    the real paths already in the block (shared by every note of the block, as Claude Code shares
    one set across the session); `read` returns a file's text, None when it cannot be read."""
    found = [note]
    if note.depth + 1 >= IMPORT_DEPTH or "@" not in note.text:
        return found
    for target in import_paths(note.text, note.path.parent, home):
        child = _imported(target, note.depth + 1, root, seen, read, budget)
        if child is not None:
            found.extend(with_imports(child, root, home, seen, read, budget))
    return found


def _imported(
    path: Path, depth: int, root: Path, seen: set[Path], read: Callable[[Path], str | None], budget: Budget
) -> NoteFile | None:
    real = real_path(path)
    if real in seen or budget.files <= 0 or budget.chars <= 0:
        return None
    # Inside the project by its own path and by where its symlinks lead, as Claude Code checks both.
    if not (path.is_relative_to(root) and real.is_relative_to(real_path(root))) or not is_text_file(path):
        return None
    seen.add(real)
    budget.files -= 1
    text = read(path)
    if text is None or not text.strip():
        return None  # Claude Code skips an empty file, and its imports with it
    if len(text) > budget.chars:
        text = text[: budget.chars] + "\n\n[cut here: the project notes reached agentctl's budget]\n"
    budget.chars -= len(text)
    return NoteFile(path, text, depth)
