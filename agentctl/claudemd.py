"""`@path` imports of CLAUDE.md files, expanded as Claude Code 2.1.332 expands them.

Read from the binary's loader and checked against what `claude -p` sends
(tests/test_claudemd_binary.py):

- An import is `@` at the start of a piece of prose or after whitespace, then the path up to the
  next whitespace (`\\ ` is a space); a `#fragment` is cut. The path must start with `./`, `~/`,
  `/` or a letter, digit, `.`, `_` or `-`, so `foo@bar`, `(@x.md)` and `@@x` import nothing.
- Nothing in a code span, a fenced or indented code block, or an HTML comment imports.
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

Where this reading is simpler than Claude Code's markdown lexer (marked, without GFM): an import
wrapped in emphasis or a link (`**@x.md**`), text inside a block of HTML, and indented lines inside
list items. Claude Code also drops frontmatter and block HTML comments from the text it sends;
agentctl sends each file as it is on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
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

# Claude Code's own pattern: the two alternatives never start alike, so the run is linear.
_IMPORT = LazyPattern(r"(?:^|(?<=\s))@((?:[^\s\\]|\\ )+)")
_PATH_START = LazyPattern(r"(?:\./|~/|/.|[A-Za-z0-9._-])")
_FENCE = LazyPattern(r" {0,3}(`{3,}|~{3,})([^\n]*)")
_BACKTICKS = LazyPattern(r"`+")


@record
class NoteFile:
    """One file of the project notes: a CLAUDE.md or a file it imports (depth 1 and more)."""

    path: Path
    text: str
    depth: int


def import_paths(text: str, folder: Path, home: Path | None) -> list[Path]:
    """The files `text` imports, in order, each once; relative paths from `folder`. `~/` paths need
    `home` (without one they import nothing)."""
    found: dict[Path, None] = {}
    for piece in prose(text):
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


def prose(text: str) -> Iterator[str]:
    """The runs of `text` that are neither code nor HTML comments: what can import."""
    for block in _blocks(text.replace("\r\n", "\n").replace("\r", "\n")):
        yield from _outside_code_spans(_without_comments(block))


def _blocks(text: str) -> Iterator[str]:
    """Paragraph-like runs of lines, with fenced and indented code blocks left out."""
    kept: list[str] = []
    fence, after_blank = "", True
    for line in text.split("\n"):
        if fence:
            fence, after_blank = ("" if _closes(line, fence) else fence), True
            continue
        opened = _FENCE.match(line)
        if opened and not (opened.group(1)[0] == "`" and "`" in opened.group(2)):
            yield "\n".join(kept)
            kept, fence = [], opened.group(1)
            continue
        if after_blank and _indented(line):
            continue  # an indented code block: it starts after a blank line and goes on while indented
        after_blank = not line.strip()
        kept.append(line)
    yield "\n".join(kept)


def _closes(line: str, fence: str) -> bool:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and not stripped[run:].strip()


def _indented(line: str) -> bool:
    return bool(line.strip()) and (line.startswith("    ") or line.startswith("\t"))


def _without_comments(text: str) -> str:
    """`text` with each `<!-- ... -->` taken out; one left open runs to the end. str.find keeps
    it linear however many openers there are."""
    parts, start = [], 0
    while (opened := text.find("<!--", start)) != -1:
        parts.append(text[start:opened])
        closed = text.find("-->", opened + 4)
        if closed == -1:
            return "".join(parts)
        start = closed + 3
    parts.append(text[start:])
    return "".join(parts)


def _outside_code_spans(text: str) -> Iterator[str]:
    """The pieces of `text` between code spans. A span opens with a run of backticks and closes at
    the next run of the same length; an opener with no closer is text."""
    runs = [(match.start(), match.end()) for match in _BACKTICKS.finditer(text)]
    later: dict[int, list[int]] = {}  # run length -> indices of the runs of that length, last first
    for index in range(len(runs) - 1, -1, -1):
        later.setdefault(runs[index][1] - runs[index][0], []).append(index)
    start, index = 0, 0
    while index < len(runs):
        begin, end = runs[index]
        same = later[end - begin]
        while same and same[-1] <= index:
            same.pop()
        if not same:
            index += 1
            continue
        closer = same.pop()
        yield text[start:begin]
        start, index = runs[closer][1], closer + 1
    yield text[start:]


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
