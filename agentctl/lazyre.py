"""Regular expressions compiled on first use.

Read-only commands have a start-up budget (1.5x `import typer`); patterns that only the
rarer paths need (frontmatter that is not YAML, examples, fallbacks) should not cost every run
their compile time at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any


class LazyPattern:
    """A pattern compiled on first use. The methods agentctl calls are spelled out (each a plain
    call to the compiled pattern's); anything else goes through `__getattr__`, which costs more:
    validate of a team makes tens of thousands of such calls."""

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled

    def match(self, text: str, *bounds: int) -> re.Match[str] | None:
        return (self._compiled or self.compiled()).match(text, *bounds)

    def fullmatch(self, text: str, *bounds: int) -> re.Match[str] | None:
        return (self._compiled or self.compiled()).fullmatch(text, *bounds)

    def search(self, text: str, *bounds: int) -> re.Match[str] | None:
        return (self._compiled or self.compiled()).search(text, *bounds)

    def finditer(self, text: str, *bounds: int) -> Iterator[re.Match[str]]:
        return (self._compiled or self.compiled()).finditer(text, *bounds)

    def findall(self, text: str, *bounds: int) -> list[Any]:
        return (self._compiled or self.compiled()).findall(text, *bounds)

    def split(self, text: str, maxsplit: int = 0) -> list[str | Any]:
        return (self._compiled or self.compiled()).split(text, maxsplit)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str, count: int = 0) -> str:
        return (self._compiled or self.compiled()).sub(replacement, text, count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)
