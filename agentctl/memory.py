"""The memory store: dated insight notes per agent (`agents-memory/<agent>/<YYYY-MM-DD>-<topic>.md`).

Both formats of the team's seeds are read:

- A: `# <Topic>` then `**Applies when:** ...` then the insight;
- B: `# <date>-<slug>.md`, `## Insight: ...`, `## Domain: ...`, the insight, `## Source: ...`,
  `## Applies when: ...`.

The roster's `Memory` column (A or B) says which format an agent writes. Reading never fails: a
bad file becomes an entry with problems. Writing is atomic, never overwrites, and never leaves the
memory folder, whatever the agent name or topic says.

The store is outside input (a pull request can put anything there), so:

- an agent name never becomes a path: reading looks only at the folders the store holds (found by
  listing it), and writing only at a name that can be a folder name;
- nothing is followed out of the store: a symlinked agent folder or note is an entry with a problem,
  never read, written through or deleted; every note is read with a size bound (fsutil.read_bounded),
  so a FIFO, a device or a huge file is a problem, not a hang;
- every regular expression here runs in linear time on any note, task or answer, and a query looks at
  most at bounds.QUERY_TERMS distinct words.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentctl import bounds
from agentctl.config import Settings
from agentctl.errors import AgentctlError, ExitCode, UnknownAgentError, UsageError
from agentctl.fsutil import atomic_create_text, read_bounded, remove_stale_temporaries
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.textlines import LineCounter
from agentctl.textsearch import K1, Analyzer, idf, length_norm, normalized_joined, saturation, stem_prefix

if TYPE_CHECKING:
    from agentctl.spec import AgentFile
    from agentctl.vcs import FolderHistory

MIN_LINES, MAX_LINES = 5, 15
MAX_SLUG_LENGTH = 60
# An agent folder's name: what `_folder_for` creates. Well under the 255 bytes of a file name, so that
# `agents-memory/<name>` can always be made (a 300-character agent name is valid for Claude Code).
FOLDER_NAME = LazyPattern(r"[a-z0-9][a-z0-9-]{0,99}")
# The segments of a slug are split by "-", so the lazy repetition has one way to match: linear.
NOTE_NAME = LazyPattern(r"(\d{4})-(\d{2})-(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*?)(?:-(\d+))?\.md")
# The leading part stays on one line (`[^\w\n]*`): a `\W*` that crossed newlines made every blank line
# a new start of the same scan, quadratic in a note of blank lines. The rest always matches at once.
_APPLIES = LazyPattern(r"^[^\w\n]*applies[ _-]when\W*(.*)$", re.I | re.M)
_INSIGHT = LazyPattern(r"^##[ \t]*Insight[ \t]*:\s*(.*)$", re.I | re.M)
_TITLE = LazyPattern(r"^#[ \t]+(.+)$", re.M)
# Line breaks (\n, \r, \v, \f, \x1c-\x1e, NEL, U+2028, U+2029) and every other control character:
# in a note's one-line fields they would start a new line that reads as another field.
_CONTROL = LazyPattern(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
MemoryFormat = Literal["A", "B"]


class MemoryStoreError(AgentctlError):
    """A note that cannot be written as asked."""

    exit_code = ExitCode.USAGE


# The kinds of problem a file of Claude Code's own agent memory can have (NativeIssue.kind): validate's
# MM rules (validate/native_memory.py) give each its rule.
WINDOW, BROKEN_LINK, UNLINKED, SECRET, UNREADABLE, NOT_UTF8 = (
    "window",
    "broken-link",
    "unlinked",
    "secret",
    "unreadable",
    "not-utf8",
)


@record
class NativeIssue:
    """One problem of a MEMORY.md or topic file: its kind, what to say, and where it is."""

    kind: str
    message: str
    line: int = 1
    column: int = 1


@record
class MemoryEntry:
    agent: str
    file: str  # the note's path; a str because 10,000 Path objects cost 60 ms
    date: dt.date | None
    slug: str
    topic: str
    applies_when: str
    text: str
    line_count: int
    format: str  # "A", "B" or "?"; "index" or "topic" for Claude Code's own memory
    problems: list[str] = field(default_factory=list)
    kind: str = "dated"  # "dated": agents-memory/<agent>/YYYY-MM-DD-topic.md; "claude-code": a `memory:` folder
    scope: str = ""  # Claude Code's scope (user, project, local) of a "claude-code" entry
    issues: list[NativeIssue] = field(default_factory=list)  # a "claude-code" entry's problems, by kind (lint)

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def body(self) -> str:
        """The note without its title line."""
        return self.text.split("\n", 1)[1].strip() if "\n" in self.text else ""

    def to_json(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "date": self.date.isoformat() if self.date else None,
            "topic": self.topic,
            "slug": self.slug,
            "applies_when": self.applies_when,
            "path": self.file,
            "lines": self.line_count,
            "format": self.format,
            "kind": self.kind,
            "scope": self.scope or None,
            "problems": self.problems,
        }


def parse_entry(agent: str, path: Path | str, data: bytes | None = None, listed_regular: bool = False) -> MemoryEntry:
    """One note as an entry; never raises (problems are recorded). `listed_regular`: the folder's
    listing says a regular file (see fsutil.read_bounded)."""
    file = os.fspath(path)
    problems: list[str] = []
    if data is None:
        try:
            data = read_bounded(file, bounds.MEMORY_NOTE_BYTES, listed_regular)
        except (OSError, ValueError) as error:  # ValueError: a NUL in the name
            data = b""
            problems.append(f"cannot read: {getattr(error, 'strerror', None) or error}")
    if b"\x00" in data:
        problems.append("binary file, not a markdown note")
        data = b""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        problems.append("not UTF-8")
    note_date, slug = _name_parts(os.path.basename(file), problems)
    insight = _INSIGHT.search(text) if "nsight" in text else None
    title = _TITLE.search(text) if "#" in text else None
    applies = _APPLIES.search(text) if "pplies" in text.lower() else None
    topic = (
        insight.group(1).strip() if insight else title.group(1).strip().strip("*") if title else slug.replace("-", " ")
    )
    lines = text.rstrip("\n").count("\n") + 1 if text.strip() else 0
    if not text.strip() and not problems:
        problems.append("empty note")
    applies_when = applies.group(1).strip().strip("*").strip() if applies else ""
    if not applies_when:
        problems.append("no 'Applies when' line")
    if text.strip() and not MIN_LINES <= lines <= MAX_LINES:
        problems.append(f"{lines} lines; the protocol asks for {MIN_LINES}-{MAX_LINES}")
    return MemoryEntry(
        agent=agent,
        file=file,
        date=note_date,
        slug=slug,
        topic=topic,
        applies_when=applies_when,
        text=text,
        line_count=lines,
        format="B" if insight else "A" if applies and title else "?",
        problems=problems,
    )


def _name_parts(name: str, problems: list[str]) -> tuple[dt.date | None, str]:
    match = NOTE_NAME.fullmatch(name)
    if match is None:
        problems.append("not named YYYY-MM-DD-topic.md")
        return None, name.removesuffix(".md")
    try:
        note_date = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        problems.append(f"{name[:10]} is not a date")
        note_date = None
    return note_date, match.group(4)


# --- slugs and safety --------------------------------------------------------------------------------


def slugify(topic: str) -> str:
    """A safe ASCII slug: letters and digits joined by single hyphens, at most 60 characters."""
    ascii_text = unicodedata.normalize("NFKD", topic).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        head = slug[:MAX_SLUG_LENGTH]
        if slug[MAX_SLUG_LENGTH] != "-" and "-" in head:  # do not end in the middle of a word
            head = head.rsplit("-", 1)[0]
        slug = head.strip("-")
    return slug


# --- ranking -------------------------------------------------------------------------------------------


# Memory reads text as route does (textsearch): "indexes" finds the notes "index" finds.
_ANALYZER = Analyzer()


def terms_of(text: str) -> list[str]:
    return _ANALYZER.terms(text)


def query_terms(text: str, limit: int = bounds.QUERY_TERMS) -> list[str]:
    """The first `limit` distinct terms of a query or task, in text order.

    A task can be megabytes (a dispatch ranks notes against it): the words are scanned lazily and
    the scan stops at the limit, so neither the time nor the memory grows with the task beyond it."""
    return list(_ANALYZER.first_terms(text, limit))


FEW_TERMS = 32  # up to this many query terms, one alternation pattern finds their words (see _Index)
FIELD_WEIGHTS = (("applies_when", 3.0), ("topic", 2.0), ("text", 1.0))


@record
class SearchHit:
    entry: MemoryEntry
    score: float
    terms: list[str]  # the query's words the note matched, as the query wrote them


class _Index:
    """BM25 over applies-when, topic and body, each field weighted (applies-when counts most),
    over the terms of textsearch (stemmed: "indexes" counts where "index" is written).

    A query of a few terms (a search) finds the words that may have their stems with one
    alternation of the stems' prefixes, in C; a query of many (a task's words, for a prompt) by
    splitting each field into words and looking each up, which costs the same whatever their
    number (an alternation of 512 terms took eight times as long over ten thousand notes). Both
    count the same whole-word occurrences.
    """

    def __init__(self, entries: list[MemoryEntry], query: str) -> None:
        self.entries = entries
        self.written = _ANALYZER.first_terms(query, bounds.QUERY_TERMS)  # term -> the query's word
        self.terms = frozenset(self.written)
        # A few terms: one alternation of their prefixes finds the candidate words in C (3x faster
        # on ten thousand notes than taking every word). Many terms (a task's words in a prompt):
        # every word, looked up in a set, which costs the same whatever their number. NUL ends a field.
        few = 0 < len(self.terms) <= FEW_TERMS
        self.pattern = re.compile(_prefixes_pattern(self.terms) if few else r"[a-z0-9]+|\x00")

    def search(self) -> list[SearchHit]:
        if not self.terms:
            return []
        counted = self._counts()
        lengths = [len(entry.text) for entry in self.entries]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        frequency = Counter(term for counts in counted for term in counts)
        rarity = {term: idf(len(self.entries), found) * (K1 + 1) for term, found in frequency.items()}
        hits = []
        for entry, counts, length in zip(self.entries, counted, lengths, strict=True):
            if not counts:
                continue
            norm = length_norm(length, average)
            score = 0.0
            for term, weighted in counts.items():
                score += rarity[term] * saturation(weighted / norm)
            hits.append(SearchHit(entry, round(score, 4), sorted(self.written[term] for term in counts)))
        return sorted(hits, key=_hit_order)

    def _counts(self) -> list[dict[str, float]]:
        """Per note, the weighted occurrences of each query term in its fields.

        Every field of every note is normalized and searched in one pass (a call per field cost
        more than the work on it), NUL-separated: the n-th NUL ends the n-th field."""
        fields = [getattr(entry, name) for entry in self.entries for name, _ in FIELD_WEIGHTS]
        weights = [weight for _, weight in FIELD_WEIGHTS]
        counts: list[dict[str, float]] = [{} for _ in self.entries]
        terms, term_of, seen = self.terms, _ANALYZER.term, dict[str, str]()
        field = 0
        for word in self.pattern.findall(normalized_joined(fields)):
            if word == "\x00":
                field += 1
                continue
            term = seen.get(word)
            if term is None:
                term = term_of(word)
                term = seen[word] = term if term in terms else ""
            if term:
                note = counts[field // len(weights)]
                note[term] = note.get(term, 0.0) + weights[field % len(weights)]
        return counts


def _prefixes_pattern(terms: Iterable[str]) -> str:
    """The words that may have one of these stems (they start with its prefix), and NUL.

    Each alternative starts with its first letter, then looks behind for the start of a word: a
    pattern that starts with letters lets `re` skip to them (a third faster over ten thousand notes
    than a pattern that starts by looking behind)."""
    prefixes = sorted({stem_prefix(term) for term in terms})
    first = [re.escape(prefix[0]) for prefix in prefixes]
    words = [f"{c}(?<![a-z0-9]{c}){re.escape(p[1:])}[a-z0-9]*" for c, p in zip(first, prefixes, strict=True)]
    return "|".join([*words, r"\x00"])


def _hit_order(hit: SearchHit) -> tuple[float, int, str]:
    newest = -(hit.entry.date.toordinal() if hit.entry.date else 0)
    return -hit.score, newest, hit.entry.file


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


# --- the store -------------------------------------------------------------------------------------------

SYMLINK_PROBLEM = "a symbolic link: not followed (notes are read only from files inside the memory folder)"


def problem_entry(agent: str, path: str, problem: str) -> MemoryEntry:
    """A file or folder of the store that is not read (a symlink, an unreadable folder): listed with
    its problem, so that nothing in the store is left out without a word."""
    note_date, slug = _name_parts(os.path.basename(path), [])
    return MemoryEntry(agent, path, note_date, slug, slug.replace("-", " "), "", "", 0, "?", [problem])


def _leads_to_folder(item: os.DirEntry[str]) -> bool:
    """Whether a symlink points at a folder (stat only: nothing is opened); a loop does not."""
    try:
        return item.is_dir()
    except OSError:
        return False


class MemoryStore:
    """The memory folder of one team."""

    def __init__(
        self,
        settings: Settings,
        roster: dict[str, MemoryFormat] | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        home: Path | None = None,
        scopes: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.memory_dir
        # HOME holds the `user` scope's folders; injected (never read from the process here) so that tests
        # never read the real ~/.claude. None: no `user` scope.
        self.home = home
        self.scopes = scopes  # agent name -> its `memory:` scope (None: read from the agent files when needed)
        self.roster = roster  # agent name -> the format it writes (None: not loaded)
        self.today = today
        self._names: dict[str, str] | None = None  # normalised name or display name -> agent name

    # reading

    def agents(self) -> list[str]:
        """The agent folders the store holds: real folders (a symlinked one is not followed), not hidden."""
        return sorted(name for name, item in self._children().items() if item.is_dir(follow_symlinks=False))

    def _children(self) -> dict[str, os.DirEntry[str]]:
        """What the memory folder holds, by name, hidden entries left out.

        Reading builds paths from these names only: an agent name that is not one of them (`../x`,
        an absolute path, 300 characters) never reaches the file system."""
        try:
            with os.scandir(self.root) as listing:
                return {item.name: item for item in listing if not item.name.startswith(".")}
        except FileNotFoundError:
            return {}
        except NotADirectoryError:
            raise MemoryStoreError(
                f"the memory folder {self.root} is a file", hint="move it away and create a folder"
            ) from None
        except OSError as error:
            raise MemoryStoreError(
                f"cannot read the memory folder {self.root}: {error.strerror}", hint="check its permissions"
            ) from None

    def entries(self, agent: str | None = None, since: dt.date | None = None) -> list[MemoryEntry]:
        """Every note (of one agent), newest first; a bad file is an entry with problems.

        `agent` is an agent's name or roster display name (`agent_named`): an unknown name is
        UnknownAgentError, an agent of the team without notes an empty list."""
        children = self._children()
        if agent is None:
            found = [entry for name, item in children.items() for entry in self._read_child(name, item, listed=True)]
            found += [entry for scope in NATIVE_SCOPES for entry in native_entries(self.native_root(scope), scope)]
        else:
            name = self.agent_named(agent, children)
            found = self._read_child(name, children[name]) if name in children else []
            found += [
                entry for scope in NATIVE_SCOPES for entry in native_entries(self.native_root(scope), scope, name)
            ]
        if since is not None:
            found = [entry for entry in found if entry.date is not None and entry.date >= since]
        return sorted(found, key=_newest_first)

    def notes_of(self, agent: str) -> list[MemoryEntry]:
        """The notes of the agent called exactly `agent` (no lookup in the team), newest first; none
        when the store has no folder of that name."""
        item = self._children().get(agent)
        return sorted(self._read_child(agent, item), key=_newest_first) if item else []

    def _read_child(self, name: str, item: os.DirEntry[str], listed: bool = False) -> list[MemoryEntry]:
        if item.is_symlink():
            # Listing the whole store, only a link to a folder stands for an agent (README.md -> ... does not).
            return [problem_entry(name, item.path, SYMLINK_PROBLEM)] if not listed or _leads_to_folder(item) else []
        if not item.is_dir(follow_symlinks=False):
            return []
        try:
            with os.scandir(item.path) as listing:
                notes = [note for note in listing if note.name.endswith(".md") and not note.name.startswith(".")]
        except OSError as error:
            return [problem_entry(name, item.path, f"cannot read the folder: {error.strerror}")]
        return [
            problem_entry(name, note.path, SYMLINK_PROBLEM)
            if note.is_symlink()
            else parse_entry(name, note.path, listed_regular=note.is_file(follow_symlinks=False))
            for note in notes
            if not note.is_dir(follow_symlinks=False)
        ]

    def agent_named(self, wanted: str, children: dict[str, os.DirEntry[str]] | None = None) -> str:
        """The agent `wanted` names: its name or roster display name in any case (as `agentctl show`
        takes them), or the name of a folder the store holds; UnknownAgentError with a did-you-mean
        otherwise, so that a typo is an error and not an empty list.

        The roster is read first (one small file); the agent files are loaded only when neither the
        roster nor the store knows the name."""
        if not wanted.strip():
            raise UnknownAgentError("the agent name is empty", hint="`agentctl list` shows the team's agents")
        on_roster = self._roster_name(wanted)
        if on_roster is not None:
            return on_roster
        if wanted in (self._children() if children is None else children) or self._native_agent(wanted):
            return wanted
        from agentctl.team import Team, load_team, read_roster

        settings = self.settings
        team = (
            load_team(settings)
            if settings.agents_dir.is_dir()
            else Team(settings, agents=[], roster=read_roster(settings.protocol_file))
        )
        return team.resolve(wanted).team_name

    def _roster_name(self, wanted: str) -> str | None:
        """The roster's agent that `wanted` names (its name or display name, any case), or None."""
        from agentctl.team import normalise_name, team_roster

        if self._names is None:
            # The protocol's table, or the roster derived from the agent files when it has none.
            rows = team_roster(self.settings)[0] if self.roster is None else []
            if self.roster is None:
                self.roster = {row.agent: _format_column(row.columns) for row in rows}
            self._names = {normalise_name(row.display_name): row.agent for row in rows}
            self._names |= {normalise_name(agent): agent for agent in self.roster}
        return self._names.get(normalise_name(wanted))

    def find(self, agent: str, wanted: str) -> MemoryEntry:
        """A note by file name, path, slug or topic (any case)."""
        key = wanted.strip().lower()
        entries = self.entries(agent)
        for entry in entries:
            if key in (entry.path.name.lower(), entry.path.as_posix().lower(), entry.slug, entry.topic.lower()):
                return entry
        slug = slugify(wanted)
        matches = [entry for entry in entries if slug and slug in entry.slug]
        if len(matches) == 1:
            return matches[0]
        names = ", ".join(entry.path.name for entry in matches[:5]) or "none"
        raise UsageError(
            f"no single note of {agent} matches {wanted!r} (candidates: {names})",
            hint="`agentctl memory list AGENT` shows the notes",
        )

    def search(self, query: str, agent: str | None = None, top: int = 10) -> list[SearchHit]:
        if not query_terms(query, limit=1):
            raise UsageError("the query has no words to search for", hint="search for words, e.g. `index words table`")
        return _Index(self.entries(agent), query).search()[:top]

    def relevant(self, agent: str, task: str, budget_tokens: int) -> list[MemoryEntry]:
        """The notes to put into an agent's prompt: most relevant first, newest first among equals,
        as many as fit `budget_tokens`. Deterministic: the same inputs give the same bytes.

        `agent` is the exact name of an agent the caller has resolved; a name the store has no folder
        for (whatever it looks like) simply has no notes."""
        chosen, used = [], 0
        for hit in _Index(self.notes_of(agent), task).search():
            cost = estimate_tokens(hit.entry.text)
            if used + cost <= budget_tokens:
                chosen.append(hit.entry)
                used += cost
        return chosen

    # writing

    def write(
        self,
        agent: str,
        topic: str,
        applies_when: str,
        body: str,
        date: dt.date | None = None,
        force: bool = False,
        domain: str = "",
        source: str = "",
        slug: str | None = None,
    ) -> MemoryEntry:
        """Create a note atomically; never overwrite (a same-day, same-topic note gets -2, -3...).

        `slug` names the file when the topic is a sentence (an agent's `### <topic-slug>`). The
        one-line fields (topic, applies-when, domain, source) may not hold a line break or any other
        control character, and the body may not hold a line that reads as one of the note's fields:
        either would rewrite what the note says when it is read back. MemoryStoreError (exit 2).

        An agent whose file declares `memory:` gets the note where Claude Code reads it: a topic file
        in its scope's folder and a pointer line in MEMORY.md (`write_native`)."""
        scope = self.declared_scope(agent)
        if scope is not None:
            return self.write_native(agent, scope, topic, applies_when, body, slug)
        agent = self._on_roster(agent)
        memory_format = self.memory_format(agent)
        topic, applies_when, domain, source = _one_line_fields(topic, applies_when, domain, source)
        slug = slugify(slug or topic)
        if not slug:
            raise MemoryStoreError(
                f"the topic {topic!r} has no letters or digits to name a file with",
                hint="give a topic such as 'words table index'",
            )
        if not applies_when:
            raise MemoryStoreError(
                "a note needs an 'Applies when' text", hint="say when a future task should recall it"
            )
        body = body.strip("\n")
        if not body.strip():
            raise MemoryStoreError("the note's body is empty", hint="write the insight itself: 1-10 lines")
        note_date = date or self.today()
        parts = (memory_format, note_date, slug, topic, applies_when)
        text = render_note(*parts, body, domain, source)
        self._check_size(text, body)
        _refuse_rewritten_fields(text, render_note(*parts, "-", domain, source))
        folder = self._folder_for(agent)
        if not force:
            self._refuse_near_duplicate(agent, text)
        return self._create(agent, folder, f"{note_date.isoformat()}-{slug}", text)

    def memory_format(self, agent: str) -> MemoryFormat:
        """The format `agent` writes (its roster row's Memory column); UnknownAgentError if off the roster."""
        on_roster = self._roster_name(agent)
        if on_roster is None or self.roster is None:
            raise UnknownAgentError(f"{agent!r} is not an agent of the roster")
        return self.roster[on_roster]

    def _on_roster(self, agent: str) -> str:
        """The roster's name for `agent` (its name or display name, any case); UnknownAgentError with
        what to do otherwise (a did-you-mean, or the roster to add it to)."""
        on_roster = self._roster_name(agent)
        if on_roster is not None:
            return on_roster
        try:
            named = self.agent_named(agent)  # loads the team: only to say what is wrong
        except UnknownAgentError as error:
            raise UnknownAgentError(f"{agent!r} is not an agent of the roster", hint=error.hint) from None
        raise UnknownAgentError(
            f"{agent!r} is not an agent of the roster",
            hint=f"add a row for {named} to the roster in {self.settings.protocol_file}",
        )

    def _check_size(self, text: str, body: str) -> None:
        lines = text.rstrip("\n").count("\n") + 1
        if not MIN_LINES <= lines <= MAX_LINES:
            frame = lines - (body.count("\n") + 1)
            raise MemoryStoreError(
                f"the note would be {lines} lines; the team protocol asks for {MIN_LINES}-{MAX_LINES}",
                hint=f"give a body of {max(1, MIN_LINES - frame)}-{MAX_LINES - frame} lines",
            )

    def _folder_for(self, agent: str) -> Path:
        """The agent's folder, created if needed, proven to lie inside the memory folder."""
        if not FOLDER_NAME.fullmatch(agent):
            raise MemoryStoreError(
                f"{agent[:120]!r} cannot be a memory folder name",
                hint="a memory folder is named after its agent: lowercase letters, digits and hyphens, "
                "at most 100 characters",
            )
        if self.root.exists() and not self.root.is_dir():
            raise MemoryStoreError(f"the memory folder {self.root} is a file", hint="move it away and create a folder")
        folder = self.root / agent
        try:
            linked = folder.is_symlink()
            if not linked:
                self.root.mkdir(parents=True, exist_ok=True)
                folder.mkdir(exist_ok=True)
        except OSError as error:
            raise MemoryStoreError(f"cannot create {folder}: {error.strerror}", exit_code=ExitCode.PROBLEMS) from None
        if linked:
            raise MemoryStoreError(
                f"{folder} is a symbolic link: notes are written only into folders inside the memory folder",
                hint="replace the symlink with a real folder",
            )
        real_root, real_folder = self.root.resolve(), folder.resolve()
        if real_folder.parent != real_root:  # a symlink swapped in, pointing out of the store
            raise MemoryStoreError(
                f"{folder} leads outside the memory folder ({real_folder})",
                hint="replace the symlink with a real folder",
            )
        return real_folder

    def _refuse_near_duplicate(self, agent: str, text: str) -> None:
        words = set(terms_of(text))
        for entry in self.notes_of(agent):
            theirs = set(terms_of(entry.text))
            if words and theirs and len(words & theirs) / len(words | theirs) >= NEAR_DUPLICATE:
                raise MemoryStoreError(
                    f"this note nearly repeats {entry.path.name} of {agent}",
                    hint=f"update {entry.path}, or pass --force to keep both",
                )

    def _create(self, agent: str, folder: Path, stem: str, text: str) -> MemoryEntry:
        remove_stale_temporaries(folder)  # what killed writes left here (only our own, old pattern)
        return parse_entry(agent, create_numbered(folder, stem, text))

    # Claude Code's own agent memory

    def native_root(self, scope: str) -> Path:
        """The folder that holds the agents' folders of one `memory:` scope (Claude Code 2.1.33+);
        without a HOME, the `user` scope is a folder that does not exist."""
        if scope == "user":
            return (self.home or self.settings.root / ".agentctl" / "no-home") / ".claude" / "agent-memory"
        return self.settings.root / ".claude" / ("agent-memory" if scope == "project" else "agent-memory-local")

    def native_entries(self) -> list[MemoryEntry]:
        """Every file of Claude Code's own agent memory, in all three scopes."""
        return [entry for scope in NATIVE_SCOPES for entry in native_entries(self.native_root(scope), scope)]

    def _native_agent(self, name: str) -> bool:
        return any(name in _real_folders(self.native_root(scope)) for scope in NATIVE_SCOPES)

    def declared_scope(self, agent: str) -> str | None:
        """The `memory:` scope the agent's file declares, None when it declares none (or is unknown)."""
        if self.scopes is None:
            self.scopes = {}
            if self.settings.agents_dir.is_dir():
                from agentctl.team import load_team

                self.use_agents(load_team(self.settings).agents)
        return self.scopes.get(agent)

    def use_agents(self, agents: Iterable[AgentFile]) -> None:
        """The team's agent files, already read by the caller: their `memory:` scopes, so that the
        store does not read every agent file a second time."""
        self.scopes = {
            item.team_name: item.spec.memory
            for item in agents
            if isinstance(item.spec.memory, str) and item.spec.memory in NATIVE_SCOPES
        }

    def injected(self, agent: str, scope: str) -> NativeMemory:
        """What Claude Code injects for `agent` with `memory: scope`: its folder and MEMORY.md's window."""
        folder = self.native_root(scope) / agent
        data = b""
        if agent in _real_folders(self.native_root(scope)) and os.path.lexists(folder / MEMORY_INDEX):
            try:
                data = read_bounded(folder / MEMORY_INDEX, bounds.NATIVE_MEMORY_BYTES)
            except (OSError, ValueError):
                data = b""  # a symlink, a FIFO or a huge file: nothing Claude Code would show either
        text, warning = memory_window(data.decode("utf-8", errors="replace"), len(data))
        return NativeMemory(agent, scope, str(folder), text, warning)

    def write_native(
        self, agent: str, scope: str, topic: str, applies_when: str, body: str, slug: str | None = None
    ) -> MemoryEntry:
        """A topic file in the agent's Claude Code memory folder, and its pointer line in MEMORY.md,
        in the shape Claude Code's own instructions ask of the agent."""
        topic, applies_when = _one_line_fields(topic, applies_when, "", "")[:2]
        if scope == "user" and self.home is None:
            raise MemoryStoreError(f"{agent}'s memory is user-scope and no HOME is known", hint="set HOME")
        name = slugify(slug or topic)
        if not name or not body.strip():
            raise MemoryStoreError(
                "a note needs a topic with letters or digits and a body", hint="say what was learned"
            )
        folder = _native_folder(self.native_root(scope), agent)
        file = create_numbered(folder, name, native_topic_text(name, topic, applies_when, body))
        _add_pointer(folder / MEMORY_INDEX, native_pointer(topic, file.name, applies_when))
        return parse_native(agent, scope, str(file))

    # upkeep

    def prune(self, older_than_days: int, dry_run: bool = False) -> PruneReport:
        """Delete the notes nobody has touched for `older_than_days` days; a dry run only says which.

        The rule: a file is deleted only if all of these hold, and kept otherwise.

        - It is a note: a regular file named YYYY-MM-DD-topic.md directly in an agent folder of the
          memory folder. Symlinked notes and symlinked agent folders are never followed; README.md
          and any other file stay.
        - Its name's date is before the cutoff: the start (UTC) of the day `older_than_days` before today.
        - The file was last modified before the cutoff (a note written today with an old --date, or
          rewritten and reverted since, was touched).
        - When the memory folder is in a git working tree: git tracks the note, `git status` shows no
          change to it (staged or not), and the newest commit that touched it (author or committer
          time, merges included) is before the cutoff. Untracked and ignored notes are kept: git
          cannot say since when nobody touched them.

        The dry run and the real run make the same selection (`_old_notes`); the real run then checks
        each note again right before unlinking it, and keeps one that changed meanwhile. Claude Code's
        own agent memory is never pruned: its agent curates it through MEMORY.md, whose links a
        deleted topic file would break."""
        cutoff = prune_cutoff(self.today(), older_than_days)
        report = PruneReport(cutoff, dry_run)
        real_root = os.path.realpath(self.root)
        old, report.kept = self._old_notes(real_root, cutoff)
        for note in old:
            entry = parse_entry(note.agent, note.file)  # read before the delete: the report shows it
            if dry_run or _delete_note(real_root, note):
                report.deleted.append(entry)
            else:
                report.kept.append((note.file, "changed while pruning (or could not be checked again)"))
        return report

    def _old_notes(self, real_root: str, cutoff: dt.date) -> tuple[list[_OldNote], list[tuple[str, str]]]:
        """The one selection of a dry run and a real run: the notes to delete, and the notes dated
        before the cutoff that stay, with why."""
        from agentctl.vcs import folder_history

        if not os.path.isdir(real_root):
            return [], []
        history = folder_history(Path(real_root))
        since = _start_of(cutoff)
        old: list[_OldNote] = []
        kept: list[tuple[str, str]] = []
        for agent in self.agents():
            for item in _dated_before(os.path.join(real_root, agent), cutoff):
                why = _why_kept(item, since, history)
                if why is None:
                    old.append(_OldNote(agent, item.name, item.path, _identity(item.stat(follow_symlinks=False))))
                else:
                    kept.append((item.path, why))
        return old, kept


PRUNE_DAYS = range(1, 100_001)  # --older-than: a day to about 270 years (more would pass the year 1)


def prune_cutoff(today: dt.date, older_than_days: int) -> dt.date:
    """The day before which a note counts as old; UsageError for an age outside PRUNE_DAYS."""
    if older_than_days in PRUNE_DAYS and today.toordinal() > older_than_days:
        return today - dt.timedelta(days=older_than_days)
    raise UsageError(
        f"--older-than {older_than_days} is out of range: give {PRUNE_DAYS[0]} to {PRUNE_DAYS[-1]:,} days",
        hint="for example --older-than 180",
    )


@record
class PruneReport:
    """What `prune` deleted (in a dry run: would delete), and the old notes it kept, with why."""

    cutoff: dt.date
    dry_run: bool
    deleted: list[MemoryEntry] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of notes dated before the cutoff


@record
class _OldNote:
    agent: str
    name: str
    file: str
    identity: tuple[int, int, int, int]  # the file that was judged (see _identity)


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """Which file, and which version of it: device, inode, size, modification time."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _start_of(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _dated_before(folder: str, cutoff: dt.date) -> list[os.DirEntry[str]]:
    """The entries of an agent folder named like a note dated before `cutoff` (nothing else is a candidate)."""
    try:
        with os.scandir(folder) as listing:
            return [item for item in listing if (_name_parts(item.name, [])[0] or cutoff) < cutoff]
    except OSError:
        return []


def _why_kept(item: os.DirEntry[str], since: float, history: FolderHistory | None) -> str | None:
    """Why an old-named note stays, or None when it is old in every respect (see `MemoryStore.prune`)."""
    try:
        info = item.stat(follow_symlinks=False)
    except OSError as error:
        return f"cannot be checked: {error.strerror}"
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link: never followed"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_mtime >= since:
        return f"file modified on {_day_of(info.st_mtime)}"
    if history is None:
        return None
    if item.path not in history.tracked:
        return "not committed to git"
    if item.path in history.changed:
        return "changed in the working tree or the index (git status)"
    committed = history.last_change.get(item.path)
    if committed is None:
        return "git has no commit of it"
    return f"committed on {_day_of(committed)}" if committed >= since else None


def _day_of(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).date().isoformat()


_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@contextmanager
def _open_folder(path: str, dir_fd: int | None = None) -> Iterator[int]:
    """A folder's descriptor; OSError if `path` is a symlink (O_NOFOLLOW) or not a folder."""
    descriptor = os.open(path, _FOLDER_FLAGS, dir_fd=dir_fd)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _delete_note(real_root: str, note: _OldNote) -> bool:
    """Unlink the note if it is still the file that was judged; False (kept) otherwise.

    The agent folder is opened relative to the memory folder without following a symlink, and the
    note is checked and unlinked relative to that open folder: whatever was swapped in since the
    selection (a symlinked folder, a symlinked or rewritten note), the delete can only remove the
    judged file from the real agent folder inside the real memory folder."""
    try:
        with _open_folder(real_root) as root, _open_folder(note.agent, dir_fd=root) as folder:
            info = os.stat(note.name, dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or _identity(info) != note.identity:
                return False
            os.unlink(note.name, dir_fd=folder)
            return True
    except (OSError, NotImplementedError):  # NotImplementedError: a platform without dir_fd
        return False


NEAR_DUPLICATE = 0.8


def _one_line_fields(*values: str) -> tuple[str, ...]:
    """The topic, applies-when, domain and source, stripped; MemoryStoreError for a line break or
    any other control character inside one (it would start a line that reads as another field)."""
    labels = ("topic", "'Applies when' text", "domain", "source")
    stripped = tuple(value.strip() for value in values)
    for label, value in zip(labels, stripped, strict=True):
        found = _CONTROL.search(value)
        if found is not None:
            character = found.group()
            kind = "a line break" if character in _LINE_BREAKS else "a control character"
            raise MemoryStoreError(
                f"the {label} contains {kind} (U+{ord(character):04X}); each of a note's fields is one line",
                hint=f"write the {label} on one line, without control characters",
            )
    return stripped


def _refuse_rewritten_fields(text: str, plain: str) -> None:
    """MemoryStoreError when the body changes what the note reads back as (a body line such as
    `## Applies when: ...` or `## Insight: ...` that the reader would take for the note's own):
    `plain` is the same note with a neutral body."""
    written, expected = parse_entry("", "n.md", text.encode()), parse_entry("", "n.md", plain.encode())
    for label, name in (("'Applies when' line", "applies_when"), ("topic", "topic")):
        if getattr(written, name) != getattr(expected, name):
            raise MemoryStoreError(
                f"a line of the body reads as the note's {label} and would replace it when the note is read",
                hint="reword the body's line that starts like a field ('Applies when:', '## Insight:')",
            )


def _format_column(columns: dict[str, str]) -> MemoryFormat:
    value = (columns.get("memory") or columns.get("memory format") or "A").strip().strip("`").upper()
    return "B" if value.startswith("B") else "A"


def _newest_first(entry: MemoryEntry) -> tuple[int, str]:
    return -(entry.date.toordinal() if entry.date else 0), entry.file


_B_HEADER = LazyPattern(r"^##\s*(Insight|Domain|Source|Applies when)\s*:\s*(.*)$", re.I)


def note_fields(topic: str, text: str) -> dict[str, str]:
    """A note an agent returned (either format) as MemoryStore.write's arguments.

    The store renders it again in the agent's own format, so a note written in the other format
    (or with a stray title) still lands as the roster says."""
    applies = ""
    domain = source = ""
    body: list[str] = []
    for line in text.strip().split("\n"):
        header = _B_HEADER.match(line.strip())
        applies_line = _APPLIES.match(line)
        if header:
            key, value = header.group(1).lower(), header.group(2).strip()
            if key == "insight":
                topic = value or topic
            elif key == "domain":
                domain = value
            elif key == "source":
                source = value
            else:
                applies = value
        elif applies_line and not applies:
            applies = applies_line.group(1).strip().rstrip("*").strip()
        elif line.startswith("# ") and not body:
            title = line[2:].strip()
            topic = title if len(title) > 255 or not NOTE_NAME.match(title) else topic  # a file name: <= 255
        else:
            body.append(line)
    return {
        "topic": topic.replace("-", " ").strip() if "-" in topic and " " not in topic else topic.strip(),
        "applies_when": applies,
        "body": "\n".join(body).strip("\n"),
        "domain": domain,
        "source": source or "returned by the agent in a dispatch",
    }


def render_note(
    memory_format: MemoryFormat,
    note_date: dt.date,
    slug: str,
    topic: str,
    applies_when: str,
    body: str,
    domain: str = "",
    source: str = "",
) -> str:
    if memory_format == "B":
        return (
            f"# {note_date.isoformat()}-{slug}.md\n## Insight: {topic}\n## Domain: {domain or 'general'}\n"
            f"{body}\n## Source: {source or 'recorded with agentctl memory write'}\n## Applies when: {applies_when}\n"
        )
    return f"# {topic}\n\n**Applies when:** {applies_when}\n\n{body}\n"


# --- staleness -----------------------------------------------------------------------------------------

_PATH_MENTION = LazyPattern(r"`([^`\s]+)`|(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+\.\w+)")


def mentioned_paths(text: str) -> list[str]:
    """Repository paths a note names, in backticks or plain (`a/b.py`, a/b/c.ts)."""
    found = []
    for backticked, plain in _PATH_MENTION.findall(text):
        token = (backticked or plain).rstrip(".,:;)")
        if "/" in token and not token.startswith(("http", "/")) and "<" not in token and "*" not in token:
            found.append(token)
    return list(dict.fromkeys(found))


@record
class Staleness:
    entry: MemoryEntry
    changed: list[str] = field(default_factory=list)  # named files changed in git after the note
    missing: list[str] = field(default_factory=list)  # named files that no longer exist

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.missing)


def staleness(settings: Settings, entries: list[MemoryEntry]) -> list[Staleness]:
    """Which notes name files that changed after the note was written, or that are gone.

    "Written" is the note's last commit, or the end of its date when it was never committed.
    Paths are read from the repository root; a path whose top folder is not in the repository
    belongs to a project this checkout does not hold, and is not judged.
    """
    from agentctl.vcs import last_commit_times, repository_root

    top = repository_root(settings.root) or settings.root
    written = note_commit_times(settings, entries)
    mentions = {
        entry.path: [path for path in mentioned_paths(entry.text) if _exists(top / path.split("/", 1)[0])]
        for entry in entries
    }
    existing = sorted({path for paths in mentions.values() for path in paths if _exists(top / path)})
    changed_at = last_commit_times(top, existing) if (top / ".git").exists() else {}
    results = []
    for entry in entries:
        report = Staleness(entry)
        since = written.get(entry.path) or _end_of(entry.date)
        for path in mentions[entry.path]:
            if not _exists(top / path):
                report.missing.append(path)
            elif since is not None and changed_at.get(path, 0.0) > since:
                report.changed.append(path)
        results.append(report)
    return results


def _exists(path: Path) -> bool:
    """Path.exists for a path from a note's text: a name too long for the file system is not there."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def note_commit_times(settings: Settings, entries: list[MemoryEntry]) -> dict[Path, float]:
    """When each committed note was last committed (notes never committed are left out)."""
    from agentctl.vcs import last_commit_times, repository_root

    top = repository_root(settings.root)
    if top is None or not entries:
        return {}
    relative = {entry.path: _relative(entry.path, top) for entry in entries}
    times = last_commit_times(top, [path for path in relative.values() if path])
    return {entry: times[path] for entry, path in relative.items() if path in times}


def _relative(path: Path, top: Path) -> str | None:
    """`path` relative to the repository `top`, its folder resolved but not the file itself: a note
    that is a symlink (even a loop) is the link git tracks, and resolving it could fail."""
    try:
        folder = Path(os.path.realpath(path.parent)) / path.name
        return folder.relative_to(os.path.realpath(top)).as_posix()
    except ValueError:
        return None


def _end_of(day: dt.date | None) -> float | None:
    if day is None:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() + 86_400


# --- Claude Code's own agent memory --------------------------------------------------------------------
# Since Claude Code 2.1.33 an agent's `memory:` field (user, project, local) gives it a folder,
# `<base>/<agent>/`, whose MEMORY.md Claude Code puts into the agent's system prompt. Verified against
# the 2.1.332 binary: the window is the first 200 lines of the trimmed file, then at most 25,000 bytes
# of whole lines (a single longer line: its first 25,000 characters), then a WARNING line.

NATIVE_SCOPES = ("project", "local", "user")
MEMORY_INDEX = "MEMORY.md"
WINDOW_LINES = 200
WINDOW_BYTES = 25_000
EMPTY_INDEX = "Your MEMORY.md is currently empty. When you save new memories, they will appear here."
_ADVICE = "Keep index entries to one line under ~200 chars; move detail into topic files."
# `[Title](file.md)`: the target up to its closing parenthesis, on one line; linear (one way to match).
_LINK = LazyPattern(r"\]\(([^()\s]+\.md)\)")
_FRONT_FIELD = LazyPattern(r"^(name|description)[ \t]*:[ \t]*(.*)$", re.M)


@record
class NativeMemory:
    """What Claude Code injects for one agent: the folder, MEMORY.md's window and the warning after it."""

    agent: str
    scope: str
    folder: str
    text: str
    warning: str


def native_topic_text(name: str, topic: str, applies_when: str, body: str) -> str:
    """A topic file of Claude Code's agent memory, in the shape its own instructions ask of an agent."""
    front = f"name: {name}\ndescription: {applies_when or topic}\nmetadata:\n  type: project"
    return f"---\n{front}\n---\n\n{body.strip()}\n"


def native_pointer(topic: str, file_name: str, applies_when: str) -> str:
    """The line of MEMORY.md that points at a topic file."""
    return f"- [{topic}]({file_name}) — {applies_when}"


def _kilobytes(size: int) -> str:
    return f"{size / 1024:.1f}KB"


def _preview(line: str) -> str:
    return line if len(line) <= 80 else line[:80] + "…"


def _window_count(lines: list[str]) -> int:
    """How many of the window's (at most 200) lines fit its 25,000 bytes, whole; 0 when the first
    line alone is longer."""
    used, count = 0, 0
    for line in lines:
        used += len(line.encode("utf-8")) + (1 if count else 0)
        if used > WINDOW_BYTES:
            break
        count += 1
    return count


def memory_window(text: str, size: int) -> tuple[str, str]:
    """MEMORY.md as Claude Code injects it: (the text it shows, the WARNING it adds or "")."""
    lines = text.strip().split("\n") if text.strip() else []
    total = len(lines)
    kept = lines[:WINDOW_LINES]
    by_lines = total > WINDOW_LINES
    count = _window_count(kept)
    by_bytes = count < len(kept)
    if not by_lines and not by_bytes:
        return "\n".join(kept), ""
    if by_bytes and count == 0:  # one line longer than the whole window: cut inside it
        shown = kept[0][:WINDOW_BYTES]
        cut = f"everything after the first {WINDOW_BYTES} characters of line 1 was cut off"
    else:
        kept = kept[:count]
        shown = "\n".join(kept)
        cut = f"{total - len(kept)} of {total} lines were cut off, starting at line {len(kept) + 1} " + (
            f'("{_preview(lines[len(kept)])}")'
        )
    what = _window_size(total, size, by_bytes)
    return shown, f"> WARNING: MEMORY.md is {what} Only part of it was loaded: {cut}. {_ADVICE}"


def _window_size(total: int, size: int, by_bytes: bool) -> str:
    """What the WARNING says MEMORY.md is: its lines, its size, or both (whichever cut the window)."""
    by_lines = total > WINDOW_LINES
    if by_lines and by_bytes:
        return f"{total} lines and {_kilobytes(size)}."
    if by_lines:
        return f"{total} lines (limit: {WINDOW_LINES})."
    return f"{_kilobytes(size)} (limit: {_kilobytes(WINDOW_BYTES)}) — index entries are too long."


def window_issue(text: str, size: int) -> NativeIssue | None:
    """MEMORY.md past Claude Code's window, with the lines of the file the agent never sees (Claude
    Code counts lines of the trimmed text; these are the file's own line numbers)."""
    lines = text.strip().split("\n") if text.strip() else []
    kept = lines[:WINDOW_LINES]
    count = _window_count(kept)
    if len(lines) <= WINDOW_LINES and count == len(kept):
        return None
    first = text[: len(text) - len(text.lstrip())].count("\n") + 1  # the file's line of the window's line 1
    last = first + len(lines) - 1
    what = _window_size(len(lines), size, count < len(kept)).removesuffix(".")
    if count == 0:
        rest = f"; lines {first + 1}-{last} are cut off" if last > first else ""
        message = (
            f"MEMORY.md is {what}: line {first} alone is longer than Claude Code's window of {WINDOW_BYTES:,} "
            f"bytes, and the agent sees only its first {WINDOW_BYTES:,} characters{rest}"
        )
        return NativeIssue(WINDOW, message, first)
    cut = first + count
    message = (
        f"MEMORY.md is {what}: Claude Code injects lines {first}-{cut - 1} into the agent's prompt and cuts "
        f'off lines {cut}-{last} (from "{_preview(lines[count])}")'
    )
    return NativeIssue(WINDOW, message, cut)


def _real_folders(base: Path) -> set[str]:
    """The agent folders of one scope: real folders only (a symlinked one is never followed)."""
    try:
        with os.scandir(base) as listing:
            return {
                item.name for item in listing if item.is_dir(follow_symlinks=False) and not item.name.startswith(".")
            }
    except OSError:
        return set()


def native_entries(base: Path, scope: str, agent: str | None = None) -> list[MemoryEntry]:
    """Every markdown file of the agents' folders of one scope (of one agent), MEMORY.md first."""
    found: list[MemoryEntry] = []
    for name in sorted(_real_folders(base)):
        if agent is not None and name != agent:
            continue
        try:
            with os.scandir(base / name) as listing:
                files = sorted(
                    (item for item in listing if item.name.endswith(".md")),
                    key=lambda i: (i.name != MEMORY_INDEX, i.name),
                )
        except OSError as error:
            found.append(_unread(name, str(base / name), scope, f"cannot read the folder: {error.strerror}"))
            continue
        entries = [
            _unread(name, item.path, scope, SYMLINK_PROBLEM)
            if item.is_symlink()
            else parse_native(name, scope, item.path, item.is_file(follow_symlinks=False))
            for item in files
            if not item.is_dir(follow_symlinks=False)
        ]
        found += _check_links(entries)
    return found


def _unread(agent: str, path: str, scope: str, problem: str) -> MemoryEntry:
    """A file or folder of Claude Code's memory that agentctl does not read, with why."""
    entry = problem_entry(agent, path, problem)
    entry.kind, entry.scope, entry.issues = "claude-code", scope, [NativeIssue(UNREADABLE, problem)]
    return entry


def _add_issue(entry: MemoryEntry, issue: NativeIssue) -> None:
    """The issue, and its message among the entry's problems (what `memory list` shows)."""
    entry.problems.append(issue.message)
    entry.issues.append(issue)


def _with_issues(entry: MemoryEntry, issues: list[NativeIssue]) -> MemoryEntry:
    for issue in issues:
        _add_issue(entry, issue)
    return entry


def parse_native(agent: str, scope: str, file: str, listed_regular: bool = False) -> MemoryEntry:
    """MEMORY.md or one of its topic files; never raises (problems are recorded)."""
    issues: list[NativeIssue] = []
    try:
        data = read_bounded(file, bounds.NATIVE_MEMORY_BYTES, listed_regular)
    except (OSError, ValueError) as error:
        data = b""
        issues.append(NativeIssue(UNREADABLE, f"cannot read: {getattr(error, 'strerror', None) or error}"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        message = f"bytes that are not UTF-8 on line {line}: Claude Code hands them to the agent as U+FFFD (\ufffd)"
        issues.append(NativeIssue(NOT_UTF8, message, line, column))
    issues += _secret_issues(text)
    name = os.path.basename(file)
    lines = text.rstrip("\n").count("\n") + 1 if text.strip() else 0
    if name == MEMORY_INDEX:
        window = window_issue(text, len(data))
        issues += [window] if window else []
        index = MemoryEntry(
            agent, file, None, "MEMORY", "MEMORY.md (index)", "", text, lines, "index", [], "claude-code", scope
        )
        return _with_issues(index, issues)
    fields = dict(_FRONT_FIELD.findall(text.split("\n---", 1)[0])) if text.startswith("---") else {}
    topic = fields.get("name", "").strip() or name.removesuffix(".md")
    applies = fields.get("description", "").strip()
    entry = MemoryEntry(
        agent, file, None, name.removesuffix(".md"), topic, applies, text, lines, "topic", [], "claude-code", scope
    )
    return _with_issues(entry, issues)


def _secret_issues(text: str) -> list[NativeIssue]:
    """One issue for the keys a file holds: the first one's line, how many (never the key itself)."""
    from agentctl.redact import find_secrets

    found = find_secrets(text)
    if not found:
        return []
    start = found[0].start
    line, column = text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1
    more = f"; {len(found)} in all" if len(found) > 1 else ""
    return [NativeIssue(SECRET, f"holds what looks like a secret ({found[0].kind}) on line {line}{more}", line, column)]


def _check_links(entries: list[MemoryEntry]) -> list[MemoryEntry]:
    """MEMORY.md's links must name topic files that exist; a topic file nothing links to is never seen."""
    index = next((entry for entry in entries if entry.format == "index"), None)
    names = {os.path.basename(entry.file) for entry in entries}
    linked: set[str] = set()
    if index is not None:
        places = LineCounter(index.text)  # one pass over a MEMORY.md of thousands of links
        for match in _LINK.finditer(index.text):
            target = match.group(1)
            if target not in linked and target not in names and "/" not in target:
                line, column = places.position(match.start(1))
                _add_issue(index, NativeIssue(BROKEN_LINK, f"links to {target}, which does not exist", line, column))
            linked.add(target)
    for entry in entries:
        if entry.format == "topic" and os.path.basename(entry.file) not in linked:
            problem = "not linked from MEMORY.md: Claude Code shows the agent only MEMORY.md"
            _add_issue(entry, NativeIssue(UNLINKED, problem))
    return entries


def _native_folder(base: Path, agent: str) -> Path:
    """The agent's Claude Code memory folder, created if needed, never through a symlink."""
    if not FOLDER_NAME.fullmatch(agent):
        raise MemoryStoreError(f"{agent[:120]!r} cannot be a memory folder name", hint="use the agent's name")
    folder = base / agent
    for path in (base.parent, base, folder):
        if path.is_symlink():
            raise MemoryStoreError(
                f"{path} is a symbolic link: not written through", hint="replace it with a real folder"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MemoryStoreError(f"cannot create {folder}: {error.strerror}", exit_code=ExitCode.PROBLEMS) from None
    return folder


def _add_pointer(index: Path, line: str) -> None:
    """Append one pointer line to MEMORY.md (atomically: the old file or the new one, never half)."""
    from agentctl.fsutil import atomic_write_text

    if index.is_symlink():
        raise MemoryStoreError(f"{index} is a symbolic link: not written through", hint="replace it with a real file")
    try:
        old = (
            read_bounded(index, bounds.NATIVE_MEMORY_BYTES).decode("utf-8", errors="replace") if index.exists() else ""
        )
    except OSError as error:
        raise MemoryStoreError(f"cannot read {index}: {error.strerror}", exit_code=ExitCode.PROBLEMS) from None
    atomic_write_text(index, (old.rstrip("\n") + "\n" if old.strip() else "") + line + "\n")


def create_numbered(folder: Path, stem: str, text: str) -> Path:
    """A new note `<stem>.md` in `folder`, or `<stem>-2.md`, ... when that name is taken: never over a
    file that is there, and of two writers racing for a name exactly one gets it."""
    for number in range(1, 1000):
        path = folder / (f"{stem}.md" if number == 1 else f"{stem}-{number}.md")
        try:
            atomic_create_text(path, text)
        except FileExistsError:
            continue
        except OSError as error:
            raise MemoryStoreError(f"cannot write in {folder}: {error.strerror}", exit_code=ExitCode.PROBLEMS) from None
        return path
    raise MemoryStoreError(f"999 notes named {stem} already exist", hint="choose another topic")
