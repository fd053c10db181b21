"""No input makes agentctl raise: mangled real agent files go through load, validate and fmt."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentctl.fmt import format_text
from agentctl.spec import parse_agent_bytes
from agentctl.validate import check_agent
from tests.conftest import CLAUDE_CODE_FIXTURES, CORPUS, REPO


def real_files() -> list[bytes]:
    paths = sorted(CLAUDE_CODE_FIXTURES.rglob("*.md")) + sorted((REPO / "agents").glob("*.md"))
    if CORPUS.is_dir():
        paths += sorted(CORPUS.rglob("*.md"))[::25]
    return [path.read_bytes() for path in paths]


SEEDS = real_files()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MANGLERS))(draw, data)
    return data


def cut_short(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def random_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


def shift_indentation(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    index = draw(st.integers(0, max(len(lines) - 1, 0)))
    prefix = draw(st.sampled_from([b" ", b"  ", b"\t", b"    ", b"- "]))
    lines[index] = prefix + lines[index] if draw(st.booleans()) else lines[index].lstrip()
    return b"\n".join(lines)


def double_delimiters(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    index = draw(st.integers(0, max(len(lines) - 1, 0)))
    lines.insert(index, draw(st.sampled_from([b"---", b"--- ", b"----", b"...", b"---\r"])))
    return b"\n".join(lines)


def swap_line_endings(draw: st.DrawFn, data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n") if draw(st.booleans()) else data.replace(b"\n", b"\r")


def yaml_noise(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    noise = draw(
        st.sampled_from([b": ", b" #", b'"', b"'", b"[", b"{{", b"&a", b"*a", b"!!int ", b"|", b">-", b"\\n", b"\t"])
    )
    return data[:at] + noise + data[at:]


MANGLERS = [cut_short, random_bytes, shift_indentation, double_delimiters, swap_line_endings, yaml_noise]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_files_never_raise(data: bytes) -> None:
    path = Path("agents/mangled.md")
    agent = parse_agent_bytes(path, data)
    for diagnostic in check_agent(agent):
        assert diagnostic.line >= 1 and diagnostic.column >= 1 and diagnostic.message
    text = data.decode("utf-8", errors="replace")
    result = format_text(path, text)
    if result.changed:  # whatever fmt writes, Claude Code's model reads as valid YAML
        reformatted = parse_agent_bytes(path, result.formatted.encode("utf-8"))
        assert reformatted.reading is not None and reformatted.reading.status == "valid"
