"""Route a task to the right agent, offline: rank the team's agents for a task.

Claude Code lets the model read every description; this makes the same choice without a model
call, from everything the team says about itself:

- each agent's name, description (its `<example>` blocks taken out) and body (its headings and
  opening words count more than the rest);
- its roster row (display name, domain, "when to request", capabilities);
- labelled data: the user message of each `<example>` (a request and the agent chosen for it),
  and the rows of the other agents' escalation tables and their handoff requests (a signal and
  the agent wanted for it), attributed to the agent they name.

Scoring is BM25F: each field weighted and length-normalised, one saturation per agent, over
lightly stemmed words and adjacent word pairs (a body counts which words it uses, not how often),
with the task's words widened by a small thesaurus of how engineers name kinds of work
(data/route-synonyms.txt). A score is the share of the task's information (the idf of its words
that any agent uses) the agent matches, 0..1; best first, ties broken by name. Deterministic,
pure Python, offline. `team_index` keeps a team's index in `<root>/.agentctl/cache/` between runs,
so that a one-off `agentctl route` stays within a read-only command's start-up budget.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.textsearch import (
    STOPWORDS,
    Analyzer,
    B,
    byte_tokens,
    idf,
    length_norm,
    saturation,
    stem,
    stem_prefix,
    tokens,
)

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.spec import AgentFile
    from agentctl.team import RosterEntry, Team

EvidenceKind = Literal["example", "escalation", "handoff"]

# How much one occurrence counts in each field. Examples are labelled data (a real request and the
# agent chosen for it), so they count most; the name, description and roster row are what the team
# says each agent is for; other agents' escalation rows say when an agent is wanted, in their words;
# a body is long and mostly about how to work, except for its headings and its opening words.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "description": 3.0,
    "roster": 3.0,
    "examples": 4.0,
    "example_context": 1.5,
    "wanted": 1.5,
    "headings": 1.0,
    "lead": 1.0,
    "body": 0.3,
}
FIELD_B: dict[str, float] = {"body": 0.5}  # bodies differ in length for reasons other than relevance (else B)
PAIR_WEIGHT = 0.5  # an adjacent word pair ("users table") adds to its two words; it does not replace them
RELATED_WEIGHT = 0.15  # each thesaurus word of a task word adds this share of it (up to all of it)
LEAD_WORDS = 250

ROSTER_COLUMNS = ("display name", "domain", "when to request", "capabilities")
LABELS = {
    "examples": "example",
    "example_context": "example",
    "wanted": "escalations",
    "headings": "body",
    "lead": "body",
}

# fmt: off
# Words that say nothing about which agent is wanted: the kernel's stop words and these.
ROUTE_STOPWORDS = STOPWORDS | frozenset((
    "i", "me", "my", "we", "our", "us", "you", "your", "he", "she", "they", "them", "their", "there", "here",
    "what", "why", "how", "who", "where", "whether", "these", "those", "all", "any", "some", "just", "also",
    "get", "got", "make", "need", "needs", "want", "please", "help", "let", "lets", "one", "two",
    "up", "out", "about", "after", "before", "over", "under", "only", "every", "each", "very", "more", "most",
    "other", "such", "via", "per", "etc", "eg", "ie", "use", "used", "using", "uses", "may", "might",
    "must", "shall", "been", "being", "had", "am", "again", "now", "right", "way", "new", "thing", "things",
))
# fmt: on

# Abbreviations engineers type, replaced by the word agent files spell out.
ABBREVIATIONS = {
    "k8s": "kubernetes",
    "postgres": "postgresql",
    "pg": "postgresql",
    "psql": "postgresql",
    "db": "database",
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "golang": "go",
    "repo": "repository",
    "authn": "authentication",
    "authz": "authorization",
    "perf": "performance",
    "infra": "infrastructure",
    "e2e": "end2end",
    "a11y": "accessibility",
    "i18n": "internationalization",
}
_EXAMPLE_BLOCK = LazyPattern(r"<example>.*?(?:</example>|\Z)", re.S)


# --- words ------------------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    """Words, and pairs of words written next to each other ("users table"): what a task asks for."""
    stems = [_word(token) for token in tokens(text)]
    pairs = [f"{first} {second}" for first, second in itertools.pairwise(stems) if first and second]
    return [stemmed for stemmed in stems if stemmed] + pairs


def _abbreviations_of(term: str) -> list[bytes]:
    return [short.encode() for short, long in ABBREVIATIONS.items() if stem(long) == term]


# Numbers (versions, counts) say nothing about which agent is wanted.
_ANALYZER = Analyzer(ROUTE_STOPWORDS, ABBREVIATIONS, numbers=False)
_word = _ANALYZER.term


class Thesaurus:
    """Words that name one kind of work (data/route-synonyms.txt), stemmed as tasks are.

    A line is stemmed only when a task's word may be on it (its letters are found there): a
    one-off route uses a few lines of the file, and stemming all of it would cost more.
    """

    # Plain classes, not dataclasses, for what only this module sees: each dataclass costs about
    # 0.8 ms of import time, and `agentctl route` has the start-up budget of a read-only command.
    __slots__ = ("_lines", "_parsed", "_related", "written")

    def __init__(self, text: str) -> None:
        self._lines = [
            line.split(":", 1)[-1].lower()
            for line in text.split("\n")
            if line.strip() and not line.lstrip().startswith("#")
        ]
        self._parsed: dict[int, dict[str, str]] = {}
        self._related: dict[str, tuple[str, ...]] = {}
        self.written: dict[str, str] = {}  # term -> the word as the file writes it (for `why`)

    def related(self, term: str) -> tuple[str, ...]:
        """The other terms of the lines that hold `term`."""
        known = self._related.get(term)
        if known is None:
            probe = term.split(" ")[0][:-1] if len(term) > 2 else term
            others: dict[str, None] = {}
            for number, line in enumerate(self._lines):
                if probe in line and term in (members := self._members(number)):
                    others.update(dict.fromkeys(other for other in members if other != term))
            known = self._related[term] = tuple(others)
        return known

    def _members(self, number: int) -> dict[str, str]:
        members = self._parsed.get(number)
        if members is None:
            members = self._parsed[number] = {}
            for member in self._lines[number].split(","):
                found = terms(member)
                # One word, or two written next to each other (what a task's pairs are); no longer phrases.
                if len(found) == 1 or (len(found) == 3 and " " in found[2]):
                    members.setdefault(found[-1], member.strip())
            for term, word in members.items():
                self.written.setdefault(term, word)
        return members


_THESAURUS: Thesaurus | None = None


def thesaurus() -> Thesaurus:
    """The shipped thesaurus, read once."""
    global _THESAURUS
    if _THESAURUS is None:
        _THESAURUS = Thesaurus((Path(__file__).parent / "data" / "route-synonyms.txt").read_text("utf-8"))
    return _THESAURUS


# --- what the team says about each agent ---------------------------------------------------------------


@record
class Evidence:
    """One labelled sentence: a request, and the agent chosen for it."""

    agent: str  # the agent wanted
    text: str  # the request: an example's user message, an escalation row's signal, a handoff task
    kind: EvidenceKind
    origin: str  # the agent whose file holds it
    context: str = ""  # an example's context and commentary


@record
class Profile:
    """The texts that describe one agent, by field, and the evidence that names it."""

    agent: str
    fields: dict[str, str]
    evidence: list[Evidence] = field(default_factory=list)


@record
class RouteScore:
    agent: str
    score: float  # 0..1
    why: str


def routable(agents: Iterable[AgentFile]) -> list[AgentFile]:
    """The agents Claude Code loads, one per name (the first file wins, in path order)."""
    seen: dict[str, AgentFile] = {}
    for agent in sorted(agents, key=lambda a: str(a.path)):
        if agent.verdict.loads and agent.name and agent.name not in seen:
            seen[agent.name] = agent
    return list(seen.values())


def build_profiles(agents: Iterable[AgentFile], roster: Sequence[RosterEntry] = ()) -> list[Profile]:
    """One profile per routable agent, with the evidence the other agents' files give about it."""
    from agentctl.team import name_index, normalise_name

    team = routable(agents)
    rows = {entry.agent: entry for entry in roster}
    names = name_index(team, roster)
    requests = {agent.name or "": _requests(agent) for agent in team}
    profiles = {name: _profile(agent, rows.get(name), requests[name]) for agent in team if (name := agent.name or "")}
    for origin, made in requests.items():
        for request in made:
            agent = names.get(normalise_name(request.target))
            wanted = (agent.name or "") if agent else ""
            if wanted in profiles and wanted != origin and request.text.strip(" ."):
                profiles[wanted].evidence.append(Evidence(wanted, request.text, request.kind, origin))
    return [profiles[name] for name in sorted(profiles)]


class _Request:
    """Work an agent's file sends to another agent: an escalation table row, or a handoff request."""

    __slots__ = ("kind", "lines", "target", "text")

    def __init__(self, target: str, text: str, kind: EvidenceKind, lines: range) -> None:
        self.target = target  # as written: an agent name or a roster display name
        self.text = text  # the row's signal and example, or the request's task
        self.kind: EvidenceKind = kind
        self.lines = lines  # the file lines it takes, 0-based


_TASK_FIELD = LazyPattern(r"^[\s*_-]*task[\s*_]*:[\s*_]*(.+)$", re.I)


def _requests(agent: AgentFile) -> list[_Request]:
    from agentctl import escalation

    lines = agent.lines or agent.text.split("\n")
    found = []
    for row in escalation.escalation_targets(agent.text):
        cells = lines[row.line - 1].strip().strip("|").split("|")
        # The row without the cell that names the agent: the signal, and the example of it.
        signal = " . ".join(cell.strip() for cell in cells if cell.strip().strip("*` ") != row.name)
        found.append(_Request(row.name, signal, "escalation", range(row.line - 1, row.line)))
    for heading in escalation.handoff_targets(agent.text):
        end = heading.line
        while end < len(lines) and lines[end].strip() and not lines[end].startswith(("```", "#")):
            end += 1
        tasks = [match.group(1) for line in lines[heading.line : end] if (match := _TASK_FIELD.match(line))]
        if tasks and not escalation.is_placeholder(tasks[0]):
            found.append(_Request(heading.name, tasks[0], "handoff", range(heading.line - 1, end)))
    return found


def _profile(agent: AgentFile, row: RosterEntry | None, requests: list[_Request]) -> Profile:
    name = agent.name or ""
    description = agent.spec.description or agent.verdict.description or ""
    fields = {
        "name": name.replace("-", " ").replace("_", " "),
        "description": _EXAMPLE_BLOCK.sub(" ", description.replace("\\n", "\n")),
        "roster": " . ".join(row.columns.get(column, "") for column in ROSTER_COLUMNS) if row else "",
    }
    fields |= _body_fields(_body_without(agent, requests))
    examples = [
        Evidence(name, user, "example", name, f"{example.context} {example.commentary}")
        for example in agent.spec.examples
        if (user := example.user.strip().strip("\"'“”").strip())
    ]
    return Profile(name, fields, examples)


def _body_fields(body: str) -> dict[str, str]:
    """The body, its headings, and its opening words: where an author says what the agent is about."""
    headings = [line.lstrip("#*").split("**")[0] for line in body.split("\n") if line.startswith(("#", "**"))]
    lead = " ".join(body.split(maxsplit=LEAD_WORDS)[:LEAD_WORDS])
    return {"headings": " . ".join(headings), "lead": lead, "body": body}


def _body_without(agent: AgentFile, requests: list[_Request]) -> str:
    """The body without escalation rows and handoff requests: they describe other agents' work."""
    if not requests:
        return agent.spec.body
    lines = agent.lines or agent.text.split("\n")
    dropped = {index for request in requests for index in request.lines}
    start = max(agent.spec.body_line - 1, 0)
    return "\n".join(line for index, line in enumerate(lines[start:], start) if index not in dropped)


# --- the index ---------------------------------------------------------------------------------------------


class _Text:
    """A text as counts of the words it writes (lower-case, unstemmed) and of adjacent word pairs.

    Counting is done in C (bytes.split, Counter) and stemming waits until a task names a term:
    the team's bodies hold hundreds of kilobytes and thousands of distinct words, and stemming
    them all in Python would cost more than the whole of a one-off `agentctl route`.
    """

    __slots__ = ("length", "pairs", "words")

    def __init__(self, words: Counter[bytes], pairs: Counter[tuple[bytes, bytes]], length: int) -> None:
        self.words = words
        self.pairs = pairs
        self.length = length

    @classmethod
    def of(cls, text: str, pairs: bool = True) -> _Text:
        if not text:
            return _EMPTY
        words = byte_tokens(text)
        return cls(Counter(words), Counter(itertools.pairwise(words)) if pairs else Counter(), len(words))

    @classmethod
    def body(cls, text: str) -> _Text:
        """A body: which words it uses, not how often (a long body that repeats a word is not more
        about it; and counting in full costs a read-only command's start-up budget)."""
        words = byte_tokens(text)
        return cls(Counter(dict.fromkeys(words, 1)), Counter(), len(words))

    @classmethod
    def joined(cls, texts: Sequence[_Text]) -> _Text:
        words: Counter[bytes] = Counter()
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for text in texts:
            words.update(text.words)
            pairs.update(text.pairs)
        return cls(words, pairs, sum(text.length for text in texts))

    def dump(self) -> tuple[dict[bytes, int], dict[tuple[bytes, bytes], int], int]:
        return dict(self.words), dict(self.pairs), self.length

    @classmethod
    def load(cls, data: tuple[dict[bytes, int], dict[tuple[bytes, bytes], int], int]) -> _Text:
        return cls(_counter(data[0]), _counter(data[1]), data[2])


def _counter(counts: dict[Any, int]) -> Counter[Any]:
    """A Counter of a plain dict, filled by dict.update in C: Counter(mapping) first asks whether it
    is a Mapping (an ABC check) and goes through Python, 6 us a text, a thousand texts a team."""
    counter: Counter[Any] = Counter()
    dict.update(counter, counts)
    return counter


class _Doc:
    """One agent's texts by field; its evidence kept an item at a time (for leave-one-out)."""

    __slots__ = ("evidence", "profile", "static")

    def __init__(
        self, profile: Profile, static: dict[str, _Text], evidence: list[tuple[Evidence, _Text, _Text]]
    ) -> None:
        self.profile = profile
        self.static = static
        self.evidence = evidence  # (item, its request, its context)

    def fields(self) -> dict[str, _Text]:
        examples = [(request, context) for item, request, context in self.evidence if item.kind == "example"]
        wanted = [request for item, request, _ in self.evidence if item.kind != "example"]
        return self.static | {
            "examples": _Text.joined([request for request, _ in examples]),
            "example_context": _Text.joined([context for _, context in examples]),
            "wanted": _Text.joined(wanted),
        }


_EMPTY = _Text(Counter(), Counter(), 0)


def _doc(profile: Profile) -> _Doc:
    # The word pairs of a body and its lead would cost more time than they add (measured: nothing).
    static = {
        name: _Text.body(text) if name == "body" else _Text.of(text, pairs=name != "lead")
        for name, text in profile.fields.items()
    }
    evidence = [(item, _Text.of(item.text), _Text.of(item.context)) for item in profile.evidence]
    return _Doc(profile, static, evidence)


class _Posting:
    """One term in one agent: its weighted, length-normalised frequency and the field it counts most in."""

    __slots__ = ("field", "frequency")

    def __init__(self, frequency: float, field: str) -> None:
        self.frequency = frequency
        self.field = field


class RouteIndex:
    """Built once per team and queried many times (the bench; dispatch routing each task).

    Building counts words; a term's weight in each agent is computed when a task first uses
    it, and kept.
    """

    def __init__(self, docs: Sequence[_Doc]) -> None:
        self.docs = list(docs)
        self.agents = [doc.profile.agent for doc in self.docs]
        self._fields = [doc.fields() for doc in self.docs]
        self._divisors = self._length_divisors()
        self._postings: dict[str, list[tuple[int, _Posting]]] = {}
        self._spellings: dict[str, tuple[bytes, ...]] = {}
        self._vocabulary: list[bytes] | None = None  # every word the texts write, sorted
        # Each agent's words, any field: most terms a task and its thesaurus bring are in few agents.
        self._words = [set().union(*(text.words for text in fields.values())) for fields in self._fields]

    @classmethod
    def from_profiles(cls, profiles: Iterable[Profile]) -> RouteIndex:
        return cls([_doc(profile) for profile in profiles])

    @classmethod
    def from_agents(cls, agents: Iterable[AgentFile], roster: Sequence[RosterEntry] = ()) -> RouteIndex:
        return cls.from_profiles(build_profiles(agents, roster))

    @property
    def evidence(self) -> list[Evidence]:
        """Every labelled sentence, in agent order (what leave-one-out iterates over)."""
        return [item for doc in self.docs for item, _, _ in doc.evidence]

    def without(self, left_out: Evidence) -> RouteIndex:
        """The same index with one piece of evidence taken out (leave-one-out evaluation)."""
        docs = [
            _Doc(doc.profile, doc.static, [entry for entry in doc.evidence if entry[0] is not left_out])
            for doc in self.docs
        ]
        return RouteIndex(docs)

    def _length_divisors(self) -> list[dict[str, float]]:
        """BM25's length normalisation of each field of each agent."""
        averages = {}
        for name in FIELD_WEIGHTS:
            present = [fields[name].length for fields in self._fields if name in fields and fields[name].length]
            averages[name] = sum(present) / len(present) if present else 0.0
        return [
            {name: length_norm(text.length, averages[name], FIELD_B.get(name, B)) for name, text in fields.items()}
            for fields in self._fields
        ]

    def postings(self, term: str) -> list[tuple[int, _Posting]]:
        """(agent index, posting) of every agent whose texts use `term`."""
        known = self._postings.get(term)
        if known is None:
            spellings = [self.spellings(part) for part in term.split(" ")]
            users = [index for index, words in enumerate(self._words) if not words.isdisjoint(spellings[-1])]
            found = [(index, self._posting(index, spellings)) for index in users if all(spellings)]
            known = self._postings[term] = [(index, posting) for index, posting in found if posting]
        return known

    def _posting(self, index: int, spellings: list[tuple[bytes, ...]]) -> _Posting | None:
        total, best, best_field = 0.0, 0.0, ""
        for name, text in self._fields[index].items():
            count = _occurrences(text, spellings)
            if count:
                weighted = FIELD_WEIGHTS.get(name, 1.0) * count / self._divisors[index][name]
                total += weighted
                if weighted > best:
                    best, best_field = weighted, name
        return _Posting(total, best_field) if total else None

    def spellings(self, word: str) -> tuple[bytes, ...]:
        """The words the texts write that stem to `word` (a stem, not a pair).

        The stemmer keeps all of a word but its ending or last letter (studies -> study,
        colour -> color), so such words start with the stem less its last letter; an
        abbreviation (k8s, db) is the one exception, looked up the other way round.
        """
        known = self._spellings.get(word)
        if known is None:
            if self._vocabulary is None:
                self._vocabulary = sorted(set().union(*self._words))
            prefix = stem_prefix(word).encode()
            start = bisect.bisect_left(self._vocabulary, prefix)
            candidates = list(itertools.takewhile(lambda found: found.startswith(prefix), self._vocabulary[start:]))
            candidates += _abbreviations_of(word)
            known = self._spellings[word] = tuple(found for found in candidates if _word(found.decode()) == word)
        return known

    def idf(self, term: str) -> float:
        """Rarity of a term among the agents (BM25's idf, always positive)."""
        return idf(len(self.agents), len(self.postings(term)))

    def idf_unknown(self) -> float:
        return idf(len(self.agents), 0)

    def rank(self, task: str, top: int | None = None, exclude: Iterable[str] = ()) -> list[RouteScore]:
        """The agents for `task`, best first: a score in 0..1 and why."""
        query = _Query.of(task, self)
        credits = self._credits(query)
        raw = [sum(value for value, _ in found.values()) for found in credits]
        left_out = set(exclude)
        order = sorted(
            (index for index, agent in enumerate(self.agents) if agent not in left_out),
            key=lambda index: (-round(raw[index], 9), self.agents[index]),
        )
        chosen = order[:top] if top is not None else order
        return [RouteScore(self.agents[i], self._score(raw[i], query), self._why(i, query, credits[i])) for i in chosen]

    @staticmethod
    def _score(raw: float, query: _Query) -> float:
        """The share of the task's information the agent matches."""
        return round(min(1.0, raw / query.bound), 4) if query.bound else 0.0

    def _credits(self, query: _Query) -> list[dict[str, tuple[float, str]]]:
        """Per agent: each task term -> (what it adds, the agent's term that earned the most of it).

        The thesaurus words of a task word add to it at a small weight each (an agent that uses
        several words for the kind of work the task names is more likely the one for it), up to
        what the word itself is worth: a score stays the share of the task an agent matches.
        """
        credits: list[dict[str, tuple[float, str]]] = [{} for _ in self.agents]
        for term, importance in query.importance.items():
            totals: dict[int, float] = {}
            matched: dict[int, tuple[float, str]] = {}
            for other, weight in ((term, 1.0), *((other, RELATED_WEIGHT) for other in query.related.get(term, ()))):
                for index, saturated in self.saturations(other):
                    totals[index] = totals.get(index, 0.0) + weight * saturated
                    if index not in matched or weight * saturated > matched[index][0]:
                        matched[index] = (weight * saturated, other)
            for index, total in totals.items():
                credits[index][term] = (importance * min(1.0, total), matched[index][1])
        return credits

    def saturations(self, term: str) -> list[tuple[int, float]]:
        """(agent index, BM25 saturation of the term's weighted frequency in it, 0..1)."""
        return [(index, saturation(posting.frequency)) for index, posting in self.postings(term)]

    def _why(self, index: int, query: _Query, credits: dict[str, tuple[float, str]]) -> str:
        """The task's words that weigh most for this agent, where they were found, and its closest evidence."""
        if not credits:
            return "nothing in the task matches"
        ordered = sorted(credits, key=lambda term: (-credits[term][0], term))
        pairs = [term for term in ordered[:4] if " " in term]
        shown = [term for term in ordered if " " in term or not any(term in pair.split() for pair in pairs)][:4]
        labels, places = [], set()
        for term in shown:
            matched = credits[term][1]
            labels.append(
                query.surface(term) if matched == term else f"{query.surface(term)} ~ {query.surface(matched)}"
            )
            where = next((posting.field for i, posting in self.postings(matched) if i == index), "")
            places.add(LABELS.get(where, where))
        reason = f"{', '.join(labels)} ({', '.join(sorted(places))})"
        like = self._closest_evidence(index, query)
        return f"{reason}; like {like}" if like else reason

    def _closest_evidence(self, index: int, query: _Query) -> str | None:
        best: tuple[float, str] | None = None
        for item, request, _ in self.docs[index].evidence:
            overlap = sum(
                value
                for term, value in query.importance.items()
                if _occurrences(request, [tuple(self.spellings(part)) for part in term.split(" ")])
            )
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, _quote(item))
        return best[1] if best and best[0] >= 0.25 * query.bound else None


def _occurrences(text: _Text, spellings: list[tuple[bytes, ...]]) -> int:
    """How often a term occurs in a text: a word in any of its spellings, or a pair of words."""
    if len(spellings) == 1:
        return sum(text.words.get(spelling, 0) for spelling in spellings[0])
    first, second = spellings
    return sum(text.pairs.get((a, b), 0) for a in first for b in second)


def _quote(item: Evidence) -> str:
    text = " ".join(item.text.split())
    text = text if len(text) <= 70 else text[:67].rstrip() + "..."
    if item.kind == "example":
        return f'example "{text}"'
    return f'{item.origin}\'s {"escalation" if item.kind == "escalation" else "handoff"} "{text}"'


class _Query:
    __slots__ = ("bound", "importance", "related", "surfaces")

    def __init__(
        self, importance: dict[str, float], related: dict[str, tuple[str, ...]], bound: float, surfaces: dict[str, str]
    ) -> None:
        self.importance = importance  # the task's terms -> idf (pairs weighted down)
        self.related = related  # a task term -> the thesaurus terms that may stand in for it
        self.bound = bound  # the score of an agent matching every term the team knows, without limit
        self.surfaces = surfaces  # stem -> the word the task wrote

    @classmethod
    def of(cls, task: str, index: RouteIndex) -> _Query:
        words_for = thesaurus().related
        importance: dict[str, float] = {}
        related: dict[str, tuple[str, ...]] = {}
        bound = 0.0
        for term in _query_terms(task):
            related[term] = tuple(other for other in words_for(term) if index.postings(other))
            known = bool(index.postings(term))
            # A word no agent uses tells none apart; through the thesaurus it may still point somewhere.
            idf = index.idf(term) if known else index.idf_unknown()
            importance[term] = idf * (PAIR_WEIGHT if " " in term else 1.0)
            if known or related[term]:
                bound += importance[term]
        return cls(importance, related, bound, _surfaces(task))

    def surface(self, term: str) -> str:
        """A term as the task (or else the thesaurus) wrote it, not as the stemmer cut it."""
        written = thesaurus().written
        return " ".join(self.surfaces.get(part) or written.get(part, part) for part in term.split(" "))


def _query_terms(task: str) -> list[str]:
    """The task's distinct terms in the order written; at most bounds.QUERY_TERMS of them, the most
    frequent first. Each term costs a look at every agent's evidence, so a long task (a pasted log)
    would cost time by its number of distinct words; the words it repeats say what it is about."""
    from agentctl.bounds import QUERY_TERMS

    counts = Counter(terms(task))
    if len(counts) <= QUERY_TERMS:
        return list(counts)
    return [term for term, _ in counts.most_common(QUERY_TERMS)]  # ties keep the written order


def _surfaces(task: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for word in tokens(task):
        stemmed = _word(word)
        if stemmed:
            found.setdefault(stemmed, word)
    return found


# --- entry points ---------------------------------------------------------------------------------------------


def rank(
    agents: Iterable[AgentFile], task: str, roster: Sequence[RosterEntry] = (), top: int | None = None
) -> list[RouteScore]:
    """Rank `agents` for `task` (one task; build a RouteIndex to route many)."""
    return RouteIndex.from_agents(agents, roster).rank(task, top)


def route_team(team: Team, task: str, top: int | None = None) -> list[RouteScore]:
    return rank(team.agents, task, team.roster, top)


# --- the team's index, kept between runs ---------------------------------------------------------------

# Bump when what an index holds changes; the cache key also holds agentctl's version and the
# sizes and modification times of agentctl's own modules (an editable install changes without a
# new version, and a hand-kept list of "the modules that shape an index" goes stale as code moves).
CACHE_FORMAT = 1
CACHE_FILE = "route-index.marshal"
CACHE_BYTES = 64 * 1024 * 1024  # far above any team's index; a bigger file is not ours


def team_index(settings: Settings) -> RouteIndex:
    """The team's index: read from `<root>/.agentctl/cache/` when no file of the team changed since it
    was written there, else built from the files (and written, when the folder can be).

    Building costs a one-off `agentctl route` three quarters of its run time (YAML parsing of every
    agent, then counting every word of every body); a read-only command has the start-up budget
    of 2x `import typer`. The cache is marshal data, as Python's own __pycache__ is: written by
    agentctl into the project's ignored state folder, and thrown away on any doubt.
    """
    path = _cache_path(settings.root)
    key = _cache_key(settings)
    index = _read_cache(path, key)
    if index is None:
        from agentctl.team import load_team

        team = load_team(settings)
        index = RouteIndex.from_agents(team.agents, team.roster)
        _write_cache(settings.root, key, index)
    return index


def _cache_path(root: Path) -> Path:
    from agentctl.statedir import STATE_DIR

    return root / STATE_DIR / "cache" / CACHE_FILE


def _cache_key(settings: Settings) -> tuple[object, ...]:
    import os
    import sys

    from agentctl import __version__
    from agentctl.walk import markdown_files

    here = Path(__file__).parent
    # The files load_team reads, found the same way: an index is stale when any of them changed.
    files = [*markdown_files(settings.agents_dir), settings.protocol_file]
    stats = [(str(path), *_stat(path)) for path in files]
    modules = sorted((entry.name, *_stat(Path(entry.path))) for entry in os.scandir(here) if entry.name.endswith(".py"))
    return (CACHE_FORMAT, __version__, sys.version_info[:2], tuple(stats), tuple(modules))


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def _read_cache(path: Path, key: tuple[object, ...]) -> RouteIndex | None:
    import marshal

    from agentctl.fsutil import read_bounded

    try:
        stored_key, docs = marshal.loads(read_bounded(path, CACHE_BYTES))
        return RouteIndex([_undump(doc) for doc in docs]) if stored_key == _listed(key) else None
    except (OSError, ValueError, EOFError, TypeError, IndexError, KeyError, MemoryError, RecursionError):
        # No cache, another version's, damaged, or not ours at all (marshal is no parser of
        # hostile data, and a repository can ship a file there): build from the files.
        return None


def _write_cache(root: Path, key: tuple[object, ...], index: RouteIndex) -> None:
    import marshal
    import os

    # A temporary file renamed into place (never half a cache), not synced to disk as fsutil's
    # writes are: a cache lost to a crash is only rebuilt, and the sync and tempfile's import
    # would cost a cold `agentctl route` several milliseconds.
    from agentctl.statedir import state_folder

    path = _cache_path(root)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        state_folder(root, "cache")  # real folders only, and .agentctl/.gitignore on first use
        data: Any = (_listed(key), [_dump(doc) for doc in index.docs])
        temporary.unlink(missing_ok=True)  # a leftover (or a planted symlink) is never written through
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(marshal.dumps(data))
        os.replace(temporary, path)
    except (OSError, ValueError):
        temporary.unlink(missing_ok=True)  # a read-only checkout: route without a cache


def _listed(key: object) -> object:
    """marshal reads tuples back as tuples, but the key is compared as written: one shape for both."""
    return [_listed(part) for part in key] if isinstance(key, (tuple, list)) else key


def _dump(doc: _Doc) -> tuple[object, ...]:
    evidence = [
        (item.agent, item.text, item.kind, item.origin, item.context, request.dump(), context.dump())
        for item, request, context in doc.evidence
    ]
    return doc.profile.agent, {name: text.dump() for name, text in doc.static.items()}, evidence


def _undump(data: tuple[Any, ...]) -> _Doc:
    agent, static, stored = data
    evidence = [
        (Evidence(wanted, text, kind, origin, context), _Text.load(request), _Text.load(around))
        for wanted, text, kind, origin, context, request, around in stored
    ]
    profile = Profile(agent, {}, [item for item, _, _ in evidence])
    return _Doc(profile, {name: _Text.load(text) for name, text in static.items()}, evidence)


# Markdown files of a catalogue that are about the agents, not agents.
NOT_AGENTS = frozenset({"readme.md", "changelog.md", "contributing.md", "license.md", "claude.md", "agents.md"})


def agents_in(directory: Path) -> list[AgentFile]:
    """Every agent file below `directory` (a Claude Code project's agents folder, a public catalogue).

    Documents are left out by name; any other file Claude Code would skip is read, then left out
    by `routable`, as Claude Code leaves it out.
    """
    from agentctl.spec import load_agent_file
    from agentctl.walk import markdown_files

    # Only regular files: a FIFO, a device or a dangling link in a catalogue is not an agent.
    paths = [path for path in markdown_files(directory) if path.name.lower() not in NOT_AGENTS and path.is_file()]
    return [load_agent_file(path) for path in paths]


@record
class SkippedAgent:
    """An agent file of a folder that Claude Code skips, so routing leaves it out: why, and where it
    would rank for the task once `agentctl fmt` has repaired it (None when fmt cannot make it load)."""

    path: Path
    reason: str
    rank_after_fmt: int | None = None
    score_after_fmt: float | None = None

    def to_json(self) -> dict[str, object]:
        after = None if self.rank_after_fmt is None else {"rank": self.rank_after_fmt, "score": self.score_after_fmt}
        return {"path": str(self.path), "reason": self.reason, "after_fmt": after}


def skipped_agents(agents: Sequence[AgentFile], task: str) -> list[SkippedAgent]:
    """The files of `agents` that Claude Code skips, each with the rank it would have after `fmt`."""
    from agentctl.fmt import format_text
    from agentctl.spec import parse_agent_text

    skipped = [agent for agent in agents if not agent.verdict.loads and agent.text]
    if not skipped:
        return []
    repaired: dict[Path, AgentFile] = {}
    for agent in skipped:
        result = format_text(agent.path, agent.text)
        fixed = parse_agent_text(agent.path, result.formatted) if result.changed else None
        if fixed is not None and fixed.verdict.loads:
            repaired[agent.path] = fixed
    after = [repaired.get(agent.path, agent) for agent in agents]
    ranking = {score.agent: (place, score.score) for place, score in enumerate(rank(after, task), start=1)}
    report = []
    for agent in skipped:
        fixed = repaired.get(agent.path)
        place, score = ranking.get(fixed.name or "", (None, None)) if fixed else (None, None)
        report.append(SkippedAgent(agent.path, agent.verdict.reason or "skipped", place, score))
    return report
