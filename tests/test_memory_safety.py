"""The memory store under hostile input: names that are paths, fields that hold line breaks, notes
that are FIFOs or megabytes of blank lines, tasks of fifty megabytes, and prune's rule (issue #10).

The hostile harness (tests/hostile/cases_memory.py) runs the same ground through the real CLI as a
subprocess; these tests pin the details in-process."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agentctl import bounds, memory
from agentctl.config import load_settings
from agentctl.errors import UnknownAgentError, UsageError
from agentctl.lazyre import LazyPattern
from agentctl.memory import MemoryStore, MemoryStoreError, parse_entry, prune_cutoff, query_terms
from tests.conftest import REPO, RunCli, copy_shipped_team, git

TODAY = dt.date(2026, 11, 21)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()
BODY = "The words table has no media_id column.\nIndex (transcription_id, start_ms) instead.\nMeasured p95: 38 ms."
NOTE = "# {topic}\n\n**Applies when:** {topic} comes up\n\nOne.\nTwo.\nThree.\n"


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path)


def store_of(root: Path, **environ: str) -> MemoryStore:
    return MemoryStore(load_settings(cwd=root, environ=environ), today=lambda: TODAY)


def old_note(folder: Path, name: str) -> Path:
    """A note last modified in 2020, in a team folder (agents/ and agents-shared/ beside it)."""
    for team_folder in ("agents", "agents-shared"):
        (folder.parent.parent / team_folder).mkdir(exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(NOTE.format(topic=name[11:-3].replace("-", " ")))
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


def age(root: Path) -> None:
    for path in root.rglob("*.md"):
        if not path.is_symlink():
            os.utime(path, (LONG_AGO, LONG_AGO))


# --- regular expressions: linear on any text --------------------------------------------------------

SIZE = bounds.MEMORY_NOTE_BYTES
HOSTILE_TEXTS = {
    "blank lines, then applies": "\n" * SIZE + "x applies when y",
    "punctuation lines": "!\n" * (SIZE // 2) + "applies",
    "a heading of spaces": "## Insight" + " " * SIZE + "x",
    "a title of newlines": "#" + "\n" * SIZE,
    "hyphenated digits": "2026-01-01-" + "a-1-" * (SIZE // 4) + "!",
    "an open backtick": "`" + "a" * SIZE,
    "slashes": "a/" * (SIZE // 2) + "!",
    "dots after a slash": "a/" + "a." * (SIZE // 2) + "!",
    "headers of spaces": ("##" + " " * 50 + "\n") * (SIZE // 53),
}
PATTERNS = {
    name: value.compiled() if isinstance(value, LazyPattern) else value
    for name, value in vars(memory).items()
    if isinstance(value, re.Pattern | LazyPattern)
}


# The old `applies when` pattern took 10 s on 16 KB of blank lines, minutes on this. "signal": the regex
# engine holds the GIL, so only a signal (which it checks for) can stop it; a watchdog thread cannot.
@pytest.mark.timeout(60, method="signal")
@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_every_pattern_of_the_store_is_linear_on_a_note_of_the_size_limit(text: str) -> None:
    assert {"_APPLIES", "_INSIGHT", "_TITLE", "NOTE_NAME", "_B_HEADER", "_PATH_MENTION"} <= PATTERNS.keys()
    for pattern in PATTERNS.values():
        pattern.search(text)
        pattern.match(text)
    parse_entry("x", "2026-01-01-x.md", text.encode())
    memory.note_fields("topic", text)
    memory.mentioned_paths(text)


def test_the_linear_patterns_read_notes_as_before() -> None:
    entry = parse_entry("x", "2026-01-01-x.md", b"# Title *x*\n\n**Applies when:** a query is slow\n\na\nb\n")
    assert (entry.topic, entry.applies_when, entry.format) == ("Title *x", "a query is slow", "A")
    spread = parse_entry("x", "2026-01-01-x.md", b"# T\n\n**Applies when:**\n\non the next line\n\na\nb\n")
    assert spread.applies_when == "on the next line"
    b = parse_entry(
        "x", "2026-01-01-x.md", b"# 2026-01-01-x.md\n## Insight: Pools\n## Domain: db\nx\n## Applies when: y\n"
    )
    assert (b.topic, b.applies_when, b.format) == ("Pools", "y", "B")
    shipped = MemoryStore(load_settings(cwd=REPO, environ={})).entries()
    assert shipped and all(not entry.problems and entry.applies_when and entry.topic for entry in shipped)


@pytest.mark.timeout(120)
def test_a_task_of_fifty_megabytes_is_ranked_on_its_first_distinct_terms(team: Path) -> None:
    early = query_terms("Index the words table. " + " ".join(f"w{n}" for n in range(2000)))
    assert len(early) == bounds.QUERY_TERMS and early[:3] == ["index", "word", "tabl"]  # stems
    assert early[-1] == f"w{bounds.QUERY_TERMS - 4}"  # deterministic: the first N in text order
    store = store_of(team)
    filler = " ".join(f"t{n}" for n in range(bounds.QUERY_TERMS))
    task = filler + " transcription words index " + "x " * (25 * 1024 * 1024)
    assert store.relevant("db-architect", task, 10_000) == []  # its real terms come after the cap
    chosen = store.relevant("db-architect", "transcription words index " + task, 10_000)
    assert "transcription-words-index" in [entry.slug for entry in chosen]


# --- AGENT is an agent name -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../backend-architect", "/etc", "agents-memory/db-architect", "..", ".", ""])
def test_a_path_is_not_an_agent(team: Path, name: str) -> None:
    with pytest.raises(UnknownAgentError):
        store_of(team).entries(name)


def test_names_resolve_as_agentctl_show_resolves_them(team: Path) -> None:
    store = store_of(team)
    by_name = [entry.file for entry in store.entries("db-architect")]
    assert by_name and [entry.file for entry in store.entries("DB Architect")] == by_name
    assert [entry.file for entry in store.entries("DB-ARCHITECT")] == by_name
    with pytest.raises(UnknownAgentError) as raised:
        store.entries("db-architekt")
    assert "did you mean 'db-architect'" in str(raised.value.hint)
    assert store.entries("security-auditor") == []  # an agent of the team with no notes yet


def test_a_typo_is_exit_2_with_a_did_you_mean_and_json(team: Path, cli: RunCli) -> None:
    for args in (
        ["list", "db-architekt"],
        ["show", "db-architekt", "x"],
        ["search", "words", "--agent", "db-architekt"],
    ):
        result = cli("memory", *args, "--format", "json", cwd=team)
        assert result.exit_code == 2, args
        assert "did you mean 'db-architect'" in result.json()["error"]["hint"]
    assert cli("memory", "list", "DB Architect", cwd=team).exit_code == 0


def test_the_prompt_path_takes_any_name_without_touching_the_file_system(team: Path) -> None:
    store = store_of(team)
    for name in ("a" * 300, "../backend-architect", "/etc", "x\x00y"):
        assert store.relevant(name, "words index", 10_000) == []
    assert store.relevant("db-architect", "words index", 10_000)


def test_a_symlinked_agent_folder_or_note_is_listed_with_a_problem_and_not_read(
    team: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "2026-01-01-secret.md").write_text(NOTE.format(topic="secret"))
    (team / "agents-memory" / "e2e-tester").symlink_to(outside)
    (team / "agents-memory" / "README.md").symlink_to(outside / "2026-01-01-secret.md")  # not a folder: skipped
    (team / "agents-memory" / "db-architect" / "2026-01-02-linked.md").symlink_to(outside / "2026-01-01-secret.md")
    entries = store_of(team).entries()
    assert all("secret" not in entry.text for entry in entries)
    problems = {Path(entry.file).name: entry.problems for entry in entries if entry.problems}
    assert problems == {"e2e-tester": [memory.SYMLINK_PROBLEM], "2026-01-02-linked.md": [memory.SYMLINK_PROBLEM]}
    assert store_of(team).search("secret") == []


def test_a_note_naming_a_path_too_long_for_the_file_system_is_not_stale(team: Path, cli: RunCli) -> None:
    (team / "agents-memory" / "db-architect" / "2026-01-03-long.md").write_text(
        NOTE.format(topic="long") + f"See `{'a' * 300}/b.py` and `src/{'b' * 300}.py`.\n"
    )
    result = cli("memory", "list", "--stale", "--format", "json", cwd=team)
    assert result.exit_code == 0, result.stderr


def test_stale_with_a_looping_note_in_a_repository_without_commits(team: Path, cli: RunCli) -> None:
    loop = team / "agents-memory" / "db-architect" / "2026-01-04-loop.md"
    loop.symlink_to(loop.name)  # resolving it raised RuntimeError, and git log failed without a commit
    git(team, "init", "-q", "-b", "main")
    result = cli("memory", "list", "--stale", "--format", "json", cwd=team)
    assert result.exit_code == 0, result.stderr
    git(team, "add", "-A")
    git(team, "commit", "-qm", "team", when="2026-01-05T00:00:00")
    assert cli("memory", "list", "--stale", cwd=team).exit_code == 0


# --- writing ------------------------------------------------------------------------------------------------

CONTROL = ["\n", "\r", "\r\n", "\x00", "\x0b", "\x0c", "\x1b", "\x85", "\u2028", "\u2029", "\t"]


@pytest.mark.parametrize("character", CONTROL, ids=[ascii(c) for c in CONTROL])
@pytest.mark.parametrize("field", ["topic", "applies_when", "domain", "source"])
def test_a_control_character_inside_a_field_is_refused(team: Path, field: str, character: str) -> None:
    fields = {"topic": "Index choice", "applies_when": "a query is slow", "domain": "db", "source": "review"}
    fields[field] = f"first{character}## Applies when: always"
    with pytest.raises(MemoryStoreError) as raised:  # what the dispatch engine records as memory_refused
        store_of(team).write(
            "db-architect",
            fields["topic"],
            fields["applies_when"],
            BODY,
            domain=fields["domain"],
            source=fields["source"],
        )
    assert raised.value.exit_code == 2 and "one line" in raised.value.message
    assert not list((team / "agents-memory" / "db-architect").glob("2026-11-21-*"))


def test_fields_are_stripped_and_benign_punctuation_is_kept(team: Path) -> None:
    entry = store_of(team).write("backend-architect", "  Retry budget (p95)\n", "rarely, when a job *retries*\n", BODY)
    assert (entry.topic, entry.applies_when, entry.problems) == (
        "Retry budget (p95)",
        "rarely, when a job *retries",
        [],
    )


@pytest.mark.parametrize(
    ("agent", "body"),
    [
        ("db-architect", "One.\n## Applies when: always\nThree."),  # format B: its own line comes after the body
        ("backend-architect", "One.\n## Insight: another topic\nThree."),  # would turn the note into format B
    ],
)
def test_a_body_line_that_reads_as_a_field_is_refused(team: Path, agent: str, body: str) -> None:
    with pytest.raises(MemoryStoreError) as raised:
        store_of(team).write(agent, "Pools", "the pool is exhausted", body)
    assert "reads as the note's" in raised.value.message


def test_the_cli_refuses_a_newline_in_topic_in_one_line(team: Path, cli: RunCli) -> None:
    result = cli(
        "memory", "write", "db-architect", "--topic", "a\nb", "--applies-when", "w", cwd=team, stdin=BODY.encode()
    )
    assert result.exit_code == 2 and result.stderr.startswith("error: the topic contains a line break (U+000A)")
    assert len(result.stderr.splitlines()) == 2  # the error and its hint


def test_the_display_name_writes_into_the_agents_folder(team: Path) -> None:
    entry = store_of(team).write("DB Architect", "Pool budget", "connections run out", BODY)
    assert entry.path.parent == team / "agents-memory" / "db-architect" and entry.format == "B"


def test_an_agent_off_the_roster_is_refused_with_a_did_you_mean(team: Path) -> None:
    with pytest.raises(UnknownAgentError) as raised:
        store_of(team).write("db-architekt", "t", "w", BODY)
    assert raised.value.message == "'db-architekt' is not an agent of the roster"
    assert "did you mean 'db-architect'" in str(raised.value.hint)


def test_a_body_over_the_note_limit_is_refused_before_it_is_read_whole(team: Path, cli: RunCli) -> None:
    result = cli(
        "memory",
        "write",
        "db-architect",
        "--topic",
        "t",
        "--applies-when",
        "w",
        cwd=team,
        stdin=b"x" * (bounds.MEMORY_NOTE_BYTES + 10),
    )
    assert result.exit_code == 2 and "larger than 256 KiB" in result.stderr


def test_a_query_over_the_task_limit_is_exit_2(team: Path, cli: RunCli) -> None:
    result = cli("memory", "search", "words " * (bounds.TASK_BYTES // 6 + 1), "--format", "json", cwd=team)
    assert result.exit_code == 2 and "the query is" in result.json()["error"]["message"]


def test_a_write_removes_stale_temporaries_of_our_pattern_only(team: Path) -> None:
    folder = team / "agents-memory" / "db-architect"
    stale, fresh, other = folder / ".x.md.abcd1234.tmp", folder / ".y.md.abcd5678.tmp", folder / ".keep.tmp"
    for path in (stale, fresh, other):
        path.write_text("partial")
    for path in (stale, other):
        os.utime(path, (LONG_AGO, LONG_AGO))
    store_of(team).write("db-architect", "Pool budget", "connections run out", BODY)
    assert not stale.exists() and fresh.exists() and other.exists()


# --- prune ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -1, 100_001, 999_999_999, 10**30])
def test_an_age_out_of_range_is_exit_2_and_says_the_range(team: Path, cli: RunCli, days: int) -> None:
    result = cli("memory", "prune", "--older-than", str(days), "--format", "json", cwd=team)
    assert result.exit_code == 2
    assert "give 1 to 100,000 days" in result.json()["error"]["message"]


def test_the_cutoff_never_passes_the_year_1() -> None:
    assert prune_cutoff(dt.date(2026, 1, 1), 100_000) == dt.date(1752, 3, 18)
    with pytest.raises(UsageError):
        prune_cutoff(dt.date(5, 1, 1), 100_000)


def test_outside_git_the_file_time_and_the_name_date_decide(tmp_path: Path) -> None:
    folder = tmp_path / "agents-memory" / "reviewer"
    old = old_note(folder, "2020-01-01-old.md")
    touched = old_note(folder, "2020-01-01-touched.md")
    touched.write_text(touched.read_text() + "rewritten today\n")
    named_new = old_note(folder, "2026-11-20-recent.md")
    undated = old_note(folder, "scratch.md")
    report = store_of(tmp_path).prune(30)
    assert [entry.file for entry in report.deleted] == [str(old)]
    assert [path for path, _ in report.kept] == [str(touched)]
    assert not old.exists() and touched.exists() and named_new.exists() and undated.exists()


def test_a_note_merged_today_from_an_old_branch_was_touched(tmp_path: Path) -> None:
    folder = tmp_path / "agents-memory" / "reviewer"
    old_note(folder, "2020-01-01-old.md")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "old", when="2020-01-01T00:00:00")
    git(tmp_path, "checkout", "-qb", "side")
    old_note(folder, "2020-01-02-from-the-branch.md")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "side", when="2020-01-02T00:00:00")
    git(tmp_path, "checkout", "-q", "main")
    git(tmp_path, "merge", "-q", "--no-ff", "side", "-m", "merge", when="2026-11-20T00:00:00")
    age(tmp_path)
    report = store_of(tmp_path).prune(30)
    assert [Path(entry.file).name for entry in report.deleted] == ["2020-01-01-old.md"]
    assert report.kept == [(str(folder / "2020-01-02-from-the-branch.md"), "committed on 2026-11-20")]


def test_a_memory_folder_with_glob_characters_is_asked_about_literally(tmp_path: Path) -> None:
    folder = tmp_path / "notes[1]" / "reviewer"
    (tmp_path / "notes1").mkdir()  # what the glob `notes[1]` would match instead
    old_note(folder, "2020-01-01-old.md")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "old", when="2020-01-01T00:00:00")
    age(tmp_path)
    report = store_of(tmp_path, AGENTCTL_MEMORY_DIR="notes[1]").prune(30)
    assert [Path(entry.file).name for entry in report.deleted] == ["2020-01-01-old.md"]


def test_git_failing_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "agents-memory" / "reviewer"
    note = old_note(folder, "2020-01-01-old.md")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "old", when="2020-01-01T00:00:00")
    (tmp_path / ".git" / "index").write_bytes(b"not an index")
    with pytest.raises(UsageError) as raised:
        store_of(tmp_path).prune(30)
    assert "git could not say" in raised.value.message and note.exists()


def test_a_note_changed_or_swapped_after_the_selection_is_not_deleted(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path / "agents-memory"
    rewritten = old_note(root / "reviewer", "2020-01-01-rewritten.md")
    old_note(root / "other", "2020-01-01-swapped.md")
    store = store_of(tmp_path)
    real_root = os.path.realpath(root)
    selected, _ = store._old_notes(real_root, prune_cutoff(TODAY, 30))
    assert sorted(note.name for note in selected) == ["2020-01-01-rewritten.md", "2020-01-01-swapped.md"]
    rewritten.write_text("rewritten after the selection\n")
    os.utime(rewritten, (LONG_AGO, LONG_AGO))
    outside = tmp_path_factory.mktemp("outside")
    shutil.move(root / "other", outside / "other")  # the same file, now reached through a symlink
    (root / "other").symlink_to(outside / "other")
    assert [memory._delete_note(real_root, note) for note in sorted(selected, key=lambda n: n.name)] == [False, False]
    assert rewritten.exists() and (outside / "other" / "2020-01-01-swapped.md").exists()


def test_prune_through_the_cli_says_what_it_kept_and_why(team: Path, cli: RunCli) -> None:
    git(team, "init", "-q", "-b", "main")
    git(team, "add", "-A")
    git(team, "commit", "-qm", "team", when="2020-01-01T00:00:00")
    age(team)
    edited = team / "agents-memory" / "db-architect" / "2026-01-19-transcription-words-index.md"
    edited.write_text(edited.read_text() + "an edit\n")
    os.utime(edited, (LONG_AGO, LONG_AGO))
    dry = cli("memory", "prune", "--older-than", "200", "--dry-run", cwd=team)
    assert dry.exit_code == 0 and "would delete" in dry.stdout
    assert f"kept {edited}: changed in the working tree or the index (git status)" in dry.stderr
    real = cli("memory", "prune", "--older-than", "200", cwd=team)
    assert real.stdout.replace("deleted", "would delete") == dry.stdout
    status = subprocess.run(["git", "status", "--porcelain"], cwd=team, capture_output=True, text=True).stdout
    assert {line[:2] for line in status.splitlines()} == {" D", " M"}


@pytest.mark.parametrize(
    "query", ["words index", "indexes of word", "redis eviction retry timeout", " ".join(f"w{n}" for n in range(40))]
)
def test_both_ways_of_counting_terms_rank_alike(team: Path, query: str) -> None:
    """A few terms are counted by one pattern, many by word lookups: the same hits and scores."""
    store = MemoryStore(load_settings(cwd=team))
    entries = store.entries()
    fast = [(hit.entry.file, hit.score, hit.terms) for hit in memory._Index(entries, query).search()]
    original, memory.FEW_TERMS = memory.FEW_TERMS, 0
    try:
        lookups = [(hit.entry.file, hit.score, hit.terms) for hit in memory._Index(entries, query).search()]
    finally:
        memory.FEW_TERMS = original
    assert fast == lookups
