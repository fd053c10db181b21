"""The one text-search kernel: words, stop words, a light stemmer and BM25's term weighting.

`route` (agents for a task) and memory (`memory search`, the notes a dispatch prompt gets) read
text the same way through it, so that "indexes" finds what "index" finds in both. What is
particular to one of them stays there: route's thesaurus, word pairs, abbreviations and its extra
stop words; memory's fields and their weights.

Cheap to import (no dataclasses, no compiled patterns at import): `agentctl route` and `memory
list` have the start-up budget of a read-only command.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping

from agentctl.lazyre import LazyPattern

# fmt: off
# Function words: they say nothing about what a text is about.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is", "it",
    "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "when", "which", "with", "without",
    "not", "no", "but", "if", "then", "than", "so", "do", "does", "did", "can", "could", "should", "would", "will",
))
# fmt: on

# BM25's constants: term-frequency saturation and how much a document's length counts.
K1 = 1.2
B = 0.75

# Spellings of one thing that splitting at non-alphanumerics would break up or lose ("Next.js" is "nextjs").
_SPELLINGS = (
    (b"c++", b" cpp "),
    (b"c#", b" csharp "),
    (b".net", b" dotnet "),
    (b"n+1", b" nplus1 "),
    (b".js", b"js"),
    (b"end-to-end", b" end2end "),
)
_END_TO_END = LazyPattern(r"\bend to end\b")
_SEPARATORS = bytes(code if code < 128 and chr(code).isalnum() else 32 for code in range(256))
_SPACE = LazyPattern(r"\s")
CHUNK = 1 << 16  # characters of a long text tokenized at a time by `iter_tokens`


# --- words ------------------------------------------------------------------------------------------


def normalized(text: str) -> bytes:
    """The text lower-cased (ASCII only: nothing else is ever a word), its spellings rewritten."""
    # Bytes, not a regular expression over str: bodies are long, and `re` costs about four times as
    # much per character.
    lowered = text.encode("utf-8", "replace").lower()
    for written, spelled in _SPELLINGS:
        if written in lowered:
            lowered = lowered.replace(written, spelled)
    if b"end to end" in lowered:
        lowered = _END_TO_END.sub("end2end", lowered.decode()).encode()
    return lowered


def normalized_joined(texts: Iterable[str]) -> str:
    """Many texts normalized in one pass (a call per text costs more than the work on a short one),
    joined by NUL: no spelling holds one, and any NUL of the texts is made a space first (both
    separate words), so NULs mark where each text ends."""
    texts = list(texts)
    joined = "\x00".join(texts)
    if joined.count("\x00") >= len(texts):  # a text holds a NUL of its own
        joined = "\x00".join(text.replace("\x00", " ") for text in texts)
    return normalized(joined).decode()


def byte_tokens(text: str) -> list[bytes]:
    """Lower-case runs of ASCII letters and digits: every other byte separates words."""
    return normalized(text).translate(_SEPARATORS).split()


def tokens(text: str) -> list[str]:
    return [token.decode() for token in byte_tokens(text)]


def iter_tokens(text: str) -> Iterator[str]:
    """The tokens of a text that may be megabytes, a chunk at a time (cut at white space): a caller
    that stops early pays neither the time nor the memory of the rest."""
    start = 0
    while start < len(text):
        space = _SPACE.search(text, start + CHUNK) if start + CHUNK < len(text) else None
        end = space.start() if space else len(text)
        yield from tokens(text[start:end])
        start = end + 1


# (suffix, replacement, shortest stem left): derivations folded onto their verb or noun.
_DERIVATIONS = (
    ("isation", "ize", 3),
    ("ization", "ize", 3),
    ("izer", "ize", 3),
    ("iser", "ize", 3),
    ("ational", "ate", 3),
    ("ation", "ate", 3),
    ("ement", "e", 3),
    ("ment", "", 4),
    ("ness", "", 3),
    ("ility", "le", 3),
    ("ity", "", 4),
)
# The last letters of every ending the stemmer removes or rewrites.
_SUFFIX_ENDS = frozenset("sdgetyrnl")


def stem(word: str) -> str:
    """A light stemmer: plurals, -ing/-ed, a few derivations, British spellings (optimise, colour).

    Every word with a given stem starts with that stem less its last letter (`stem_prefix`)."""
    if len(word) <= 3 or word[-1] not in _SUFFIX_ENDS or not word.isalpha():
        return word  # most words end in a letter no rule removes
    word = _inflection(word)
    for suffix, replacement, shortest in _DERIVATIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[: -len(suffix)] + replacement
            break
    if word.endswith(("ise", "ised", "ising")) and len(word) > 5:
        cut = word.rfind("is")
        word = word[:cut] + "iz" + word[cut + 2 :]
    if word.endswith("our") and len(word) >= 6:
        word = word[:-3] + "or"
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _inflection(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":  # running -> run
                base = base[:-1]
            return base
    return word


def stem_prefix(term: str) -> str:
    """What every word with this stem starts with: the words to look at for a term."""
    return term[:-1] if len(term) > 2 else term


class Analyzer:
    """Words -> terms: stop words dropped, abbreviations spelled out, the rest stemmed; memoised
    (vocabularies are small). A plain class: each dataclass costs about 0.8 ms of import time."""

    __slots__ = ("_abbreviations", "_memo", "_numbers", "stopwords")

    def __init__(
        self,
        stopwords: frozenset[str] = STOPWORDS,
        abbreviations: Mapping[str, str] | None = None,
        numbers: bool = True,
    ) -> None:
        self.stopwords = stopwords
        self._abbreviations = abbreviations or {}
        self._numbers = numbers  # whether a number ("404", "2024") is a term
        self._memo: dict[str, str] = {}

    def term(self, word: str) -> str:
        """The term of one lower-case word, "" for a word that is dropped."""
        known = self._memo.get(word)
        if known is None:
            dropped = word in self.stopwords or len(word) < 2 or (not self._numbers and word.isdigit())
            known = self._memo[word] = "" if dropped else stem(self._abbreviations.get(word, word))
        return known

    def terms(self, text: str) -> list[str]:
        """The text's terms in the order written, repeats kept."""
        return [found for found in map(self.term, tokens(text)) if found]

    def first_terms(self, text: str, limit: int) -> dict[str, str]:
        """The first `limit` distinct terms of a text, in text order -> the word first written for
        each; the scan stops at the limit, however long the text."""
        found: dict[str, str] = {}
        for word in iter_tokens(text):
            term = self.term(word)
            if term and term not in found:
                found[term] = word
                if len(found) >= limit:
                    break
        return found


# --- BM25 -------------------------------------------------------------------------------------------


def idf(documents: int, frequency: int) -> float:
    """Rarity of a term found in `frequency` of `documents` (BM25's idf, always positive)."""
    return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def length_norm(length: float, average: float, b: float = B) -> float:
    """BM25's length normalisation: a term counts less in a document longer than the average."""
    return 1 - b + b * length / average if average else 1.0


def saturation(frequency: float, k1: float = K1) -> float:
    """BM25's saturation of a (length-normalised) term frequency, 0..1: the tenth occurrence of a
    word adds less than the first."""
    return frequency / (k1 + frequency)
