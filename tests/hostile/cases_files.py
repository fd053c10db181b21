"""Hostile cases: special files in a team's folders, sizes of tasks and inputs, configuration,
templates and the team protocol (issue #10: "Special files", "Sizes", "Exit 3 is for our bugs only").

Every case here used to hang, read gigabytes, or exit 3; each now ends with a finding (exit 1) or
one clear line (exit 2)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from tests.hostile.harness import Case, Outcome, Sandbox

MIB = 1024 * 1024
# A run that read a 2 GB file, or 50 MB of stdin into a regex, peaks in gigabytes. (A child's peak
# also counts what it shared with the test process when it was forked, so this is not tight.)
SMALL_MEMORY_MB = 400.0


# --- special files in agents/ ---------------------------------------------------------------------------


def _fifo_agent(*args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        os.mkfifo(sandbox.team / "agents" / "x.md")  # nobody ever writes to it: a read blocks forever
        return args

    return build


def _linked_agent(target: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        (sandbox.team / "agents" / "x.md").symlink_to(target)
        return ["validate", "--format", "json"]

    return build


def _sparse_agent(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    big = sandbox.team / "data" / "big.bin"  # in the team: the harness reads every file of outside/
    big.parent.mkdir()
    with big.open("wb") as handle:
        handle.truncate(2**31)  # 2 GB that take no disk: read, they would take 2 GB of memory
    (sandbox.team / "agents" / "big.md").symlink_to(big)
    return ["validate", "--format", "json"]


def _dot_links(*args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        (sandbox.team / "agents" / "l1").symlink_to(".")
        (sandbox.team / "agents" / "l2").symlink_to(".")  # a walk that follows both doubles per level
        return args

    return build


def _self_link(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    (sandbox.team / "agents" / "self.md").symlink_to("self.md")
    return ["validate", "--format", "json"]


def _finding(path: str, words: str) -> Callable[[Sandbox, Outcome], None]:
    """validate --format json reports `path` with a CC010 finding whose message holds `words`."""

    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        files = {entry["path"]: entry for entry in outcome.json()["files"]}
        assert path in files, sorted(files)
        messages = [d["message"] for d in files[path]["diagnostics"] if d["rule"] == "CC010"]
        assert any(words in message for message in messages), messages
        assert files[path]["claude_code"]["loads"] is False
        assert files["agents/reviewer.md"]["diagnostics"] == []  # one bad file never stops the others
        assert outcome.peak_rss_mb < SMALL_MEMORY_MB, outcome.peak_rss_mb

    return check


def _listed_once(outcome: Outcome) -> None:
    names = sorted(agent["name"] for agent in outcome.json()["agents"])
    assert names == ["db-architect", "reviewer"], names


def _validated_once(sandbox: Sandbox, outcome: Outcome) -> None:
    paths = sorted(entry["path"] for entry in outcome.json()["files"] if entry["kind"] == "agent")
    assert paths == ["agents/db-architect.md", "agents/reviewer.md"], paths


def _fifo_listed(sandbox: Sandbox, outcome: Outcome) -> None:
    agents = {agent["path"]: agent for agent in outcome.json()["agents"]}
    assert agents["agents/x.md"]["claude_code"]["loads"] is False
    assert "FIFO" in agents["agents/x.md"]["claude_code"]["reason"]
    assert agents["agents/reviewer.md"]["claude_code"]["loads"] is True


# --- sizes --------------------------------------------------------------------------------------------------


def _team_only(*args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        return args

    return build


def _refused(*words: str) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        error = outcome.json()["error"]
        assert all(word in error["message"] for word in words), error
        assert outcome.peak_rss_mb < SMALL_MEMORY_MB, outcome.peak_rss_mb

    return check


def _words(size: int) -> Callable[[Sandbox], bytes]:
    """`size` bytes of distinct words (what makes a per-term cost explode), made when the case runs."""

    def make(sandbox: Sandbox) -> bytes:
        line = b" ".join(b"w%05d" % n for n in range(10_000)) + b"\n"
        return (line * (size // len(line) + 1))[:size]

    return make


# --- templates, protocol, configuration ---------------------------------------------------------------------


def _template(content: bytes | None, *args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        path = sandbox.team / "templates" / "task.md.j2"
        path.parent.mkdir()
        if content is None:
            os.mkfifo(path)
        else:
            path.write_bytes(content)
        return args

    return build


def _protocol(kind: str, *args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        path = sandbox.team / "agents-shared" / "team-protocol.md"
        path.unlink()
        if kind == "directory":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(path.name)  # a loop
        return args

    return build


def _config(text: str | None, *args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        sandbox.small_team()
        path = sandbox.team / "agentctl.toml"
        if text is None:
            os.mkfifo(path)
        else:
            path.write_text(text, "utf-8")
        return args

    return build


def _protocol_unchanged(sandbox: Sandbox, outcome: Outcome) -> None:
    assert sorted(os.listdir(sandbox.team / "agents")) == ["db-architect.md", "reviewer.md"]
    assert "`reviewer`" in (sandbox.team / "agents-shared" / "team-protocol.md").read_text("utf-8")
    assert "the most is 64" in outcome.json()["error"]["message"]


def _no_file_written(sandbox: Sandbox, outcome: Outcome) -> None:
    assert not (sandbox.team / "agents" / "injected.md").exists()
    assert "--model" in outcome.json()["error"]["message"]


FAST = 10.0  # seconds: each of these ends in well under one

CASES = [
    Case(
        "fifo-agent-file-validate",
        "a FIFO named agents/x.md hangs validate",
        _fifo_agent("validate", "--format", "json"),
        (1,),
        _finding("agents/x.md", "a FIFO, not a regular file"),
        timeout=FAST,
    ),
    Case(
        "fifo-agent-file-named",
        "a FIFO named on validate's command line",
        _fifo_agent("validate", "agents/x.md", "agents/reviewer.md", "--format", "json"),
        (1,),
        _finding("agents/x.md", "a FIFO"),
        timeout=FAST,
    ),
    Case(
        "fifo-agent-file-list",
        "a FIFO named agents/x.md hangs list",
        _fifo_agent("list", "--format", "json"),
        (0,),
        _fifo_listed,
        timeout=FAST,
    ),
    Case(
        "fifo-agent-file-route-prompt",
        "a FIFO named agents/x.md hangs every team command",
        _fifo_agent("prompt", "reviewer", "--task", "review the schema change", "--format", "json"),
        (0,),
        timeout=FAST,
    ),
    Case(
        "dev-zero-symlink",
        "agents/x.md -> /dev/zero is read without end",
        _linked_agent("/dev/zero"),
        (1,),
        _finding("agents/x.md", "a device, not a regular file"),
        timeout=FAST,
    ),
    Case(
        "sparse-2gb-symlink",
        "a 2 GB sparse file symlinked into agents/ is read whole",
        _sparse_agent,
        (1,),
        _finding("agents/big.md", "larger than 1 MiB"),
        timeout=FAST,
    ),
    Case(
        "dot-symlinks-validate",
        "two symlinks to . inside agents/ make the walk exponential",
        _dot_links("validate", "--format", "json"),
        (0,),
        _validated_once,
        timeout=FAST,
    ),
    Case(
        "dot-symlinks-list",
        "two symlinks to . inside agents/ make load_team's walk exponential",
        _dot_links("list", "--format", "json"),
        (0,),
        lambda sandbox, outcome: _listed_once(outcome),
        timeout=FAST,
    ),
    Case(
        "dot-symlinks-route",
        "two symlinks to . inside agents/: route's own walk of the team",
        _dot_links("route", "database schema", "--format", "json"),
        (0,),
        timeout=FAST,
    ),
    Case(
        "self-symlink",
        "a symlink to itself (ELOOP) in agents/",
        _self_link,
        (1,),
        _finding("agents/self.md", "Too many levels of symbolic links"),
        timeout=FAST,
    ),
    Case(
        "task-50mb-prompt",
        "a 50 MB task makes prompt run 71 s at 5 GB",
        _team_only("prompt", "reviewer", "--task", "-", "--format", "json"),
        (2,),
        _refused("standard input", "8 MiB"),
        stdin=_words(50 * MIB),
        timeout=FAST,
    ),
    Case(
        "task-5mb-prompt",
        "a task over bounds.TASK_BYTES (but under the input limit) for prompt",
        _team_only("prompt", "reviewer", "--task", "-", "--format", "json"),
        (2,),
        _refused("the task", "512 KiB"),
        stdin=_words(5 * MIB),
        timeout=FAST,
    ),
    Case(
        "task-50mb-route",
        "a 50 MB task makes `route -` run 8 s at 1.3 GB",
        _team_only("route", "-", "--format", "json"),
        (2,),
        _refused("standard input", "8 MiB"),
        stdin=_words(50 * MIB),
        timeout=FAST,
    ),
    Case(
        "task-5mb-route",
        "a task over bounds.TASK_BYTES for route",
        _team_only("route", "-", "--format", "json"),
        (2,),
        _refused("the task", "512 KiB"),
        stdin=_words(5 * MIB),
        timeout=FAST,
    ),
    Case(
        "task-512kib-route",
        "route stays linear in the task's length: a task just under the limit, of distinct words",
        _team_only("route", "-", "--format", "json"),
        (0,),
        stdin=_words(512 * 1024 - 16),
        timeout=FAST,
    ),
    Case(
        "handoffs-parse-10mb",
        "a 10 MB `handoffs parse -` is read whole",
        _team_only("handoffs", "parse", "-", "--format", "json"),
        (2,),
        _refused("standard input", "8 MiB"),
        stdin=lambda sandbox: b"### -> Code Reviewer\n**Task:** x\n" + b"y" * (10 * MIB),
        timeout=FAST,
    ),
    Case(
        "template-not-utf8-prompt",
        "a template that is not UTF-8 exits 3",
        _template(b"Task: \xff{{ task }}\n", "prompt", "reviewer", "--task", "x", "--format", "json"),
        (2,),
        _refused("task.md.j2", "not UTF-8"),
    ),
    Case(
        "template-not-utf8-dry-run",
        "a template that is not UTF-8 exits 3 (dispatch --dry-run)",
        _template(b"Task: \xff{{ task }}\n", "dispatch", "reviewer", "x", "--dry-run", "--format", "json"),
        (2,),
        _refused("task.md.j2", "not UTF-8"),
    ),
    Case(
        "template-fifo",
        "a template that is a FIFO",
        _template(None, "prompt", "reviewer", "--task", "x", "--format", "json"),
        (2,),
        _refused("task.md.j2", "a FIFO"),
        timeout=FAST,
    ),
    Case(
        "template-too-large",
        "a template over the size limit",
        _template(b"x" * (2 * MIB), "prompt", "reviewer", "--task", "x", "--format", "json"),
        (2,),
        _refused("task.md.j2", "larger than 1 MiB"),
    ),
    Case(
        "template-includes-itself",
        "a template that includes itself ends in RecursionError",
        _template(b'{% include "task.md.j2" %}', "prompt", "reviewer", "--task", "x", "--format", "json"),
        (2,),
        _refused("task.md.j2", "RecursionError"),
    ),
    *(
        Case(
            f"protocol-{kind}-{args[0]}",
            f"an unreadable protocol ({kind}) for {args[0]}",
            _protocol(kind, *args, "--format", "json"),
            (0, 1, 2),
            timeout=FAST,
        )
        for kind in ("directory", "fifo", "loop")
        for args in (
            ("validate",),
            ("list",),
            ("route", "review the code"),
            ("show", "reviewer"),
        )
    ),
    *(
        Case(
            f"protocol-{kind}-prompt",
            f"an unreadable protocol ({kind}) for prompt: exit 2 naming it, not a prompt without it",
            _protocol(kind, "prompt", "reviewer", "--task", "x", "--format", "json"),
            (2,),
            _refused("cannot read the team protocol", words),
            timeout=FAST,
        )
        for kind, words in (
            ("directory", "a directory"),
            ("fifo", "a FIFO"),
            ("loop", "symbolic links"),
        )
    ),
    Case(
        "protocol-fifo-dry-run",
        "an unreadable protocol (FIFO) for dispatch --dry-run",
        _protocol("fifo", "dispatch", "reviewer", "x", "--dry-run", "--format", "json"),
        (2,),
        _refused("cannot read the team protocol", "a FIFO"),
        timeout=FAST,
    ),
    Case(
        "protocol-fifo-memory-write",
        "an unreadable protocol (FIFO) for memory write",
        _protocol("fifo", "memory", "write", "reviewer", "--topic", "t", "--applies-when", "w", "--format", "json"),
        (2,),
        stdin=b"An insight.\nline two\nline three\nline four\nline five\n",
        timeout=FAST,
    ),
    *(
        Case(
            f"protocol-{kind}-graph",
            f"an unreadable protocol ({kind}) for graph",
            _protocol(kind, "graph"),
            (0, 1, 2),
            timeout=FAST,
        )
        for kind in ("directory", "fifo", "loop")
    ),
    Case(
        "config-timeout-negative",
        "[anthropic] timeout = -1 in agentctl.toml",
        _config("[anthropic]\ntimeout = -1\n", "list", "--format", "json"),
        (2,),
        _refused("anthropic.timeout", "greater than 0", "-1"),
    ),
    Case(
        "config-max-retries-negative",
        "[anthropic] max_retries = -1 exits 3 (and leaves the record incomplete)",
        _config("[anthropic]\nmax_retries = -1\n", "dispatch", "reviewer", "x", "--dry-run", "--format", "json"),
        (2,),
        _refused("anthropic.max_retries", "greater than or equal to 0", "-1"),
    ),
    Case(
        "config-nan-cost",
        "max_cost = nan in [dispatch]",
        _config("[dispatch]\nmax_cost = nan\n", "list", "--format", "json"),
        (2,),
        _refused("dispatch.max_cost", "finite"),
    ),
    Case(
        "config-nested-deep",
        "an agentctl.toml nested thousands of levels deep: tomllib's RecursionError",
        _config("x = " + "[" * 5000 + "]" * 5000 + "\n", "list", "--format", "json"),
        (2,),
        _refused("agentctl.toml", "nested more than"),
    ),
    Case(
        "config-fifo",
        "an agentctl.toml that is a FIFO",
        _config(None, "list", "--format", "json"),
        (2,),
        _refused("agentctl.toml", "a FIFO"),
        timeout=FAST,
    ),
    Case(
        "new-300-character-name",
        "`agentctl new` with a 300-character name",
        _team_only("new", "a" * 300, "--role", "Does things.", "--format", "json"),
        (2,),
        _protocol_unchanged,
    ),
    Case(
        "new-model-injection",
        "`agentctl new` with a newline in --model writes a key of the attacker's choice",
        _team_only("new", "injected", "--role", "Does things.", "--model", "sonnet\nhooks: x", "--format", "json"),
        (2,),
        _no_file_written,
    ),
]
