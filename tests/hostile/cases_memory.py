"""Hostile cases: the memory store (prune, the AGENT argument, note fields, special files)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.hostile.harness import Case, Outcome, Sandbox, agent_text, run_agentctl

LONG_AGO = "2020-01-01T00:00:00"
LONG_AGO_SECONDS = 1_577_836_800.0  # 2020-01-01, as a file time
NOTE = "# {topic}\n\n**Applies when:** {topic} comes up\n\nFirst line.\nSecond line.\nThird line.\n"
LONG_NAME = "a" * 300  # a valid Claude Code name (it reads up to 256 UTF-16 units; agentctl reads what the files say)


def _note(sandbox: Sandbox, relative: str, old: bool = True) -> Path:
    """A well-formed note at agents-memory/<relative>; its file time in 2020 when `old`."""
    topic = Path(relative).stem[11:].replace("-", " ")
    path = sandbox.write(f"agents-memory/{relative}", NOTE.format(topic=topic))
    if old:
        os.utime(path, (LONG_AGO_SECONDS, LONG_AGO_SECONDS))
    return path


def _age_all(sandbox: Sandbox) -> None:
    """Every file of the store last modified in 2020 (a commit or a checkout made them new)."""
    for path in (sandbox.team / "agents-memory").rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, (LONG_AGO_SECONDS, LONG_AGO_SECONDS))


def _pruned(outcome: Outcome) -> list[str]:
    return sorted(Path(entry["path"]).name for entry in outcome.json()["pruned"])


def _kept(outcome: Outcome) -> dict[str, str]:
    return {Path(item["path"]).name: item["reason"] for item in outcome.json()["kept"]}


# --- prune ---------------------------------------------------------------------------------------------


def _symlinked_folder(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    _note(sandbox, "reviewer/2020-01-01-old-review.md")
    elsewhere = sandbox.outside / "notes"
    elsewhere.mkdir()
    for name in ("2020-01-01-elsewhere.md", "2020-02-02-also-elsewhere.md"):
        (elsewhere / name).write_text(NOTE.format(topic="elsewhere"), "utf-8")
        os.utime(elsewhere / name, (LONG_AGO_SECONDS, LONG_AGO_SECONDS))
    (sandbox.team / "agents-memory" / "e2e-tester").symlink_to(elsewhere)
    (sandbox.team / "agents-memory" / "reviewer" / "2020-03-03-linked.md").symlink_to(
        elsewhere / "2020-01-01-elsewhere.md"
    )
    return ["memory", "prune", "--older-than", "30", "--format", "json"]


def _only_the_real_old_note(sandbox: Sandbox, outcome: Outcome) -> None:
    assert _pruned(outcome) == ["2020-01-01-old-review.md"], outcome.stdout
    assert _kept(outcome)["2020-03-03-linked.md"].startswith("a symbolic link"), outcome.stdout
    assert (sandbox.team / "agents-memory" / "e2e-tester").is_symlink()
    assert len(list((sandbox.outside / "notes").iterdir())) == 2


def _edited_not_committed(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    _note(sandbox, "reviewer/2020-01-01-untouched.md")
    edited = _note(sandbox, "reviewer/2020-01-01-edited.md")
    staged = _note(sandbox, "reviewer/2020-01-01-staged.md")
    sandbox.commit_all(when=LONG_AGO)
    edited.write_text(edited.read_text("utf-8") + "A line added today, not committed.\n", "utf-8")
    staged.write_text(staged.read_text("utf-8") + "Staged today.\n", "utf-8")
    sandbox.git("add", "--", "agents-memory/reviewer/2020-01-01-staged.md")
    _note(sandbox, "reviewer/2020-01-01-never-committed.md")
    _age_all(sandbox)  # file times say 2020 for all: only git tells the edits apart
    return ["memory", "prune", "--older-than", "30", "--format", "json"]


def _edits_kept(sandbox: Sandbox, outcome: Outcome) -> None:
    assert _pruned(outcome) == ["2020-01-01-untouched.md"], outcome.stdout
    kept = _kept(outcome)
    assert "working tree" in kept["2020-01-01-edited.md"] and "working tree" in kept["2020-01-01-staged.md"]
    assert kept["2020-01-01-never-committed.md"] == "not committed to git"
    folder = sandbox.team / "agents-memory" / "reviewer"
    assert sorted(path.name for path in folder.iterdir()) == [
        "2020-01-01-edited.md",
        "2020-01-01-never-committed.md",
        "2020-01-01-staged.md",
    ]


def _committed_readme(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    sandbox.write("agents-memory/README.md", "# Memory\n\nHow the team keeps notes.\n")
    sandbox.write("agents-memory/reviewer/README.md", "# Reviewer notes\n")
    sandbox.write("agents-memory/reviewer/notes.md", "# Scratch\n")
    sandbox.write("agents-memory/reviewer/2020-13-45-not-a-date.md", "# Bad date\n")
    _note(sandbox, "reviewer/2020-01-01-old.md")
    sandbox.commit_all(when=LONG_AGO)
    _age_all(sandbox)
    return ["memory", "prune", "--older-than", "30", "--format", "json"]


def _only_notes_deleted(sandbox: Sandbox, outcome: Outcome) -> None:
    assert _pruned(outcome) == ["2020-01-01-old.md"], outcome.stdout
    for kept in ("README.md", "reviewer/README.md", "reviewer/notes.md", "reviewer/2020-13-45-not-a-date.md"):
        assert (sandbox.team / "agents-memory" / kept).is_file(), kept


def _written_today_with_an_old_date(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    body = b"Written today, dated 2001.\nIt must survive a prune.\n"
    wrote = run_agentctl(
        ["memory", "write", "reviewer", "--topic", "Backdated", "--applies-when", "old", "--date", "2001-01-01"],
        sandbox.team,
        stdin=body,
    )
    assert wrote.exit_code == 0, wrote.stderr
    return ["memory", "prune", "--older-than", "30", "--format", "json"]


def _backdated_note_kept(sandbox: Sandbox, outcome: Outcome) -> None:
    assert _pruned(outcome) == [], outcome.stdout
    assert _kept(outcome)["2001-01-01-backdated.md"].startswith("file modified on")
    assert (sandbox.team / "agents-memory" / "reviewer" / "2001-01-01-backdated.md").is_file()


def _overflowing_age(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    _note(sandbox, "reviewer/2020-01-01-old.md")
    return ["memory", "prune", "--older-than", "999999999", "--format", "json"]


def _range_said(sandbox: Sandbox, outcome: Outcome) -> None:
    error = outcome.json()["error"]
    assert "out of range" in error["message"] and "100,000" in error["message"], error
    assert (sandbox.team / "agents-memory" / "reviewer" / "2020-01-01-old.md").is_file()


DRY_RUN_FILE = "dry-run.json"


def _mixed_store(sandbox: Sandbox) -> Sequence[str]:
    """A store of every kind of file, committed long ago; then the dry run, saved beside the sandbox."""
    sandbox.small_team()
    for relative in (
        "reviewer/2020-01-01-old-one.md",
        "reviewer/2020-06-01-old-two.md",
        "db-architect/2020-02-02-old-three.md",
        "reviewer/2020-01-01-edited.md",
    ):
        _note(sandbox, relative)
    sandbox.write("agents-memory/reviewer/README.md", "# Reviewer\n")
    sandbox.commit_all(when=LONG_AGO)
    edited = sandbox.team / "agents-memory" / "reviewer" / "2020-01-01-edited.md"
    edited.write_text(edited.read_text("utf-8") + "Edited.\n", "utf-8")
    _note(sandbox, "reviewer/2020-01-02-untracked.md")
    _age_all(sandbox)
    _note(sandbox, "reviewer/2099-01-01-future.md", old=False)
    (sandbox.team / "agents-memory" / "reviewer" / "2020-04-04-link.md").symlink_to(sandbox.outside / "precious.md")
    dry = run_agentctl(["memory", "prune", "--older-than", "30", "--dry-run", "--format", "json"], sandbox.team)
    assert dry.exit_code == 0, dry.stderr
    (sandbox.base / DRY_RUN_FILE).write_text(dry.stdout, "utf-8")
    return ["memory", "prune", "--older-than", "30", "--format", "json"]


def _dry_run_was_exact(sandbox: Sandbox, outcome: Outcome) -> None:
    dry = json.loads((sandbox.base / DRY_RUN_FILE).read_text("utf-8"))
    would = sorted(entry["path"] for entry in dry["pruned"])
    deleted = sorted(entry["path"] for entry in outcome.json()["pruned"])
    assert dry["dry_run"] is True and outcome.json()["dry_run"] is False
    assert would == deleted and len(deleted) == 3, (would, deleted)
    assert dry["kept"] == outcome.json()["kept"]
    assert not any(Path(path).exists() for path in deleted)
    left = sorted(path.name for path in (sandbox.team / "agents-memory").rglob("*") if not path.is_dir())
    assert left == [
        "2020-01-01-edited.md",
        "2020-01-02-untracked.md",
        "2020-04-04-link.md",
        "2099-01-01-future.md",
        "README.md",
    ], left


# --- AGENT is an agent name --------------------------------------------------------------------------


def _outside_notes(sandbox: Sandbox) -> None:
    sandbox.small_team()
    _note(sandbox, "reviewer/2026-01-01-a-review.md", old=False)
    (sandbox.outside / "2026-01-01-secret.md").write_text(NOTE.format(topic="secret plans"), "utf-8")


Build = Callable[[Sandbox], Sequence[str]]
Check = Callable[[Sandbox, Outcome], None]


def _agent_argument(args: list[str]) -> Build:
    def build(sandbox: Sandbox) -> Sequence[str]:
        _outside_notes(sandbox)
        return [arg.replace("{outside}", str(sandbox.outside)) for arg in args]

    return build


def _unknown_agent(suggestion: str | None) -> Check:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        assert "secret" not in outcome.stdout + outcome.stderr, outcome.stdout
        error = outcome.json()["error"]
        assert "no agent called" in error["message"], error
        if suggestion:
            assert f"did you mean '{suggestion}'" in str(error["hint"]), error

    return check


def _path_cases() -> list[Case]:
    covers = "memory list|show|search accept ../x or an absolute path as AGENT and read files outside the store"
    arguments = {
        "memory-list-dotdot-agent": ["memory", "list", "../../outside"],
        "memory-list-absolute-agent": ["memory", "list", "{outside}"],
        "memory-show-dotdot-agent": ["memory", "show", "../../outside", "secret"],
        "memory-search-absolute-agent": ["memory", "search", "secret plans", "--agent", "{outside}"],
        "memory-list-typo-agent": ["memory", "list", "reviwer"],
    }
    return [
        Case(
            name,
            covers if "typo" not in name else "a typo in AGENT is an empty list with exit 0",
            _agent_argument([*args, "--format", "json"]),
            (2,),
            _unknown_agent("reviewer" if "typo" in name else None),
        )
        for name, args in arguments.items()
    ]


def _display_name(sandbox: Sandbox) -> Sequence[str]:
    _outside_notes(sandbox)
    return ["memory", "list", "Code Reviewer", "--format", "json"]


def _reviewer_notes(sandbox: Sandbox, outcome: Outcome) -> None:
    assert [entry["agent"] for entry in outcome.json()["entries"]] == ["reviewer"], outcome.stdout


def _long_name(sandbox: Sandbox) -> Sequence[str]:
    from tests.hostile.harness import PROTOCOL, agent_text

    sandbox.small_team({"long.md": agent_text(LONG_NAME), "reviewer.md": agent_text("reviewer")})
    sandbox.write("agents-shared/team-protocol.md", PROTOCOL + f"| `{LONG_NAME}` | Long One | x | y | A |\n")
    return ["memory", "list", LONG_NAME, "--format", "json"]


def _no_notes(sandbox: Sandbox, outcome: Outcome) -> None:
    assert outcome.json()["entries"] == []


def _long_name_write(sandbox: Sandbox) -> Sequence[str]:
    _long_name(sandbox)
    return ["memory", "write", LONG_NAME, "--topic", "t", "--applies-when", "w", "--format", "json"]


def _cannot_be_a_folder(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "cannot be a memory folder name" in outcome.json()["error"]["message"]
    assert list((sandbox.team / "agents-memory").iterdir()) == []


def _long_name_dispatch(sandbox: Sandbox) -> Sequence[str]:
    _long_name(sandbox)
    return ["dispatch", LONG_NAME, "check the schema", "--dry-run"]


# --- note fields ---------------------------------------------------------------------------------------


def _field_with(option: str, value: str, agent: str = "reviewer") -> Build:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        options = {"--topic": "Index choice", "--applies-when": "a query is slow", option: value}
        return ["memory", "write", agent, *[part for pair in options.items() for part in pair], "--format", "json"]

    return build


def _nothing_written(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "one line" in outcome.json()["error"]["message"], outcome.stdout
    assert [path for path in (sandbox.team / "agents-memory").rglob("*") if path.is_file()] == []


def _field_cases() -> list[Case]:
    covers = "a newline in --topic or --applies-when rewrites the note's parsed fields"
    values = {
        "memory-write-newline-topic": ("--topic", "Index\n**Applies when:** always", "reviewer"),
        "memory-write-crlf-applies-when": ("--applies-when", "slow\r\n## Insight: injected", "db-architect"),
        "memory-write-line-separator-topic": ("--topic", "Index\u2028# Other", "reviewer"),
        "memory-write-escape-source": ("--source", "review\x1b[2Jx", "db-architect"),
        "memory-write-newline-domain": ("--domain", "db\n## Applies when: always", "db-architect"),
    }
    return [
        Case(name, covers, _field_with(option, value, agent), (2,), _nothing_written, stdin=b"One.\nTwo.\nThree.\n")
        for name, (option, value, agent) in values.items()
    ]


def _body_reads_as_a_field(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    return ["memory", "write", "db-architect", "--topic", "Index", "--applies-when", "slow", "--format", "json"]


def _body_refused(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "reads as the note's 'Applies when' line" in outcome.json()["error"]["message"], outcome.stdout
    assert [path for path in (sandbox.team / "agents-memory").rglob("*") if path.is_file()] == []


# --- leftovers and special files -----------------------------------------------------------------------

STALE, FRESH = ".2026-01-01-x.md.abcd1234.tmp", ".2026-01-01-y.md.efgh5678.tmp"


def _temporaries(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    stale = sandbox.write(f"agents-memory/reviewer/{STALE}", "half a note")
    os.utime(stale, (LONG_AGO_SECONDS, LONG_AGO_SECONDS))
    sandbox.write(f"agents-memory/reviewer/{FRESH}", "a write in progress")
    return ["memory", "write", "reviewer", "--topic", "Fresh", "--applies-when", "now"]


def _stale_removed(sandbox: Sandbox, outcome: Outcome) -> None:
    folder = sandbox.team / "agents-memory" / "reviewer"
    assert not (folder / STALE).exists() and (folder / FRESH).exists()
    assert (folder / "2026-01-01-fresh.md").exists() or any(folder.glob("*-fresh.md"))


def _special_files(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    folder = sandbox.team / "agents-memory" / "reviewer"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "2026-01-01-fifo.md")
    (folder / "2026-01-02-zero.md").symlink_to("/dev/zero")
    (folder / "2026-01-03-self.md").symlink_to("2026-01-03-self.md")
    with (folder / "2026-01-04-sparse.md").open("wb") as sparse:
        sparse.truncate(2 * 1024**3)
    (folder / "2026-01-06-dot.md").symlink_to(".")
    _note(sandbox, "reviewer/2026-01-05-fine.md", old=False)
    (sandbox.team / "agents-memory" / "loop").symlink_to("loop")  # stat of it fails with ELOOP
    (sandbox.team / "agents-memory" / "again").symlink_to(".")
    return ["memory", "list", "--format", "json"]


def _problems_listed(sandbox: Sandbox, outcome: Outcome) -> None:
    problems = {Path(entry["path"]).name: " ".join(entry["problems"]) for entry in outcome.json()["entries"]}
    assert "FIFO" in problems["2026-01-01-fifo.md"], problems
    assert "symbolic link" in problems["2026-01-02-zero.md"] and "symbolic link" in problems["2026-01-03-self.md"]
    assert "larger than" in problems["2026-01-04-sparse.md"], problems
    assert problems["2026-01-05-fine.md"] == "" and "symbolic link" in problems["2026-01-06-dot.md"]
    assert "symbolic link" in problems["again"] and "loop" not in problems, problems


def _quadratic_note(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    # 64 K blank lines before an "applies when": the old pattern rescanned them from every line start.
    sandbox.write("agents-memory/reviewer/2026-01-01-blank.md", "\n" * 65_536 + "x applies when y\n")
    sandbox.write("agents-memory/reviewer/2026-01-02-bang.md", "!\n" * 32_768 + "applies\n")
    return ["memory", "search", "applies", "--format", "json"]


def _index_of_many_broken_links(sandbox: Sandbox) -> Sequence[str]:
    """Claude Code's agent memory: a MEMORY.md just under 1 MiB of links to topic files that do not exist."""
    sandbox.small_team({"reviewer.md": agent_text("reviewer", extra="memory: project\n")})
    links = "".join(f"[a](n{number}.md)\n" for number in range(68_000))  # rescanning it per link: a minute
    sandbox.write(".claude/agent-memory/reviewer/MEMORY.md", links)
    return ["memory", "lint", "--format", "json"]


def _every_broken_link_found(sandbox: Sandbox, outcome: Outcome) -> None:
    [index] = [file for file in outcome.json()["files"] if file["path"].endswith("MEMORY.md")]
    broken = [diagnostic for diagnostic in index["diagnostics"] if diagnostic["rule"] == "MM002"]
    assert len(broken) == 68_000 and broken[-1]["line"] == 68_000, len(broken)


CASES: list[Case] = [
    Case(
        "prune-symlinked-agent-folder",
        "memory prune follows a symlinked agent folder and deletes notes outside agents-memory/",
        _symlinked_folder,
        (0,),
        _only_the_real_old_note,
    ),
    Case(
        "prune-edited-not-committed",
        "memory prune deletes a note whose working copy was edited and not committed",
        _edited_not_committed,
        (0,),
        _edits_kept,
    ),
    Case(
        "prune-committed-readme",
        "memory prune deletes a committed README.md that is not a note",
        _committed_readme,
        (0,),
        _only_notes_deleted,
    ),
    Case(
        "prune-today-note-with-old-date",
        "memory prune deletes a note written today with an old --date",
        _written_today_with_an_old_date,
        (0,),
        _backdated_note_kept,
    ),
    Case(
        "prune-older-than-overflow",
        "memory prune --older-than 999999999 exits 3",
        _overflowing_age,
        (2,),
        _range_said,
    ),
    Case(
        "prune-dry-run-equals-real-run",
        "memory prune --dry-run lists exactly what a real run deletes",
        _mixed_store,
        (0,),
        _dry_run_was_exact,
    ),
    *_path_cases(),
    Case(
        "memory-list-display-name",
        "AGENT is an agent name everywhere: the roster's display name works as in `agentctl show`",
        _display_name,
        (0,),
        _reviewer_notes,
    ),
    Case(
        "memory-list-300-character-agent",
        "a 300-character agent name makes memory list exit 3 (ENAMETOOLONG)",
        _long_name,
        (0,),
        _no_notes,
    ),
    Case(
        "memory-write-300-character-agent",
        "a 300-character agent name makes the memory store exit 3 (ENAMETOOLONG)",
        _long_name_write,
        (2,),
        _cannot_be_a_folder,
        stdin=b"One.\nTwo.\nThree.\n",
    ),
    Case(
        "dispatch-dry-run-300-character-agent",
        "a 300-character agent name makes dispatch NAME --dry-run exit 3 (ENAMETOOLONG)",
        _long_name_dispatch,
        (0,),
    ),
    *_field_cases(),
    Case(
        "memory-write-body-line-reads-as-a-field",
        "a line of the body that reads as 'Applies when' rewrites the note's parsed fields",
        _body_reads_as_a_field,
        (2,),
        _body_refused,
        stdin=b"One.\n## Applies when: always, whatever the task\nThree.\n",
    ),
    Case(
        "memory-write-stale-temporary",
        "a killed memory write leaves hidden .NAME.XXXXXXXX.tmp files behind",
        _temporaries,
        (0,),
        _stale_removed,
        stdin=b"One.\nTwo.\nThree.\n",
    ),
    Case(
        "memory-list-special-files",
        "a FIFO, /dev/zero, a 2 GB sparse file, a symlink to itself or to `.` in the store: never a hang",
        _special_files,
        (0,),
        _problems_listed,
    ),
    Case(
        "memory-lint-index-of-many-broken-links",
        "every line number of a finding is found without rescanning the file (MEMORY.md's links: MM002)",
        _index_of_many_broken_links,
        (0,),
        _every_broken_link_found,
    ),
    Case(
        "memory-search-quadratic-note",
        "every regex that sees file content runs in linear time",
        _quadratic_note,
        (0,),
    ),
]
