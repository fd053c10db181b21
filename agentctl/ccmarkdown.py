"""Markdown as Claude Code 2.1.332 lexes a CLAUDE.md file, as far as its `@path` imports need it.

Claude Code finds imports by lexing the file with its own linear rewrite of marked (GFM off) and
running its import pattern over the text of each `text` token, in the order of the token tree;
`scanned_texts` returns those strings, in that order. What follows from it, checked against the
binary (tests/test_claudemd_binary.py):

- Emphasis and link text are tokens of their own, so `*@a.md*`, `**@a.md**`, `_@a.md_` and
  `[@a.md](x)` import `a.md`, and so does `*see @a.md*` (the path ends where its text token ends).
  A link's destination and title, an image's alt text, code spans, HTML tags and link reference
  definitions are not text: `[x](@a.md)`, `![@a.md](x)` and `[x]: @a.md` import nothing.
- A token boundary is a start (`<br>@a.md`, `\\*@a.md`, `*x*@a.md` import `a.md`) and an end
  (`@a.md*b*` imports `a.md`). Punctuation that is text stays in the path: `@a.md.` asks for
  `a.md.`, which has no text suffix, and `(@a.md)` imports nothing (the `@` follows `(`).
- Headings, paragraphs, block quotes (their lazy lines too) and list items import; fenced and
  indented code and HTML blocks (`<div>` to the next blank line) do not. An HTML block or tag that
  starts with a complete comment is read without its comments (`<!-- x --> @a.md` imports); an
  unclosed `<!--` inside a paragraph is text.
- A list item's lines form a `text` token whose whole markdown is scanned before its tokens are:
  in `- *@a.md* @b.md`, `b.md` comes first, and a code span with spaces inside an item imports.

Every scan is bounded: searches are str.find or patterns that fail fast at each start, failed
searches are remembered (as Claude Code's lexer remembers them), nesting stops at MAX_DEPTH levels,
and the scans that could repeat (emphasis, links) draw on one step budget per file; a file that
spends it keeps the texts found before (a hostile file, not a real one).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Container

from agentctl.lazyre import LazyPattern

MAX_DEPTH = 64  # nested containers (lists, quotes), and nested inline tokens (emphasis in links ...)
STEPS_PER_CHAR = 16  # the step budget of one file: this many per character, plus STEPS_BASE
STEPS_BASE = 100_000

# JavaScript's \s (String.trim's whitespace too); Python's \s differs (U+001C-U+001F, U+0085, U+FEFF).
JS_WHITESPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
JS_WHITESPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
_WS = "\\t\\n\\v\\f\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"  # the same, for a class
_LINE_BREAKS = "\n\r\u2028\u2029"  # what JavaScript's `.` does not match
# The kind of each ASCII character for emphasis: 0 space, 1 punctuation, 2 other (Claude Code's table).
_ASCII_KINDS = "222222222000002222222222222222220111111111111111222222222211111112222222222222222222222222211111"
_ASCII_KINDS += "12222222222222222222222222211112"
_BLOCK_TAG_NAMES = (  # as Claude Code spells its list
    "address article aside base basefont blockquote body caption center col colgroup dd details dialog dir div dl dt "
    "fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr html iframe legend li link "
    "main menu menuitem meta nav noframes ol optgroup option p param search section summary table tbody td tfoot th "
    "thead title tr track ul"
)
_BLOCK_TAGS = frozenset(_BLOCK_TAG_NAMES.split())
_RAW_TAGS = ("script", "pre", "style", "textarea")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ESCAPABLE = frozenset(chr(code) for code in range(0x21, 0x7F)) - _ALNUM
_EMAIL_LOCAL = frozenset("-!#$%&'*+./=?_`{|}~") | _ALNUM
_LABEL_CHARS = frozenset("-") | _ALNUM
_SCHEME_CHARS = frozenset("+-.") | _ALNUM

# Each pattern is linear under search: a run it starts either succeeds or is a run no other start
# repeats (the lookbehinds make a start inside a run fail at once).
_TEXT_STOP = LazyPattern(r"[!*<\[\\_`]|  \n")  # where a text token ends (GFM off)
_DELIMITER = LazyPattern(r"[*_]")
_MASKED = LazyPattern(r"\[[^\[\]]*+\]\(|<[^<>]*+>|`[^`]*+`")  # what emphasis does not see
_TAG_NAME = LazyPattern(r"[A-Za-z][-0-9A-Za-z_]*+")
_CLOSE_TAG = LazyPattern(r"(?<![-:0-9A-Za-z_])[A-Za-z][-:0-9A-Za-z_]*+[" + _WS + r"]*+>")
_VALUE = r"(?:[^" + _WS + r"\"'<=>`]++|'[^']*+'|\"[^\"]*+\")"
_ATTRIBUTE = LazyPattern(
    r"(?<![-.:0-9A-Za-z_])[:A-Za-z_][-.:0-9A-Za-z_]*+(?:[" + _WS + r"]*+=[" + _WS + r"]*+" + _VALUE + r")?+"
)
_BLOCK_VALUE = r"(?:[^" + _WS + r"\"'<=>`]++|'[^\n']*+'|\"[^\n\"]*+\")"
_BLOCK_ATTRIBUTE = LazyPattern(r"(?<![-.:0-9A-Za-z_])[:A-Za-z_][-.:0-9A-Za-z_]*+(?: *+= *+" + _BLOCK_VALUE + r")?+")
_ANGLE_DESTINATION = LazyPattern(r"(?:[^\n<>\\]++|\\[^\n\r\u2028\u2029])*+")
_LABEL_STOP = LazyPattern(r"[\[\\\]`]")
_REFERENCE_STOP = LazyPattern(r"[\[\\\]]")
_PAREN_STOP = LazyPattern(r"[\\()]")
_PAREN = LazyPattern(r"[()]")
_DESTINATION_PAREN = LazyPattern(r"[\\()]")


class _OutOfSteps(Exception):
    """The file spent its step budget."""


def scanned_texts(text: str) -> list[str]:
    """The strings Claude Code runs its import pattern over, in its order."""
    lexer = _Lexer(STEPS_PER_CHAR * len(text) + STEPS_BASE)
    found: list[str] = []
    try:
        tokens = lexer.blocks(text.replace("\r\n", "\n").replace("\r", "\n"), 0)
        lexer.walk(tokens, found)
    except _OutOfSteps:
        pass
    return found


def without_comment_blocks(text: str) -> str:
    """The text Claude Code sends for a file: each top-level HTML block that starts with a closed
    comment loses its comments, and goes whole when nothing but whitespace is left (line breaks
    become `\\n` when anything goes)."""
    if "<!--" not in text:
        return text
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    lexer = _Lexer(STEPS_PER_CHAR * len(text) + STEPS_BASE)
    try:
        lexer.blocks(normalized, 0)
    except _OutOfSteps:
        return text
    parts, last = [], 0
    for token, start, end in lexer.spans:
        if token.raw.lstrip(JS_WHITESPACE).startswith("<!--") and "-->" in token.raw:
            kept = without_comments(normalized[start:end])
            parts.append(normalized[last:start] + (kept if js_trim(kept) else ""))
            last = end
    return text if last == 0 else "".join(parts) + normalized[last:]


def char_kind(char: str) -> int:
    """0: whitespace (or no character), 1: punctuation or symbol, 2: anything else."""
    if not char:
        return 0
    code = ord(char)
    if code < 128:
        return ord(_ASCII_KINDS[code]) - 48
    if char in JS_WHITESPACE:
        return 0
    return 1 if unicodedata.category(char)[0] in "PS" else 2


def js_trim(text: str) -> str:
    return text.strip(JS_WHITESPACE)


def without_comments(text: str) -> str:
    """`text` with every `<!-- ... -->` taken out (an unclosed one stays)."""
    parts, start = [], 0
    while (opened := text.find("<!--", start)) != -1:
        closed = text.find("-->", opened + 4)
        if closed == -1:
            break
        parts.append(text[start:opened])
        start = closed + 3
    parts.append(text[start:])
    return "".join(parts)


def comment_text(raw: str) -> str | None:
    """What Claude Code scans of an HTML token: none unless it starts with a closed comment; then
    the token without its comments, when anything but whitespace is left."""
    if raw.lstrip(JS_WHITESPACE).startswith("<!--") and "-->" in raw:
        rest = without_comments(raw)
        return rest if js_trim(rest) else None
    return None


# --- lines --------------------------------------------------------------------------------------------


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _skip(text: str, start: int, chars: Container[str], limit: int = -1) -> int:
    """The index after the run of `chars` at `start` (at most `limit` of them)."""
    index, end = start, len(text)
    while index < end and text[index] in chars and limit != 0:
        index += 1
        limit -= 1
    return index


def _skip_back(text: str, end: int, chars: str, floor: int = 0) -> int:
    while end > floor and text[end - 1] in chars:
        end -= 1
    return end


def _is_hr(line: str, start: int, tabs: bool = True) -> bool:
    """Up to 3 spaces, then three or more of one of `-_*` with spaces (and tabs) between, to the end."""
    index = _skip(line, start, " ", 3)
    if index >= len(line) or line[index] not in "-_*":
        return False
    rest = line[index:]
    return rest.count(line[index]) >= 3 and not rest.replace(line[index], "").strip(" \t" if tabs else " ")


def _marker_end(text: str, start: int) -> int:
    """After a list marker (up to 3 spaces, then `1.`, `1)` or one of `-+*`) that a space, a tab, a
    newline or the end follows; -1 without one."""
    index = _skip(text, start, " ", 3)
    if index < len(text) and text[index] in "-+*":
        end = index + 1
    else:
        digits = _skip(text, index, "0123456789", 10)
        if not 0 < digits - index <= 9 or digits >= len(text) or text[digits] not in ".)":
            return -1
        end = digits + 1
    return end if end >= len(text) or text[end] in "\t\n " else -1


def _indent_end(text: str, start: int) -> int:
    """After ` {0,3}\\t` or four spaces at `start`; -1 without."""
    spaces = _skip(text, start, " ", 4)
    if spaces - start == 4:
        return spaces
    return spaces + 1 if spaces < len(text) and text[spaces] == "\t" else -1


def _block_tag(rest: str, at_end: bool, any_case: bool) -> bool:
    """`/?` then a block tag name, then a newline (the line's end), a space, `>` or `/>`."""
    start = 1 if rest.startswith("/") else 0
    end = start
    while end < len(rest) and rest[end] in _ALNUM:
        end += 1
    name = rest[start:end]
    if (name.lower() if any_case else name) not in _BLOCK_TAGS:
        return False
    after = rest[end : end + 1]
    return (after == "" and not at_end) or after in (" ", ">") or rest.startswith("/>", end)


def _interrupts(line: str, last: bool) -> bool:
    """Claude Code's `sp`: a line that ends a paragraph (`last`: no newline after it)."""
    start = _skip(line, 0, " ", 3)
    rest = line[start:]
    if rest[:1] == ">" or rest[:2] in ("- ", "+ ", "* ") or rest[:3] in ("1. ", "1) "):
        return True
    hashes = _skip(rest, 0, "#", 7)
    if 1 <= hashes <= 6 and (hashes == len(rest) or rest[hashes] in JS_WHITESPACE):
        return True
    if not last and (rest.startswith("~~~") or (rest.startswith("```") and "`" not in rest[_skip(rest, 0, "`") :])):
        return True
    if _is_hr(line, 0) or (not last and not line.strip(" ")):
        return True
    if not line.startswith("<"):
        return False
    tag = line[1:]
    return tag.startswith(("!--", *_RAW_TAGS)) or _block_tag(tag, last, any_case=False)


def _html_start(line: str, last: bool) -> bool:
    """Claude Code's `Sw`: an HTML block start that ends a lazy line (any case, up to 3 spaces)."""
    start = _skip(line, 0, " ", 3)
    if not line.startswith("<", start):
        return False
    tag = line[start + 1 :]
    if tag.startswith("!--"):
        return True
    lowered = tag[:11].lower()
    for raw in _RAW_TAGS:
        if lowered.startswith(raw):
            after = tag[len(raw) : len(raw) + 1]
            if after == ">" or (after and after in JS_WHITESPACE) or (after == "" and not last):
                return True
    return _block_tag(tag, last, any_case=True)


def _list_or_blank(line: str, last: bool) -> bool:
    """Claude Code's `uL`: a blank line, or a list marker followed by text or by the line's end."""
    if not line.strip("\t "):
        return True
    end = _marker_end(line, 0)
    if end < 0:
        return False
    return (end == len(line) and not last) or (end + 1 < len(line) and line[end] in "\t ")


def _lazy_line(line: str, last: bool) -> bool:
    """A line that continues the paragraph of a quote lazily (Claude Code's `lp`)."""
    return not (_interrupts(line, last) or _list_or_blank(line, last) or _html_start(line, last))


# --- blocks -------------------------------------------------------------------------------------------


class _Token:
    """One block token: its kind, text, raw text (HTML), children (quote tokens, list items) and,
    for a container, how the innermost lexing in it ended (`method`, for lazy lines)."""

    __slots__ = ("children", "kind", "method", "raw", "text")

    def __init__(self, kind: str, text: str = "", raw: str = "", children: list[list[_Token]] | None = None) -> None:
        self.kind = kind
        self.text = text
        self.raw = raw
        self.children = children or []
        self.method = ""


class _Lexer:
    def __init__(self, steps: int) -> None:
        self.top = True  # paragraphs at the top and in quotes, `text` tokens in list items
        self.links: set[str] = set()  # the labels of the file's link reference definitions
        self.steps = steps
        self.method = ""  # what the last lexing of blocks ended with (the innermost container's)
        self.spans: list[tuple[_Token, int, int]] = []  # the top level's HTML blocks and where they are

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise _OutOfSteps

    def blocks(self, src: str, depth: int, tokens: list[_Token] | None = None, continued: bool = False) -> list[_Token]:
        """The block tokens of `src`, added to `tokens`. `continued`: `src` goes on a quote whose
        paragraph took lazy lines (a paragraph it starts with joins that paragraph)."""
        tokens = [] if tokens is None else tokens
        if depth >= MAX_DEPTH:
            tokens.append(_Token("text", src))
            self.top, self.method = True, "text"
            return tokens
        pos, end = 0, len(src)
        blank_from = _skip_back(src, end, "\t\n ")  # from here on the text is blank
        no_setext_before = -1
        method = ""
        while pos < end:
            self.spend()
            index = _skip(src, pos, " ", 3)
            char = src[index] if index < end else "\n"
            last = tokens[-1] if tokens else None
            token: _Token | None = None
            stop = -1
            if char in "\n \t":
                stop = _space(src, pos, blank_from)
                if stop > 0:
                    if last is None or stop - pos != 1:
                        tokens.append(_Token("space"))
                    elif last.kind == "html":
                        last.raw += "\n"
                    if not (stop >= end and method == "list"):  # a list's last item took its end
                        method = "space"
                    pos = stop
                    continue
                stop = _code(src, pos) if char != "\n" else -1
                if stop > 0:
                    if last is not None and last.kind in ("paragraph", "text"):
                        last.text += "\n" + _code_text(src[pos:stop])
                        method = "code" if src[stop - 1 : stop] == "\n" else "merged"
                    else:
                        tokens.append(_Token("code"))
                        method = "code"
                    pos = stop
                    continue
            elif char in "`~":
                stop = _fences(src, pos)
                token = _Token("code") if stop > 0 else None
            elif char == "#":
                stop, token = _heading(src, pos)
            elif char == ">":
                pos, method = self._blockquote(src, pos, tokens, depth), "blockquote"
                continue
            elif char == "<":
                stop = _html(src, pos)
                token = _Token("html", raw=src[pos:stop]) if stop > 0 else None
                if token is not None and depth == 0:
                    self.spans.append((token, pos, stop))
            elif char == "[":
                definition = _definition(src, pos)
                if definition is not None:
                    stop, label = definition
                    if last is not None and last.kind in ("paragraph", "text"):
                        last.text += "\n" + src[pos:stop]
                    else:
                        self.links.add(label)
                    pos, method = stop, "def" if src[stop - 1 : stop] != "\n" else "space"
                    continue
            if char in "-*_" and _is_hr(src[pos : _line_end(src, pos)], 0):
                pos, method = _skip(src, _line_end(src, pos), "\n"), "hr"
                tokens.append(_Token("hr"))
                continue
            if token is None and char in "-*+0123456789":
                stop = self._list(src, pos, tokens, depth)
                if stop > 0:
                    pos, method = stop, "list"
                    continue
            if token is None and pos >= no_setext_before:
                stop, token = _setext(src, pos)
                if token is None:
                    no_setext_before = stop
            if token is None:
                if self.top:
                    stop = _paragraph(src, pos)
                    if continued and last is not None and last.kind == "paragraph":
                        last.text += "\n" + src[pos:stop]
                        pos, method, continued = stop, "paragraph", False
                        continue
                    token = _Token("paragraph", src[pos:stop])
                    continued = False
                else:
                    stop = _line_end(src, pos)
                    if last is not None and last.kind == "text":
                        last.text += "\n" + src[pos:stop]
                        pos, method = stop, "text"
                        continue
                    token = _Token("text", src[pos:stop])
            tokens.append(token)
            pos, method = stop, token.kind if token.kind in ("paragraph", "text") else "other"
        self.top = True
        if method in ("list", "blockquote"):
            method = next(token.method for token in reversed(tokens) if token.kind == method)
        self.method = method
        return tokens

    def _blockquote(self, src: str, pos: int, tokens: list[_Token], depth: int) -> int:
        """A quote: its `>` lines without their markers, lexed as blocks; when that ends in an open
        paragraph (or list text), the lazy lines after it join that paragraph, and the `>` lines
        after those go on the quote."""
        children: list[_Token] = []
        top, self.top = self.top, True
        index, continued = pos, False
        while True:
            lines = []
            while index < len(src):
                end = _line_end(src, index)
                start = _skip(src, index, " ", 3)
                if src[start : start + 1] != ">":
                    break
                content = src[start + 1 : end]
                lines.append(content[1:] if content[:1] in (" ", "\t") else content)
                index = end + 1
            if not lines:
                break
            chunk = "\n".join(lines)
            self.blocks("\n" + chunk if continued else chunk, depth + 1, children, continued)
            if self.method not in ("paragraph", "text", "merged", "def"):
                break
            lazy = []
            while index < len(src):
                self.spend()
                end = _line_end(src, index)
                if not _lazy_line(src[index:end], end >= len(src)):
                    break
                lazy.append(src[index:end])
                index = end + 1
            if not lazy:
                break
            _add_lazy(self, children, lazy)
            continued = True
        self.top = top
        token = _Token("blockquote", children=[children])
        token.method = self.method
        tokens.append(token)
        return min(index, len(src))

    def _list(self, src: str, pos: int, tokens: list[_Token], depth: int) -> int:
        if not _list_start(src, pos):
            return -1
        kind = src[_marker_end(src, pos) - 1]
        items: list[list[_Token]] = []
        end, cut = pos, ""
        while (marker := _next_marker(src, end, kind)) > 0:
            self.spend()
            content, item_end, blank_end = _item(src, end, marker)
            last_item = _next_marker(src, item_end, kind) < 0
            if last_item:
                trimmed = content.rstrip(JS_WHITESPACE)
                content, cut = trimmed, content[len(trimmed) :]
            self.top = False
            items.append(self.blocks(content, depth + 1))
            end = item_end
            if last_item:
                break
        if not items:
            return -1
        token = _Token("list", raw=cut, children=items)
        token.method = "space" if blank_end else self.method
        tokens.append(token)
        return _skip_back(src, end, JS_WHITESPACE, pos)

    # --- the walk and inline tokens -----------------------------------------------------------------

    def walk(self, tokens: list[_Token], found: list[str]) -> None:
        """Claude Code's walk of the token tree: each text token's text, HTML with comments."""
        for token in tokens:
            if token.kind == "html":
                scanned = comment_text(token.raw)
                if scanned is not None:
                    found.append(scanned)
            elif token.kind == "text":
                found.append(token.text)
                _Inline(self, token.text, found, 0).run()
            elif token.kind in ("paragraph", "heading"):
                _Inline(self, token.text, found, 0).run()
            for child in token.children:
                self.walk(child, found)


def _add_lazy(lexer: _Lexer, tokens: list[_Token], lazy: list[str]) -> None:
    """Lazy lines of a quote join the innermost open paragraph (as they are) or list text (each
    without its indentation, after the whitespace cut from the item's end); after a definition,
    they start a paragraph (or list text) of their own."""
    in_list, cut = False, ""
    last = _last_content(tokens)
    while last is not None and last.kind in ("list", "blockquote"):
        if last.kind == "list":
            in_list, cut = True, last.raw + cut
        tokens = last.children[-1]
        last = _last_content(tokens)
    joined = cut + "\n" + "\n".join(lazy)
    if last is not None and last.kind in ("paragraph", "text"):
        last.text += _strip_indents(joined) if last.kind == "text" else joined
        return
    rest = joined.lstrip("\t\n ")
    while rest and (definition := _definition(rest, 0)) is not None:
        lexer.links.add(definition[1])
        rest = rest[definition[0] :].lstrip("\t\n ")
    if rest:
        tokens.append(_Token("text", _strip_indents(rest)) if in_list else _Token("paragraph", rest))


def _last_content(tokens: list[_Token]) -> _Token | None:
    """The last token, or the list before a trailing space (the whitespace after its last item)."""
    if len(tokens) >= 2 and tokens[-1].kind == "space" and tokens[-2].kind == "list":
        return tokens[-2]
    return tokens[-1] if tokens else None


def _strip_indents(text: str) -> str:
    """Claude Code's `\\n[\\t ]+` -> `\\n` for lazy lines added to list text."""
    return "\n".join(line.lstrip("\t ") if number else line for number, line in enumerate(text.split("\n")))


def _space(src: str, pos: int, blank_from: int) -> int:
    """A run of blank lines (or the blank rest of the text); -1 when the line is not blank."""
    if pos >= blank_from:
        return len(src)
    index = _skip(src, pos, "\t ")
    if index >= len(src) or src[index] != "\n":
        return -1
    index += 1
    run = _skip(src, index, "\t\n ")
    newline = src.rfind("\n", index, run)
    return newline + 1 if newline >= 0 else index


def _code(src: str, pos: int) -> int:
    """An indented code block (with the blank lines after its lines); -1 without one."""
    found, start = -1, pos
    while True:
        index = _indent_end(src, start)
        if index < 0 or index >= len(src) or src[index] == "\n":
            return found
        end = _line_end(src, index)
        if end >= len(src):
            return end
        run = _skip(src, end + 1, "\t\n ")
        if run >= len(src):
            return len(src)
        newline = src.rfind("\n", end + 1, run)
        found = start = newline + 1 if newline >= 0 else end + 1


def _code_text(raw: str) -> str:
    lines = []
    for line in raw.split("\n"):
        spaces = _skip(line, 0, " ", 3)
        if spaces == 3 and line[3:4] == " ":
            lines.append(line[4:])
        elif spaces == 0 and line[:1] == "\t":
            lines.append(line[1:])
        else:
            lines.append(line[spaces:])
    return "\n".join(lines).rstrip("\n")


def _fences(src: str, pos: int) -> int:
    """A fenced code block: to the end of its closing line, or of the text; -1 without one."""
    start = _skip(src, pos, " ", 3)
    run = _skip(src, start, src[start])
    line_end = _line_end(src, pos)
    if run - start < 3 or (src[start] == "`" and "`" in src[run:line_end]):
        return -1
    fence = src[start:run]
    index = line_end
    while index < len(src):
        end = _line_end(src, index + 1)
        at = _skip(src, index + 1, " ", 3)
        if src.startswith(fence, at) and not src[at + len(fence) : end].lstrip("`~").strip(" "):
            return end
        index = end
    return len(src)


def _heading(src: str, pos: int) -> tuple[int, _Token | None]:
    start = _skip(src, pos, " ", 3)
    hashes = _skip(src, start, "#", 7) - start
    end = _line_end(src, pos)
    if not 1 <= hashes <= 6 or (start + hashes < end and src[start + hashes] not in JS_WHITESPACE):
        return -1, None
    line = src[start + hashes : end]
    if "\u2028" in line or "\u2029" in line:
        return -1, None
    text = js_trim(line)
    bare = text.rstrip("#")
    if bare != text and (not bare or bare.endswith(" ")):
        text = bare
    return _skip(src, end, "\n"), _Token("heading", js_trim(text))


def _html(src: str, pos: int) -> int:
    """An HTML block (Claude Code's `ww`): where it ends; -1 when none starts at `pos`."""
    start = _skip(src, pos, " ", 3)
    following = src[start + 1 : start + 2]
    if following == "?":
        return _skip(src, _past(src, "?>", start + 2), "\n")
    if following == "!":
        if src.startswith("--", start + 2):
            return _skip(src, _line_end(src, _past(src, "-->", start + 2)), "\n")
        if _TAG_NAME.match(src, start + 2) is not None:
            return _skip(src, _past(src, ">", start + 1), "\n")
        if src[start + 2 : start + 9].upper() == "[CDATA[":
            return _skip(src, _past(src, "]]>", start + 9), "\n")
        return -1
    closing = following == "/"
    name_at = start + 2 if closing else start + 1
    name = _TAG_NAME.match(src, name_at)
    name_end = name.end() if name is not None else name_at
    tag = src[name_at:name_end].lower()
    after = src[name_end : name_end + 1]
    if tag.startswith(_RAW_TAGS):
        if closing or tag not in _RAW_TAGS or not (after == ">" or (after and after in JS_WHITESPACE)):
            return -1
        return _raw_block_end(src, tag, name_end)
    if tag in _BLOCK_TAGS and (after in ("\n", " ", ">") or src.startswith("/>", name_end)):
        return _blank_line_end(src, name_end + 1)
    if not tag:
        return -1
    if closing:
        index = _skip(src, name_end, JS_WHITESPACE)
    else:
        index = name_end
        while True:
            spaces = _skip(src, index, " ")
            attribute = _BLOCK_ATTRIBUTE.match(src, spaces) if spaces > index else None
            if attribute is None:
                break
            index = attribute.end()
        index = _skip(src, index, " ")
        index += src.startswith("/", index)
    if src[index : index + 1] != ">":
        return -1
    after_spaces = _skip(src, index + 1, "\t ")
    if after_spaces < len(src) and src[after_spaces] != "\n":
        return -1
    return _blank_line_end(src, index + 1)


def _past(src: str, needle: str, start: int) -> int:
    found = src.find(needle, start)
    return len(src) if found < 0 else found + len(needle)


def _blank_line_end(src: str, start: int) -> int:
    """After the first blank line from `start` (`\\n[\\t\\n ]*\\n`), or the end of the text."""
    index = start
    while (newline := src.find("\n", index)) != -1:
        run = _skip(src, newline + 1, "\t\n ")
        last = src.rfind("\n", newline + 1, run)
        if last >= 0:
            return last + 1
        index = max(run, newline + 1)
    return len(src)


def _raw_block_end(src: str, tag: str, start: int) -> int:
    closer = f"</{tag}>"
    index = src.find("</", start)
    while index != -1:
        if src[index : index + len(closer)].lower() == closer:
            return _skip(src, _line_end(src, index), "\n")
        index = src.find("</", index + 2)
    return len(src)


def _definition(src: str, pos: int) -> tuple[int, str] | None:
    """A link reference definition at `pos` (Claude Code's `Jw`): its end and normalized label."""
    start = _skip(src, pos, " ", 3)
    label_end = _reference_label_end(src, start + 1)
    if label_end <= start + 1 or src[label_end + 1 : label_end + 2] != ":":
        return None
    label = " ".join(src[start + 1 : label_end].split()).lower()
    index = _title_gap(src, label_end + 2)
    if src[index : index + 1] != "<":
        stop = index
        while stop < len(src) and src[stop] not in JS_WHITESPACE:
            stop += 1
        found = _definition_end(src, stop) if stop > index else -1
        return (found, label) if found >= 0 else None
    line_end = index
    while line_end < len(src) and src[line_end] not in _LINE_BREAKS:
        line_end += 1
    close = src.find(">", index)
    while close != -1 and close < line_end:
        found = _definition_end(src, close + 1)
        if found >= 0:
            return found, label
        close = src.find(">", close + 1)
    return None


def _definition_end(src: str, after: int) -> int:
    """Where a definition whose destination ends at `after` ends: after its title, or after its
    destination; -1 when something else follows on the line."""
    gap = _title_gap(src, after)
    close = -1
    if gap > after:
        opener = src[gap : gap + 1]
        if opener == '"':
            close = _title_close(src, gap, '"', _line_rest_end)
        elif opener == "'":
            close = src.find("'", gap + 1)
            close = -1 if close > gap and "\n\n" in src[gap:close] else close
        elif opener == "(":
            paren = _PAREN.search(src, gap + 1)
            close = paren.start() if paren is not None and paren.group() == ")" else -1
    end = _line_rest_end(src, close + 1) if close != -1 else -1
    return end if end != -1 else _line_rest_end(src, after)


def _title_gap(src: str, start: int) -> int:
    index = _skip(src, start, " ")
    if src[index : index + 1] == "\n":
        index = _skip(src, index + 1, "\t ")
    return index


def _line_rest_end(src: str, start: int) -> int:
    """Spaces to the line's end, then past the newlines after it; -1 when the line goes on."""
    index = _skip(src, start, " ")
    if index < len(src) and src[index] != "\n":
        return -1
    return _skip(src, index, "\n")


def _title_close(src: str, opener: int, quote: str, after_ok: Callable[[str, int], int]) -> int:
    """Claude Code's `bp`: the first unescaped `quote` after `opener`, or an earlier one, that
    `after_ok(src, index + 1)` accepts; -1 without one."""
    found = src.find(quote, opener + 1)
    close = -1
    while found != -1:
        close = found
        if found == opener + 1 or src[found - 1] != "\\":
            break
        found = src.find(quote, found + 1)
    while close > opener and after_ok(src, close + 1) == -1:
        close = src.rfind(quote, opener + 1, close)
    return close if close > opener else -1


def _reference_label_end(text: str, start: int) -> int:
    """Claude Code's `Nd`: the `]` ending a label without `[` or `]` inside (escapes allowed) that
    is not blank; -1 without one."""
    index = start
    while (match := _REFERENCE_STOP.search(text, index)) is not None:
        index = match.start()
        if text[index] != "\\":
            break
        if index + 1 >= len(text) or text[index + 1] in _LINE_BREAKS:
            return -1
        index += 2
    else:
        return -1
    return index if text[index] == "]" and js_trim(text[start:index]) else -1


def _setext(src: str, pos: int) -> tuple[int, _Token | None]:
    """A setext heading at `pos` (Claude Code's `ap`): its end and the heading, or where the search
    stopped (no setext heading starts before it) and None."""
    index = pos
    while True:
        line_end = src.find("\n", index)
        if line_end < 0 or not _setext_line(src[index:line_end]):
            return max(index, pos + 1), None
        index = line_end + 1
        if index - pos > 1:
            underline = _underline(src, index)
            if underline > 0:
                return underline, _Token("heading", src[pos : index - 1])
        after = _skip(src, index, "\t\v\f\r \xa0")
        if after < len(src) and src[after] == "\n":
            return max(index, pos + 1), None


def _setext_line(line: str) -> bool:
    """Claude Code's `EL`: a line that may be part of a setext heading's text."""
    if line[:2] in ("- ", "+ ", "* ") or line.startswith("    ") or "\u2028" in line or "\u2029" in line:
        return False
    digits = _skip(line, 0, "0123456789", 10)
    if 0 < digits <= 9 and line[digits : digits + 2] in (". ", ") "):
        return False
    rest = line[_skip(line, 0, " ", 3) :]
    if rest[:1] in ("\t", "#", ">") or rest[:3] in ("```", "~~~"):
        return False
    return not (len(rest) > 2 and rest[0] == "<" and rest[-1] == ">" and ">" not in rest[1:-1])


def _underline(src: str, start: int) -> int:
    line_end = _line_end(src, start)
    line = src[start:line_end]
    at = _skip(line, 0, " ", 3)
    mark = line[at : at + 1]
    if mark not in ("-", "=") or line[_skip(line, at, mark) :].strip(" "):
        return -1
    return _skip(src, line_end, "\n")


def _paragraph(src: str, pos: int) -> int:
    end = _line_end(src, pos)
    while end + 1 < len(src):
        following = _line_end(src, end + 1)
        if _interrupts(src[end + 1 : following], following >= len(src)):
            break
        end = following
    return end


def _list_start(src: str, pos: int) -> bool:
    """Claude Code's list test: a marker, then the line's end or a space and more on the line."""
    end = _marker_end(src, pos)
    if end < 0:
        return False
    line_end = _line_end(src, pos)
    return end == line_end or (src[end] in "\t " and end + 1 < line_end)


def _next_marker(src: str, start: int, kind: str) -> int:
    """The end of the marker of a next item of the same kind at `start`; -1 without (Claude
    Code's `pp`)."""
    end = _marker_end(src, start)
    if end < 0 or src[end - 1] != kind or _is_hr(src[start : _line_end(src, start)], 0):
        return -1
    return end


def _item(src: str, start: int, marker: int) -> tuple[str, int, bool]:
    """One list item (Claude Code's `Iw`): its content, where the next item would start, and
    whether its last line is blank."""
    line_end = _line_end(src, marker)
    tabs = _skip(src, marker, "\t")
    first = src[tabs:line_end]
    if tabs > marker:
        first = " " * (3 * (tabs - marker)) + first
    blank = not js_trim(first)
    indent = marker - start
    content = ""
    if blank:
        indent += 1
        following = min(line_end + 1, len(src))
        after = _skip(src, following, "\t ")
        if after >= len(src) or src[after] == "\n":
            return "", min(after + 1, len(src)), True
    else:
        spaces = _skip(src, marker, " ") - marker
        shift = 1 if spaces > 4 else spaces
        content = first[shift:]
        indent += shift
    more, stop, blank_end = _item_lines(src, line_end, indent, first, blank)
    return content + more, min(stop + 1, len(src)), blank_end


def _item_lines(src: str, stop: int, indent: int, previous: str, saw_blank: bool) -> tuple[str, int, bool]:
    """The lines after an item's first (Claude Code's `hp`): indented ones dedented, lazy ones as
    they are; the end of the last one taken, and whether it is blank."""
    lines: list[str] = []
    blank = False
    deepest = min(3, indent - 1)
    while stop + 1 < len(src):
        start = stop + 1
        end = _line_end(src, start)
        line = src[start:end]
        first = len(line) - len(line.lstrip(" "))
        if first <= deepest and _ends_item(line, first):
            break
        expanded = line.replace("\t", "    ")
        blank = not js_trim(line)
        dedented = expanded[indent:]
        if blank or len(expanded) - len(expanded.lstrip(" ")) >= indent:
            lines.append(dedented)
        elif saw_blank or not _lazy_after(previous, deepest):
            break
        else:
            lines.append(line)
        saw_blank = saw_blank or blank
        previous, stop = dedented, end
    return "".join("\n" + line for line in lines), stop, blank and bool(lines)


def _ends_item(line: str, at: int) -> bool:
    """Claude Code's `TL` at the first non-space of a line: a heading, fence, hr, HTML or list
    marker that ends a list item."""
    rest = line[at:]
    if rest[:1] == "#" or rest[:3] in ("```", "~~~") or rest.startswith("<!--") or _is_hr(rest, 0, tabs=False):
        return True
    if rest[:1] == "<" and rest[1:2].isascii() and rest[1:2].isalpha():
        breaks = [rest.find(char, 2) for char in "\r\u2028\u2029"]
        limit = min([found for found in breaks if found >= 0], default=len(rest))
        if ">" in rest[2:limit]:
            return True
    end = _marker_end(rest, 0)
    return end > 0 and (end == len(rest) or rest[end] in "\t ")


def _lazy_after(previous: str, deepest: int) -> bool:
    """Claude Code's `NL`: a lazy line may follow `previous` (not code, nor a heading, fence or hr
    near the margin)."""
    indent = _indent_end(previous, 0)
    if indent >= 0 and previous[indent:].lstrip("\t "):
        return False
    first = len(previous) - len(previous.lstrip(" "))
    if first > deepest:
        return True
    rest = previous[first:]
    return not (rest[:1] == "#" or rest[:3] in ("```", "~~~") or _is_hr(rest, 0, tabs=False))


# --- inline tokens ------------------------------------------------------------------------------------


class _Inline:
    """The inline tokens of one text (a paragraph's, heading's, list text's, emphasis's, link's)."""

    def __init__(self, lexer: _Lexer, text: str, found: list[str], depth: int) -> None:
        self.lexer = lexer
        self.text = text
        self.found = found
        self.depth = depth
        self.mask: str | None = None
        self.absent: dict[str, int] = {}  # needle -> a search for it from there on failed
        self.end_space = len(text) - len(text.rstrip(JS_WHITESPACE))
        self.last_gt = text.rfind(">")
        self.last_paren = text.rfind(")")
        self.no_url_before = -1
        self.run_end = -1  # the end of the last run of emphasis marks measured
        self.closers: dict[str, tuple[int, int]] = {}  # mark -> (last closing run, marks) of a failed search

    def run(self) -> None:
        text, end = self.text, len(self.text)
        if self.depth >= MAX_DEPTH:
            self.found.append(text)
            return
        pos, before = 0, ""
        buffer: list[str] = []
        while pos < end:
            self.lexer.spend()
            char = text[pos]
            stop = -1
            if char == "\\":
                stop = pos + 2 if text[pos + 1 : pos + 2] in _ESCAPABLE else self._break(pos)
            elif char == " ":
                stop = self._break(pos)
            elif char == "<":
                stop = self._tag(pos, buffer)
                if stop < 0:
                    stop = self._autolink(pos, buffer)
            elif char in "![":
                stop = self._link(pos, buffer)
                if stop == -2:  # an undefined reference: its first character is text
                    buffer.append(char)
                    pos, before = pos + 1, ""
                    continue
            elif char in "*_":
                stop = self._emphasis(pos, before, buffer)
            elif char == "`":
                stop = self._code_span(pos)
            if stop >= 0:
                self._flush(buffer)
                pos, before = stop, ""
                continue
            stop = self._text_end(pos)
            buffer.append(text[pos:stop])
            if text[stop - 1] != "_":
                before = text[stop - 1]
            pos = stop
        self._flush(buffer)

    def _flush(self, buffer: list[str]) -> None:
        if buffer:
            self.found.append("".join(buffer))
            buffer.clear()

    def _child(self, inner: str) -> None:
        _Inline(self.lexer, inner, self.found, self.depth + 1).run()

    def _text_end(self, pos: int) -> int:
        """Where a text token from `pos` ends: before the next character that may start a token."""
        text = self.text
        first = _skip(text, pos, "`") if text[pos] == "`" else pos + 1
        match = _TEXT_STOP.search(text, first)
        if match is None:
            return len(text)
        if match.group() != "  \n":
            return match.start()
        newline = match.end() - 1
        if len(text) - newline <= self.end_space:
            return len(text)
        return _skip_back(text, newline, " ", first)

    def _break(self, pos: int) -> int:
        text = self.text
        if text[pos] == "\\":
            end = pos + 2 if text[pos + 1 : pos + 2] == "\n" else -1
        else:
            spaces = _skip(text, pos, " ")
            end = spaces + 1 if spaces - pos >= 2 and text[spaces : spaces + 1] == "\n" else -1
        return end if end >= 0 and len(text) - end > self.end_space else -1

    # tags and autolinks

    def _tag(self, pos: int, buffer: list[str]) -> int:
        text = self.text
        following = text[pos + 1 : pos + 2]
        if following == "?":
            end = self._past("?>", pos + 2)
        elif following == "!":
            if text.startswith("--", pos + 2):
                end = self._past("-->", pos + 2)
            elif text.startswith("[CDATA[", pos + 2):
                end = self._past("]]>", pos + 9)
            else:
                letters = pos + 2
                while letters < len(text) and text[letters].isascii() and text[letters].isalpha():
                    letters += 1
                if letters == pos + 2 or letters >= len(text) or text[letters] not in JS_WHITESPACE:
                    return -1
                end = self._past(">", letters + 1)
        elif following == "/":
            match = _CLOSE_TAG.match(text, pos + 2)
            end = match.end() if match is not None else -1
        else:
            name = _TAG_NAME.match(text, pos + 1)
            if name is None or name.end() > self.last_gt:
                return -1
            end = self._attributes(name.end())
        if end < 0:
            return -1
        self._flush(buffer)
        scanned = comment_text(text[pos:end])
        if scanned is not None:
            self.found.append(scanned)
        return end

    def _past(self, needle: str, start: int) -> int:
        if start >= self.absent.get(needle, len(self.text) + 1):
            return -1
        found = self.text.find(needle, start)
        if found < 0:
            self.absent[needle] = start
            return -1
        return found + len(needle)

    def _attributes(self, start: int) -> int:
        text, index = self.text, start
        while True:
            self.lexer.spend()
            spaces = _skip(text, index, JS_WHITESPACE)
            attribute = _ATTRIBUTE.match(text, spaces) if spaces > index else None
            if attribute is None:
                break
            index = attribute.end()
        index = _skip(text, index, JS_WHITESPACE)
        index += text.startswith("/", index)
        return index + 1 if text[index : index + 1] == ">" else -1

    def _autolink(self, pos: int, buffer: list[str]) -> int:
        end = self._url_autolink(pos)
        if end < 0:
            end = self._email_autolink(pos)
        if end < 0:
            return -1
        self._flush(buffer)
        self.found.append(self.text[pos + 1 : end - 1])
        return end

    def _url_autolink(self, pos: int) -> int:
        text = self.text
        first = pos + 1
        if not text[first : first + 1].isascii() or not text[first : first + 1].isalpha():
            return -1
        scheme = _skip(text, first + 1, _SCHEME_CHARS, 32)
        if not 2 <= scheme - first <= 32 or text[scheme : scheme + 1] != ":" or pos < self.no_url_before:
            return -1
        index = scheme + 1
        while index < len(text) and text[index] not in "<>" and ord(text[index]) > 0x20:
            index += 1
        if text[index : index + 1] != ">":
            self.no_url_before = index
            return -1
        if any(char in JS_WHITESPACE for char in text[pos:index]):
            return -1
        return index + 1

    def _email_autolink(self, pos: int) -> int:
        text = self.text
        index = _skip(text, pos + 1, _EMAIL_LOCAL)
        if index == pos + 1 or text[index : index + 1] != "@":
            return -1
        index, labels = index + 1, 0
        while True:
            label = _skip(text, index, _LABEL_CHARS)
            run = text[index:label]
            if not run or run[0] == "-" or len(run) >= 64 or run[-1] not in _ALNUM:
                return -1
            closer = text[label : label + 1]
            if closer == ".":
                index, labels = label + 1, labels + 1
            elif closer == ">" and labels:
                return label + 1
            else:
                return -1

    # links

    def _link(self, pos: int, buffer: list[str]) -> int:
        """A link or image at `pos`: its end; -2 for a reference to no definition, -1 for none."""
        text = self.text
        image = text[pos] == "!"
        start = pos + 1 if image else pos
        if text[start : start + 1] != "[":
            return -1
        label_end = _link_label_end(text, start + 1, self.lexer)
        if label_end >= 0 and text[label_end + 1 : label_end + 2] == "(":
            end = self._destination(pos, label_end + 1)
            if end >= 0:
                return self._link_token(buffer, image, text[start + 1 : label_end], end)
        reference = _reference(text, start, self.lexer)
        if reference is None:
            return -1
        end, label, shown, _short = reference
        if " ".join(label.split()).lower() not in self.lexer.links:
            return -2
        return self._link_token(buffer, image, shown, end)

    def _link_token(self, buffer: list[str], image: bool, label: str, end: int) -> int:
        self._flush(buffer)
        if not image:
            self._child(label.replace("\\[", "[").replace("\\]", "]"))
        return end

    def _destination(self, pos: int, paren: int) -> int:
        """Claude Code's `zw`: the end of `(destination "title")` at `paren`; -1 for none."""
        text = self.text
        simple = paren + 1
        while simple < len(text) and "!" <= text[simple] <= "~" and text[simple] not in "()<\\":
            simple += 1
        if simple > paren + 1 and text[simple : simple + 1] == ")":
            return simple + 1
        if self.last_paren < paren:
            return -1
        start = _skip(text, paren + 1, JS_WHITESPACE)
        angle = text[start : start + 1] == "<"
        if angle and self.last_gt < start:
            return -1
        space = start
        while space < len(text) and text[space] not in JS_WHITESPACE and text[space] > " ":
            self.lexer.spend()
            space += 1
        found: tuple[int, int, int] | None = None
        for attempt in (0, 1, 2) if angle else (1, 2):
            begin, stop = start, space
            if attempt == 0:
                stop = _ANGLE_DESTINATION.match(text, start + 1).end()  # type: ignore[union-attr]
                stop = stop + 1 if stop > start + 1 and text[stop : stop + 1] == ">" else -1
            elif attempt == 2:
                stop = text.rfind(")", start, space)
                if stop < start:
                    begin = stop = paren + 1
            found = self._title(begin, stop)
            if found is not None:
                break
        if found is None:
            return -1
        end, begin, stop = found
        destination = text[begin:stop]
        if not angle:
            unbalanced = self._unbalanced_paren(destination)
            return end if unbalanced < 0 else _skip_back(text, paren + unbalanced + 2, JS_WHITESPACE, pos)
        backslashes = len(destination) - 1
        while backslashes > 0 and destination[backslashes - 1] == "\\":
            backslashes -= 1
        if not destination.endswith(">") or (len(destination) - 1 - backslashes) % 2 == 1:
            return -1
        return end

    def _title(self, begin: int, stop: int) -> tuple[int, int, int] | None:
        """Claude Code's `JL`: after a destination `begin:stop`, `)` or a title and `)`."""
        if stop < 0:
            return None
        text = self.text
        after = _skip(text, stop, JS_WHITESPACE)
        char = text[after : after + 1]
        if char == ")":
            return after + 1, begin, stop
        if after == stop or char == "" or char not in "\"'(":
            return None
        self.lexer.spend(8)
        close = _title_close(text, after, ")" if char == "(" else char, _paren_after)
        if close < 0:
            return None
        return _paren_after(text, close + 1), begin, stop

    def _unbalanced_paren(self, destination: str) -> int:
        """Claude Code's `QL`: the first `)` of `destination` that no `(` opened; -1 without."""
        depth = 0
        index = 0
        while (match := _DESTINATION_PAREN.search(destination, index)) is not None:
            self.lexer.spend()
            index = match.start()
            char = destination[index]
            if char == ")" and depth == 0:
                return index
            if char == "\\":
                index += 2
                continue
            depth += 1 if char == "(" else -1
            index += 1
        return -1

    # emphasis and code

    def _emphasis(self, pos: int, before: str, buffer: list[str]) -> int:
        """Claude Code's `zN`: emphasis or strong emphasis opened at `pos`; its end, or -1."""
        text = self.text
        if pos >= self.run_end:
            self.run_end = _skip(text, pos, text[pos])
        run = self.run_end - pos
        after = pos + run
        if after >= len(text) or char_kind(text[after]) == 0 or not _can_open(text, pos, run, before):
            return -1
        if self.mask is None:
            self.mask = _mask(text, self.lexer)
        closing = self._closer(after, text[pos], run)
        if closing is None:
            return -1
        start, size = closing
        self._flush(buffer)
        raw_end = after + start + size
        strip = 2 - (min(run, size) & 1)
        self._child(text[pos + strip : raw_end - strip])
        return raw_end

    def _closer(self, after: int, mark: str, run: int) -> tuple[int, int] | None:
        """Claude Code's `Bw`: (offset from `after`, marks used) of the run that closes emphasis
        opened by `run` marks that end at `after`."""
        mask = self.mask
        assert mask is not None
        star = mark == "*"
        known = self.closers.get(mark)  # what a failed search found: no closing run after `last`
        if known is not None and after > known[0] and mask[after + 1 : after + 2] != mark:
            return None
        count, middle = run, 0
        start = _skip_double(mask, after, star)
        last, marks = start - 1, 1
        index = mask.find(mark, start)
        while index != -1:
            self.lexer.spend()
            stop = _skip(mask, index + 1, mark)
            if index != after:
                if known is not None and index > after + 1 and index > known[0]:
                    return None
                left = char_kind(mask[index - 1])
                right = char_kind(mask[stop : stop + 1])
                both = left == right and (left == 1 or (star and left == 2))
                size = stop - index
                if left < right and not both:
                    count += size
                    if known is not None and count > known[1]:
                        return None
                elif left > right or both:
                    last, marks = index, marks + size
                    if both and run % 3 != 0 and (run + size) % 3 == 0:
                        middle += size
                    else:
                        count -= size
                        if count <= 0:
                            return index - after, size + min(0, count + middle)
            index = mask.find(mark, stop)
        self.closers[mark] = (last, marks)
        return None

    def _code_span(self, pos: int) -> int:
        text = self.text
        run = _skip(text, pos, "`") - pos
        key = "`" * min(run, 64) + str(run)
        if pos + run >= self.absent.get(key, len(text) + 1):
            return -1
        index = text.find("`", pos + run)
        while index != -1:
            self.lexer.spend()
            stop = _skip(text, index, "`")
            if stop - index == run:
                return stop
            index = text.find("`", stop)
        self.absent[key] = pos + run
        return -1


def _paren_after(text: str, start: int) -> int:
    """Claude Code's `Gw`: after optional whitespace, `)`; the index after it, or -1."""
    index = _skip(text, start, JS_WHITESPACE)
    return index + 1 if text[index : index + 1] == ")" else -1


def _can_open(text: str, pos: int, run: int, before: str) -> bool:
    """Claude Code's `Fw`: whether `run` marks at `pos` may open emphasis after `before` (the last
    character of the text token before them; empty after any other token)."""
    if not before:
        return True
    astral = ord(before) > 0xFFFF  # JavaScript sees its low surrogate: no letter, no punctuation
    kind = 2 if astral else char_kind(before)
    if char_kind(text[pos + run : pos + run + 1]) == 2:
        return text[pos] == "*" or astral or unicodedata.category(before)[0] not in "LN"
    return before not in "*_" and kind != 2


def _skip_double(mask: str, after: int, star: bool) -> int:
    """Claude Code's `jL`: for `*`, a `__a*b__` right after the opener is skipped to its closing
    `__` (for `_`, `**a_b**`)."""
    other, single = ("_", "*") if star else ("*", "_")
    first = _DELIMITER.search(mask, after)
    if first is None or not mask.startswith(other * 2, first.start()):
        return after
    middle = _DELIMITER.search(mask, first.start() + 2)
    if middle is None or mask[middle.start()] != single:
        return after
    last = _DELIMITER.search(mask, middle.start() + 1)
    if last is None or not mask.startswith(other * 2, last.start()):
        return after
    return max(after, last.start())


def _link_label_end(text: str, start: int, lexer: _Lexer) -> int:
    """Claude Code's `Sp`: the `]` that closes a link's text (one level of brackets inside, code
    spans and escapes skipped); -1 without one."""
    nested = False
    index = start
    while (match := _LABEL_STOP.search(text, index)) is not None:
        lexer.spend()
        index = match.start()
        char = text[index]
        if char == "\\":
            index += 1
            if index >= len(text) or text[index] in _LINE_BREAKS:
                return -1
        elif char == "`":
            if not nested:
                index = text.find("`", index + 1)
                if index < 0:
                    return -1
        elif char == "[":
            if nested:
                return -1
            nested = True
        elif not nested:
            return index
        else:
            nested = False
        index += 1
    return -1


def _reference(text: str, start: int, lexer: _Lexer) -> tuple[int, str, str, bool] | None:
    """Claude Code's `Hd`: `[text][label]`, `[label][]` or `[label]` at `start`: its end, label,
    text, and whether it is the short form."""
    label_end = _link_label_end(text, start + 1, lexer)
    if label_end >= 0 and text[label_end + 1 : label_end + 2] == "[":
        close = _reference_label_end(text, label_end + 2)
        if close != -1:
            shown = text[start + 1 : label_end]
            return close + 1, text[label_end + 2 : close] or shown, shown, False
    close = _reference_label_end(text, start + 1)
    if close == -1:
        return None
    label = text[start + 1 : close]
    return (close + 3 if text.startswith("[]", close + 1) else close + 1), label, label, True


def _mask(text: str, lexer: _Lexer) -> str:
    """Claude Code's `qw`: the text the emphasis search looks at, of the same length: references to
    definitions, links, angle brackets and code hidden as `[aaa]`, escaped punctuation as `++`."""
    if lexer.links:
        text = _mask_references(text, lexer)
    parts, start, index = [], 0, 0
    while (match := _MASKED.search(text, index)) is not None:
        lexer.spend()
        begin = match.start()
        end = _paren_end(text, match.end(), lexer) if text[begin] == "[" else match.end()
        if end != -1:
            parts.append(text[start:begin] + _hidden(end - begin))
            start = end
        index = max(end, begin + 1)
    parts.append(text[start:])
    masked = "".join(parts)
    parts, start = [], 0
    index = masked.find("\\")
    while index != -1:
        if char_kind(masked[index + 1 : index + 2]) == 1:
            parts.append(masked[start:index] + "++")
            start = index + 2
        index = masked.find("\\", max(start, index + 1))
    parts.append(masked[start:])
    return "".join(parts)


def _hidden(length: int) -> str:
    return "[" + "a" * (length - 2) + "]"


def _paren_end(text: str, start: int, lexer: _Lexer) -> int:
    """Claude Code's `eN`: after the `)` that closes a link's destination from `start` (one level
    of parentheses inside); -1 without one."""
    depth, index = 1, start
    while (match := _PAREN_STOP.search(text, index)) is not None:
        lexer.spend()
        index = match.start()
        char = text[index]
        if char == "\\":
            index += 1
            if index >= len(text) or text[index] in _LINE_BREAKS:
                return -1
        elif char == "(":
            depth += 1
            if depth > 2:
                return -1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return -1


def _mask_references(text: str, lexer: _Lexer) -> str:
    """Claude Code's `ZL`: references whose bracketed text (as written) names a definition."""
    parts, start = [], 0
    index = text.find("[")
    while index != -1:
        lexer.spend()
        reference = _reference(text, index, lexer)
        end = reference[0] if reference is not None else -1
        if reference is not None and reference[3] and text[end : end + 1] == "(":
            end = end - 2 if text[end - 2 : end - 1] == "[" and end - index == len(reference[1]) + 4 else -1
        if end == -1:
            index = text.find("[", index + 1)
            continue
        if text[text.rfind("[", 0, end - 1) + 1 : end - 1] in lexer.links:
            begin = index - 1 if index > start and text[index - 1] == "!" else index
            parts.append(text[start:begin] + _hidden(end - begin))
            start = end
        index = text.find("[", end)
    parts.append(text[start:])
    return "".join(parts)
