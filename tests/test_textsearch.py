"""The one text-search kernel that route and memory share: words, stop words, stems, BM25."""

from __future__ import annotations

import math

import pytest

from agentctl import textsearch
from agentctl.textsearch import Analyzer, byte_tokens, idf, iter_tokens, length_norm, saturation, stem, stem_prefix


def test_tokens_keep_ascii_letters_and_digits_and_spellings() -> None:
    assert textsearch.tokens("Fix the C++ build, Next.js and end-to-end tests (p95: 38 ms)") == [
        *("fix", "the", "cpp", "build", "nextjs", "and", "end2end", "tests", "p95", "38", "ms"),
    ]
    assert byte_tokens("Café transcription_words") == [b"caf", b"transcription", b"words"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("index", "indexes", "indexed", "indexing"), "index"),
        (("optimise", "optimize", "optimisation", "optimization", "optimizer"), "optimiz"),
        (("policy", "policies"), "policy"),
        (("run", "running"), "run"),
        (("colour", "colours"), "color"),
    ],
)
def test_stems_fold_inflections_and_spellings(words: tuple[str, ...], expected: str) -> None:
    assert {stem(word) for word in words} == {expected}
    assert all(word.startswith(stem_prefix(expected)) for word in words)  # what memory's search relies on


def test_analyzer_drops_stop_words_and_memoises() -> None:
    plain = Analyzer()
    assert plain.terms("The indexes of the words table for 2024") == ["index", "word", "tabl", "2024"]
    route_like = Analyzer(textsearch.STOPWORDS | {"table"}, {"db": "database"}, numbers=False)
    assert route_like.terms("the db table 2024") == ["databas"]
    assert plain.term("indexes") is plain.term("indexes")


def test_first_terms_stop_at_the_limit_and_keep_the_written_word() -> None:
    assert Analyzer().first_terms("Indexes and index, words", 5) == {"index": "indexes", "word": "words"}
    assert list(Analyzer().first_terms("a b cc dd ee ff", 2)) == ["cc", "dd"]


def test_iter_tokens_reads_a_long_text_in_chunks_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textsearch, "CHUNK", 7)
    text = "alpha beta\tgamma\n" * 20 + "unbrokenrunofletters" * 3 + " end"
    assert list(iter_tokens(text)) == textsearch.tokens(text)


def test_bm25_weighting() -> None:
    assert idf(10, 0) > idf(10, 1) > idf(10, 10) > 0
    assert idf(10, 3) == pytest.approx(math.log(1 + 7.5 / 3.5))
    assert length_norm(50, 100) == pytest.approx(0.625) and length_norm(5, 0) == 1.0
    assert length_norm(200, 100, b=0.5) == pytest.approx(1.5)
    assert saturation(0) == 0 and saturation(1.2) == pytest.approx(0.5) and saturation(1e9) < 1
