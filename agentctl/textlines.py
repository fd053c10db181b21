"""Line and column numbers of places in a text, found without rescanning it; and text cut short
for a message line.

`text.count("\\n", 0, offset)` for each match of a pattern costs the text's length per match: a
1 MiB agent file with 100,000 TODOs or `<example>` blocks would take minutes. A LineCounter moves
forward from the last place it was asked about, so asking about every match in order costs one pass.
"""

from __future__ import annotations


class LineCounter:
    """1-based line and column of offsets in `text`, cheapest when asked in increasing order."""

    __slots__ = ("_line", "_line_start", "_offset", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1
        self._line_start = 0  # offset where the current line begins

    def position(self, offset: int) -> tuple[int, int]:
        if offset < self._offset:  # asked out of order: start again from the top
            self._offset, self._line, self._line_start = 0, 1, 0
        breaks = self._text.count("\n", self._offset, offset)
        if breaks:
            self._line += breaks
            self._line_start = self._text.rfind("\n", self._offset, offset) + 1
        self._offset = offset
        return self._line, offset - self._line_start + 1

    def line_of(self, offset: int) -> int:
        return self.position(offset)[0]


def shorten(text: str, width: int) -> str:
    """`text` on one line (spaces collapsed), cut to `width` characters with an ellipsis: how every
    message and table cell shows text that came from a file, a model or the command line."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "\u2026"
