"""The memory store: reading both formats, writing safely, searching, choosing notes for prompts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.config import load_settings
from agentctl.errors import AgentctlError
from agentctl.memory import MemoryStore, mentioned_paths, parse_entry, slugify, staleness
from tests.conftest import REPO, RunCli, copy_shipped_team, git

TODAY = dt.date(2026, 11, 21)
BODY = "The words table has no media_id column.\nIndex (transcription_id, start_ms) instead.\nMeasured p95: 1,420 ms to 38 ms."


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path)


def store_of(root: Path) -> MemoryStore:
    return MemoryStore(load_settings(cwd=root, environ={}), today=lambda: TODAY)


def test_the_shipped_store_reads_both_formats_newest_first() -> None:
    entries = MemoryStore(load_settings(cwd=REPO, environ={})).entries()
    assert len(entries) >= 16 and all(not entry.problems for entry in entries)
    assert [entry.date for entry in entries] == sorted((entry.date for entry in entries), reverse=True)
    formats = {entry.agent: set() for entry in entries}
    for entry in entries:
        formats[entry.agent].add(entry.format)
    assert (
        formats["backend-architect"] == {"A"}
        and formats["db-architect"] == {"B"}
        and formats["ml-engineer"] == {"A", "B"}
    )
    note = next(entry for entry in entries if entry.slug == "transcription-words-index")
    assert note.applies_when and note.topic and note.agent == "db-architect"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("2026-01-05-binary.md", b"\x00\x01", "binary file, not a markdown note"),
        ("2026-01-05-latin1.md", b"# T\n**Applies when:** x\n\ncaf\xe9\nb\nc\n", "not UTF-8"),
        ("2026-01-05-empty.md", b"", "empty note"),
        ("notes.md", b"# T\n**Applies when:** x\n\na\nb\n", "not named YYYY-MM-DD-topic.md"),
        ("2026-02-30-bad-date.md", b"# T\n**Applies when:** x\n\na\nb\n", "2026-02-30 is not a date"),
        ("2026-01-05-no-applies.md", b"# T\n\na\nb\nc\nd\n", "no 'Applies when' line"),
        ("2026-01-05-long.md", b"# T\n**Applies when:** x\n" + b"line\n" * 20, "22 lines; the protocol asks for 5-15"),
    ],
)
def test_bad_notes_are_entries_with_problems(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert problem in parse_entry("x", path).problems


def test_write_uses_the_agents_format_from_the_roster(team: Path) -> None:
    store = store_of(team)
    a = store.write("backend-architect", "Render actor retries", "a render job is retried", BODY)
    assert a.path == team / "agents-memory" / "backend-architect" / "2026-11-21-render-actor-retries.md"
    assert a.path.read_text() == f"# Render actor retries\n\n**Applies when:** a render job is retried\n\n{BODY}\n"
    b = store.write("db-architect", "Words index", "words queries are slow", BODY, domain="indexing")
    assert b.path.read_text().split("\n")[:3] == [
        "# 2026-11-21-words-index.md",
        "## Insight: Words index",
        "## Domain: indexing",
    ]
    assert b.format == "B" and not b.problems


def test_same_day_same_topic_gets_a_number_and_near_duplicates_are_refused(team: Path) -> None:
    store = store_of(team)
    first = store.write("ml-engineer", "Silence drift", "timing drifts after silence", BODY)
    second = store.write(
        "ml-engineer",
        "Silence drift",
        "timing drifts after long music",
        "Other insight.\nVAD threshold 0.35.\nOn the L4 GPU.",
    )
    assert second.path.name == "2026-11-21-silence-drift-2.md"
    with pytest.raises(AgentctlError) as raised:
        store.write("ml-engineer", "Silence drift again", "timing drifts after silence", BODY)
    assert first.path.name in raised.value.message and "--force" in str(raised.value.hint)
    forced = store.write("ml-engineer", "Silence drift again", "timing drifts after silence", BODY, force=True)
    assert forced.path.exists()


@pytest.mark.parametrize(
    ("topic", "slug"),
    [
        ("Índice de palabras", "indice-de-palabras"),
        ("../../etc/passwd", "etc-passwd"),
        (".hidden", "hidden"),
        ("/absolute/path", "absolute-path"),
        ("x" * 100, "x" * 60),
        ("a-very-long-topic " * 6, "a-very-long-topic-a-very-long-topic-a-very-long-topic-a-very"),
        ("日本語だけ", ""),
        ("???", ""),
    ],
)
def test_slugs_are_safe_ascii(topic: str, slug: str) -> None:
    assert slugify(topic) == slug


@pytest.mark.parametrize(
    ("agent", "topic", "applies", "body", "message"),
    [
        ("nobody", "t", "w", BODY, "'nobody' is not an agent of the roster"),
        ("../backend-architect", "t", "w", BODY, "is not an agent of the roster"),
        ("backend-architect", "", "w", BODY, "has no letters or digits"),
        ("backend-architect", "!!!", "w", BODY, "has no letters or digits"),
        ("backend-architect", "t", "", BODY, "needs an 'Applies when'"),
        ("backend-architect", "t", "w", "\n\n", "body is empty"),
        ("backend-architect", "t", "w", "\n".join(["line"] * 14), "would be 18 lines"),
    ],
)
def test_refused_writes_leave_nothing_behind(
    team: Path, agent: str, topic: str, applies: str, body: str, message: str
) -> None:
    before = sorted(str(p) for p in (team / "agents-memory").rglob("*"))
    with pytest.raises(AgentctlError) as raised:
        store_of(team).write(agent, topic, applies, body)
    assert message in raised.value.message
    assert sorted(str(p) for p in (team / "agents-memory").rglob("*")) == before


def test_nothing_is_written_outside_the_memory_folder(team: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    shutil.rmtree(team / "agents-memory" / "frontend-architect")
    (team / "agents-memory" / "frontend-architect").symlink_to(outside)
    with pytest.raises(AgentctlError) as raised:
        store_of(team).write("frontend-architect", "t", "w", BODY)
    assert "is a symbolic link" in raised.value.message
    assert list(outside.iterdir()) == []


def test_a_memory_folder_that_is_a_file(team: Path) -> None:
    shutil.rmtree(team / "agents-memory")
    (team / "agents-memory").write_text("oops")
    with pytest.raises(AgentctlError) as raised:
        store_of(team).write("backend-architect", "t", "w", BODY)
    assert "is a file" in raised.value.message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(team: Path) -> None:
    folder = team / "agents-memory" / "backend-architect"
    folder.chmod(0o555)
    try:
        with pytest.raises(AgentctlError) as raised:
            store_of(team).write("backend-architect", "Read only", "w", BODY)
        assert raised.value.exit_code == 1 and "cannot write" in raised.value.message
        assert not [p for p in folder.iterdir() if "read-only" in p.name or p.suffix == ".tmp"]
    finally:
        folder.chmod(0o755)


def test_twenty_processes_writing_at_once_leave_twenty_intact_files(team: Path) -> None:
    script = (
        "import sys, datetime\n"
        "from pathlib import Path\n"
        "from agentctl.config import load_settings\n"
        "from agentctl.memory import MemoryStore\n"
        "store = MemoryStore(load_settings(cwd=Path(sys.argv[1]), environ={}), today=lambda: datetime.date(2026, 11, 21))\n"
        "n = sys.argv[2]\n"
        "store.write('performance-engineer', 'Concurrent write', f'writer {n} runs', "
        "f'Writer {n} measured queue depth {n}00.\\nWorker pool {n} of twenty.\\nDistinct body number {n}.', force=True)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(team), str(n)], cwd=REPO, stderr=subprocess.PIPE)
        for n in range(20)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0] * 20
    folder = team / "agents-memory" / "performance-engineer"
    written = sorted(folder.glob("2026-11-21-concurrent-write*.md"))
    assert len(written) == 20 and not list(folder.glob(".*.tmp"))
    bodies = {parse_entry("performance-engineer", path).applies_when for path in written}
    assert bodies == {f"writer {n} runs" for n in range(20)}  # every file whole, none overwritten


def test_search_ranks_applies_when_highest_and_names_the_terms() -> None:
    store = MemoryStore(load_settings(cwd=REPO, environ={}))
    hits = store.search("words index transcription", top=5)
    assert "transcription-words-index" in [hit.entry.slug for hit in hits[:3]]
    assert all(set(hit.terms) <= {"words", "index", "transcription"} for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    applies = store.search("load-testing")  # a term of one note's applies-when only
    assert applies[0].entry.slug == "words-fetch-baseline-and-index"
    only = store.search("words", agent="frontend-architect")
    assert {hit.entry.agent for hit in only} == {"frontend-architect"}
    with pytest.raises(AgentctlError):
        store.search("the of and")


def test_relevant_fits_the_budget_and_is_deterministic() -> None:
    store = MemoryStore(load_settings(cwd=REPO, environ={}))
    task = "Add an index for the slow transcription words query and check the connection pool"
    chosen = store.relevant("db-architect", task, budget_tokens=400)
    assert chosen and sum(len(entry.text) // 4 for entry in chosen) <= 400
    assert [e.path for e in store.relevant("db-architect", task, 400)] == [e.path for e in chosen]
    assert store.relevant("db-architect", task, budget_tokens=10) == []
    assert store.relevant("db-architect", "completely unrelated gardening", 10_000) == []


@pytest.mark.parametrize("query", ["indexes", "indexing", "Indexed"])
def test_search_stems_as_route_does(query: str) -> None:
    """One text-search kernel: `memory search indexes` finds the notes `index` finds."""
    store = MemoryStore(load_settings(cwd=REPO, environ={}))
    index = [(hit.entry.file, hit.score) for hit in store.search("index")]
    assert len(index) >= 3
    hits = store.search(query)
    assert [(hit.entry.file, hit.score) for hit in hits] == index
    assert {term for hit in hits for term in hit.terms} == {query.lower()}  # the query's word


def test_search_command_finds_inflected_words(cli: RunCli) -> None:
    plain = cli("memory", "search", "index", "-f", "json", cwd=REPO).json()["hits"]
    inflected = cli("memory", "search", "indexes", "-f", "json", cwd=REPO).json()["hits"]
    assert plain and [hit["path"] for hit in inflected] == [hit["path"] for hit in plain]


def test_relevant_uses_the_same_kernel() -> None:
    """A dispatch prompt's notes are chosen by the stems of the task's words."""
    store = MemoryStore(load_settings(cwd=REPO, environ={}))
    plain = store.relevant("db-architect", "add an index to the transcription words table", 10_000)
    inflected = store.relevant("db-architect", "adding indexes to the transcriptions word tables", 10_000)
    assert plain and [entry.file for entry in inflected] == [entry.file for entry in plain]


def test_paths_a_note_mentions() -> None:
    text = "See `cofee_backend/cpv3/modules/jobs/service.py` and web/src/app.ts, not `<module>/x.py` or https://a/b.c."
    assert mentioned_paths(text) == ["cofee_backend/cpv3/modules/jobs/service.py", "web/src/app.ts"]


def test_staleness_from_git_history(team: Path) -> None:
    (team / "src").mkdir()
    (team / "src" / "app.py").write_text("v1\n")
    (team / "src" / "old.py").write_text("v1\n")
    git(team, "init", "-q")
    git(team, "add", ".")
    git(team, "commit", "-qm", "start", when="2026-01-01T10:00:00")
    folder = team / "agents-memory" / "backend-architect"
    (folder / "2026-02-01-app-note.md").write_text(
        "# App\n\n**Applies when:** app\n\nSee `src/app.py`.\nAnd src/old.py.\nAnd `elsewhere/x.py`.\n"
    )
    (folder / "2026-02-01-fresh-note.md").write_text(
        "# Fresh\n\n**Applies when:** fresh\n\nOnly `src/old.py` here.\nb\nc\n"
    )
    git(team, "add", ".")
    git(team, "commit", "-qm", "notes", when="2026-02-01T10:00:00")
    (team / "src" / "app.py").write_text("v2\n")
    git(team, "rm", "-q", "src/old.py")
    git(team, "commit", "-qam", "change", when="2026-03-01T10:00:00")
    store = store_of(team)
    reports = {
        report.entry.path.name: report for report in staleness(store.settings, store.entries("backend-architect"))
    }
    app = reports["2026-02-01-app-note.md"]
    assert app.changed == ["src/app.py"] and app.missing == ["src/old.py"]  # elsewhere/ is not in this repository
    assert reports["2026-02-01-fresh-note.md"].missing == ["src/old.py"]
    assert not reports["2026-06-22-publish-job-events-after-commit.md"].stale  # its project is not here


def test_prune_deletes_only_notes_nobody_touched(team: Path) -> None:
    long_ago = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
    for note in (team / "agents-memory").rglob("*.md"):  # outside git: the file's time and the name's date
        os.utime(note, (long_ago, long_ago))
    store = store_of(team)
    old = store.entries()
    report = store.prune(older_than_days=365, dry_run=True)
    assert report.deleted == [] and report.kept == [] and len(store.entries()) == len(old)
    report = store.prune(older_than_days=200, dry_run=True)  # notes dated before 2026-05-05
    would = [entry.file for entry in report.deleted]
    assert would and all(entry.date and entry.date < TODAY - dt.timedelta(days=200) for entry in report.deleted)
    assert len(store.entries()) == len(old)
    deleted = [entry.file for entry in store.prune(older_than_days=200).deleted]
    assert deleted == would and len(store.entries()) == len(old) - len(would)


# --- the command line ----------------------------------------------------------------------------------


def test_memory_list_and_show(team: Path, cli: RunCli) -> None:
    listed = cli("memory", "list", "db-architect", "--format", "json", cwd=team).json()["entries"]
    assert [entry["agent"] for entry in listed] == ["db-architect"] * 4
    assert listed[0]["date"] == "2026-09-15"  # newest first
    since = cli("memory", "list", "--since", "2026-08-01", "--format", "json", cwd=team).json()["entries"]
    assert {entry["date"] >= "2026-08-01" for entry in since} == {True}
    text = cli("memory", "list", cwd=team)
    assert text.stdout.splitlines()[0].split() == [
        "date",
        "store",
        "agent",
        "topic",
        "applies",
        "when",
        "lines",
        "notes",
    ]
    shown = cli("memory", "show", "db-architect", "transcription-words-index", cwd=team)
    assert shown.exit_code == 0 and shown.stdout.startswith("# 2026-01-19-transcription-words-index.md")
    assert cli("memory", "list", "--since", "yesterday", cwd=team).exit_code == 2


def test_memory_write_from_stdin_and_commit_only_that_file(
    team: Path, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(team, "init", "-q")
    git(team, "add", ".")
    git(team, "commit", "-qm", "team")
    (team / "unrelated.txt").write_text("staged, must stay staged\n")
    git(team, "add", "unrelated.txt")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "t")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@t")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@t")
    result = cli(
        "memory",
        "write",
        "devops-engineer",
        "--topic",
        "Compose healthchecks",
        "--applies-when",
        "a service flaps",
        "--date",
        "2026-11-20",
        "--commit",
        cwd=team,
        stdin=BODY.encode(),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("wrote agents-memory/devops-engineer/2026-11-20-compose-healthchecks.md (commit ")
    committed = subprocess.run(
        ["git", "show", "--name-only", "--format=", "HEAD"], cwd=team, capture_output=True, text=True
    ).stdout.split()
    assert committed == ["agents-memory/devops-engineer/2026-11-20-compose-healthchecks.md"]
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"], cwd=team, capture_output=True, text=True
    ).stdout.split()
    assert staged == ["unrelated.txt"]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [(b"", "is empty"), (b"  \n\n", "is empty"), (b"\x00\x01binary", "is binary"), (b"caf\xe9\n", "is not UTF-8")],
)
def test_memory_write_refuses_bad_bodies(team: Path, cli: RunCli, stdin: bytes, message: str) -> None:
    result = cli("memory", "write", "devops-engineer", "--topic", "t", "--applies-when", "w", cwd=team, stdin=stdin)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) <= 2
    assert not (team / "agents-memory" / "devops-engineer").exists() or not list(
        (team / "agents-memory" / "devops-engineer").iterdir()
    )


def test_memory_search_lint_and_prune_commands(team: Path, cli: RunCli) -> None:
    hits = cli("memory", "search", "redis eviction render", "-n", "3", "--format", "json", cwd=team).json()["hits"]
    assert hits[0]["slug"] == "redis-eviction-lost-render-messages" and hits[0]["terms"]
    assert cli("memory", "lint", cwd=team).exit_code == 0
    (team / "agents-memory" / "backend-architect" / "scratch.md").write_text("# Scratch\n")
    lint = cli("memory", "lint", "--format", "json", cwd=team)
    assert lint.exit_code == 0 and {d["rule"] for f in lint.json()["files"] for d in f["diagnostics"]} == {
        "TM006",
        "TM007",
        "TM009",
    }
    assert cli("memory", "lint", "--strict", cwd=team).exit_code == 1
    dry = cli("memory", "prune", "--older-than", "100000", "--dry-run", cwd=team)
    assert dry.exit_code == 0 and dry.stdout == ""


def test_memory_write_body_from_a_file_and_list_stale(team: Path, cli: RunCli) -> None:
    (team / "insight.txt").write_text(
        "The compose healthcheck needs start_period 30s.\nWithout it the worker flaps at boot.\n"
    )
    result = cli(
        "memory",
        "write",
        "devops-engineer",
        "--topic",
        "Healthcheck start period",
        "--applies-when",
        "a compose service flaps at boot",
        "--body",
        "insight.txt",
        "--date",
        "2026-11-19",
        "--format",
        "json",
        cwd=team,
    )
    assert (
        result.exit_code == 0
        and result.json()["path"] == "agents-memory/devops-engineer/2026-11-19-healthcheck-start-period.md"
    )
    (team / "service").mkdir()  # a folder no shipped note names
    (team / "service" / "app.py").write_text("x\n")
    note = team / "agents-memory" / "devops-engineer" / "2026-01-02-app-module.md"
    note.write_text(
        "# App module\n\n**Applies when:** editing the app\n\nSee `service/app.py` and `service/gone.py`.\nb\nc\n"
    )
    stale = cli("memory", "list", "--stale", "--format", "json", cwd=team).json()["entries"]
    assert [(entry["path"].rsplit("/", 1)[-1], entry["missing"]) for entry in stale] == [
        ("2026-01-02-app-module.md", ["service/gone.py"])
    ]


def test_an_agent_folder_that_cannot_be_created_is_a_one_line_error(team: Path, cli: RunCli) -> None:
    (team / "agents-memory" / "security-auditor").write_text("a file where the folder should be")
    result = cli(
        "memory", "write", "security-auditor", "--topic", "t", "--applies-when", "w", cwd=team, stdin=BODY.encode()
    )
    assert (
        result.exit_code == 1 and result.stderr.startswith("error: cannot create") and "Traceback" not in result.stderr
    )
    assert (team / "agents-memory" / "security-auditor").read_text() == "a file where the folder should be"
