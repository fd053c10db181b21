"""agentctl.ccyaml reads YAML as Claude Code's runtime (Bun 1.4.4) does.

Every expected value below was produced by Bun.YAML.parse itself during differential testing;
they pin the places where Bun and a standard YAML library disagree.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentctl import bunyaml, ccyaml
from agentctl.claude_code import cut_frontmatter
from tests.conftest import CLAUDE_CODE_FIXTURES, CORPUS, REPO

BUN_CASES = [
    ("name: yes\n", True, {"name": "yes"}),  # YAML 1.2: yes is a string
    ("n: 012\n", True, {"n": 12}),  # decimal, not octal
    ("n: 0o17\n", True, {"n": 15}),  # octal
    ("n: 0x1F\n", True, {"n": 31}),  # hex
    ("n: 1e3\n", True, {"n": 1000}),  # JavaScript number
    ("d: 2024-01-01\n", True, {"d": "2024-01-01"}),  # no timestamps
    ("a: True\n", True, {"a": True}),  # bool
    ("a: NO\n", True, {"a": "NO"}),  # string
    ("a: ~\n", True, {"a": None}),  # null
    ("a: !custom x\n", True, {"a": "x"}),  # unknown tag ignored
    ("a: !!int x\n", True, {"a": "x"}),  # bad explicit int kept as text
    ("a: 1\na: 2\n", True, {"a": 2}),  # duplicate keys: last wins
    ("a: &x 1\nb: *x\n", True, {"a": 1, "b": 1}),  # aliases
    ("<<: {a: 1}\nb: 2\n", True, {"a": 1, "b": 2}),  # merge keys
    ("1: one\ntrue: t\n", True, {"1": "one", "true": "t"}),  # keys become JS strings
    ("description: {{PLACEHOLDER}}\n", True, {"description": {"[object Object]": None}}),  # a flow mapping as key
    ("a: |\n  l1\n  l2", True, {"a": "l1\nl2\n"}),  # block scalar at end of text keeps its newline
    ("a: b: c\n", False, None),  # ': ' in a plain value
    ('a: "x\ny"\n', False, None),  # quoted continuation at column 0
    ('a: "x\n  y"\n', True, {"a": "x y"}),  # quoted continuation indented
    ('a:\n  b: "x\n  y"\n', False, None),  # quoted continuation at the key's indentation
    ('a:\n  b: "x\n   y"\n', True, {"a": {"b": "x y"}}),  # quoted continuation deeper than the key
    ("a: [x,\ny]\n", False, None),  # flow list continuation at column 0
    ("a: x\n\t\nb: y\n", True, {"a": "x", "b": "y"}),  # a tab-only line between entries
    ("a: x\n\t# c\nb: y\n", True, {"a": "x", "b": "y"}),  # a tab before a comment line
    ("a: |\n  x\n\t\n  y\n", False, None),  # a tab-only line inside a block scalar
    ("a: b\nc: x #t\n\t\nd: e\n", False, None),  # a tab line after an entry with a comment
    ("c: x #t\n\t\nd: e\n", True, {"c": "x", "d": "e"}),  # the same after the first entry
    ("description: >\n  \tx\n", True, {"description": "\tx\n"}),  # a tab after a block scalar's indentation
    ('a: "x\r\n y"\r\n', True, {"a": "x\ny"}),  # CRLF inside a quoted scalar folds to a newline
    ("a: x\r\n y\r\n", True, {"a": "x y"}),  # CRLF inside a plain scalar folds to a space
    ("a: ,x\n", True, {"a": ",x"}),  # a plain value may start with a comma
    ('a: "q" trailing\n', False, None),  # text after a closing quote
    ("a: @x\n", False, None),  # reserved indicator
    ("\ta: b\n", False, None),  # tab indentation
    ("- a\n- b\n", True, ["a", "b"]),  # a list
    ("just text\n", True, "just text"),  # a scalar
    ("", True, None),  # empty
    ("# only a comment\n", True, None),  # comment only
]


@pytest.mark.parametrize(("text", "ok", "value"), BUN_CASES, ids=[repr(case[0])[:40] for case in BUN_CASES])
def test_reads_yaml_as_bun_does(text: str, ok: bool, value: object) -> None:
    result = ccyaml.parse(text)
    assert result.ok == ok, result.error
    if ok:
        assert result.value == value


@pytest.mark.parametrize("text", [case[0] for case in BUN_CASES], ids=[repr(case[0])[:40] for case in BUN_CASES])
def test_the_pure_python_reader_composes_what_libyaml_composes(text: str) -> None:
    """The pure-Python parser's events are composed by yamlbudget's replay (to count their depth
    first); libyaml composes in C. Both must build the same values."""
    try:
        fast = bunyaml._load(text + "\n", bunyaml._LOADERS[0])
    except yaml.YAMLError:  # texts libyaml refuses have nothing to compare
        return
    pure = bunyaml._load(text + "\n", bunyaml._PureLoader)
    assert pure.value == fast.value and not pure.left_out and not fast.left_out


def test_standard_error_is_kept_when_only_bun_accepts() -> None:
    result = ccyaml.parse("a: x\n\t\nb: y\n")
    assert result.ok and result.standard_error is not None  # Claude Code reads it; libyaml does not


def test_bun_refusal_reports_the_line_to_fix() -> None:
    result = ccyaml.parse('name: x\ndescription: "first\nsecond"\n')
    assert result.error is not None and result.error.line == 3


def test_key_positions_and_duplicates() -> None:
    result = ccyaml.parse("name: a\ntools: Read\nname: b\n")
    assert result.key_positions == {"name": (3, 1), "tools": (2, 1)}
    assert result.duplicate_keys == [("name", 3)]


def test_js_string_spells_keys_like_javascript() -> None:
    assert [ccyaml.js_string(v) for v in (None, True, 1.0, 1.5, [1, None], {})] == [
        "null",
        "true",
        "1",
        "1.5",
        "1,",
        "[object Object]",
    ]


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    """The C parser is what keeps `validate` under a second for 651 files."""
    import yaml

    if not yaml.__with_libyaml__:
        return
    assert bunyaml._LOADERS[0].__name__ == "_FastLoader"


# --- the direct path for `key: plain words` frontmatter ---------------------------------------------------


PLAIN_VALUE_PARTS = st.sampled_from([*"abcXYZ019 -_:#'\"`,.[]{}!&*|>%@?=<~+/\\()éü\u00a0\t", "yes", "null", ": "])


def same_reading(text: str) -> None:
    """Where the direct path answers, the full reader gives the same result, field by field."""
    direct = ccyaml.read_plain_mapping(text)
    if direct is None:
        return
    full = bunyaml.parse(text)
    assert (direct.value, direct.key_positions, direct.duplicate_keys) == (
        full.value,
        full.key_positions,
        full.duplicate_keys,
    ), text
    assert full.error is None and full.standard_error is None, text


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["name", "description", "model", "tools", "color", "x_y", "Name", "yes", "a-b"]),
            st.lists(PLAIN_VALUE_PARTS, max_size=12).map("".join),
            st.sampled_from([": ", ":  ", ":", " : "]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_the_direct_path_reads_what_the_full_reader_reads(lines: list[tuple[str, str, str]]) -> None:
    same_reading("".join(f"{key}{separator}{value}\n" for key, value, separator in lines))


def test_the_direct_path_agrees_on_every_real_frontmatter() -> None:
    files = [*REPO.joinpath("agents").glob("*.md"), *CLAUDE_CODE_FIXTURES.glob("*.md"), *CORPUS.rglob("*.md")]
    answered = 0
    for path in files:
        block = cut_frontmatter(path.read_bytes().decode("utf-8", "replace"))
        if block is not None:
            same_reading(block.text)
            answered += ccyaml.read_plain_mapping(block.text) is not None
    if (REPO / "agents" / "db-architect.md").is_file():
        assert answered >= 16, "the shipped team's frontmatter takes the direct path"
