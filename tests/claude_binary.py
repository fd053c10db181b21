"""Ask the real `claude` binary which agents it loads, offline.

Copies agent files into a throw-away project's `.claude/agents/`, answers the Messages API on a
loopback port, runs `claude -p hi`, and returns the agent listing Claude Code sent to the model.
Used by the opt-in `pytest -m claude_code` tests and by `python tests/claude_binary.py` to
regenerate tests/fixtures/claude_code/expected.json. `python tests/claude_binary.py --compare
--latest` downloads the newest claude-agent-sdk wheel, takes its binary, and prints what changed:
its release against the one agentctl models, the fixtures' listings against expected.json, and
agentctl's agreement (load, description, tools) on the fixtures, the team and ../shared/corpus.
No traffic leaves 127.0.0.1 but that one download.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BUILTIN_AGENTS = ("claude", "Explore", "general-purpose", "Plan", "statusline-setup", "claude-code-guide", "fork")
LISTING_START = "Available agent types for the Agent tool:\n"


def find_claude() -> str | None:
    """The claude binary: $CLAUDE_BIN, `claude` on PATH, or the one in claude-agent-sdk."""
    if os.environ.get("CLAUDE_BIN"):
        return os.environ["CLAUDE_BIN"]
    on_path = shutil.which("claude")
    if on_path:
        return on_path
    try:
        import claude_agent_sdk  # type: ignore[import-not-found]
    except ImportError:
        return None
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return str(bundled) if bundled.exists() else None


class _Recorder(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._reply({})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.bodies.append(body)
        if "count_tokens" in self.path:
            return self._reply({"input_tokens": 1})
        request = json.loads(body or b"{}")
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "m"),
            "content": [{"type": "text", "text": "OK"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        if not request.get("stream"):
            return self._reply(message)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        events = [
            ("message_start", {"type": "message_start", "message": dict(message, content=[], stop_reason=None)}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "OK"}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

    def _reply(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def agent_listing(
    agents_dir: Path | None,
    claude: str,
    extra_args: Sequence[str] = (),
    user_agents: Path | None = None,
    project: Path | None = None,
    home: Path | None = None,
) -> str:
    """The text of Claude Code's agent listing for the agents in `agents_dir` (the project's
    `.claude/agents/`; None for a project without one) or `project` as it is, in `user_agents`
    (HOME's `.claude/agents/`) or `home` as it is, and those `extra_args` add (`--agents FILE`,
    `--plugin-dir DIR`), builtins included."""
    return _listing_from(recorded_requests(agents_dir, claude, extra_args, user_agents, project, home))


def recorded_requests(
    agents_dir: Path | None,
    claude: str,
    extra_args: Sequence[str] = (),
    user_agents: Path | None = None,
    project: Path | None = None,
    home: Path | None = None,
) -> list[bytes]:
    """The request bodies `claude -p hi [extra_args]` sends to the loopback Messages API, run in a
    throw-away project (with `agents_dir` as its `.claude/agents/`), or in `project` as it is, and a
    throw-away HOME (with `user_agents` as its `.claude/agents/`), or `home` as it is."""
    bodies: list[bytes] = []
    handler = type("Recorder", (_Recorder,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            if home is None:
                home = Path(scratch, "home")
                home.mkdir()
            if project is None:
                project = Path(scratch, "project")
                project.mkdir()
            if agents_dir is not None:
                shutil.copytree(agents_dir, project / ".claude" / "agents")
            if user_agents is not None:
                shutil.copytree(user_agents, home / ".claude" / "agents")
            if not (project / ".git").exists():
                subprocess.run(["git", "init", "-q"], cwd=project, check=True)
            environ = dict(
                os.environ,
                HOME=str(home),
                ANTHROPIC_API_KEY="sk-test",
                ANTHROPIC_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}",
                DISABLE_TELEMETRY="1",
                DISABLE_ERROR_REPORTING="1",
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            )
            subprocess.run(
                [claude, "-p", "hi", "--output-format", "json", *extra_args],
                cwd=project,
                env=environ,
                capture_output=True,
                timeout=180,
            )
    finally:
        server.shutdown()
    return bodies


def _listing_from(bodies: list[bytes]) -> str:
    for body in bodies:
        try:
            request = json.loads(body)
        except ValueError:
            continue
        for message in request.get("messages", []):
            content = message["content"]
            blocks = content if isinstance(content, list) else [{"text": content}]
            for block in blocks:
                text = block.get("text", "")
                start = text.find(LISTING_START)
                if start >= 0:
                    listing = text[start + len(LISTING_START) :]
                    end = listing.find("\n\nWhen you launch")
                    return listing if end < 0 else listing[:end]
    raise RuntimeError("Claude Code sent no agent listing; did it start? (check the binary runs offline)")


def entry(name: str, description: str, tools: str) -> str:
    """One line of Claude Code's listing, as its renderer writes it."""
    return f"- {name}: {description} (Tools: {tools})"


def without_builtins(listing: str) -> str:
    """The listing with Claude Code's built-in agents removed (their descriptions are one line)."""
    kept = []
    for line in listing.split("\n"):
        if any(line.startswith(f"- {name}: ") and line.endswith(")") for name in BUILTIN_AGENTS):
            continue
        kept.append(line)
    return "\n".join(kept)


def unexplained(listing: str, expected_entries: list[str]) -> tuple[list[str], str]:
    """(expected entries missing from the listing, listing text left after removing them)."""
    rest = without_builtins(listing)
    missing = []
    for expected in sorted(expected_entries, key=len, reverse=True):
        if expected in rest:
            rest = rest.replace(expected, "", 1)
        else:
            missing.append(expected)
    return missing, rest.strip()


def _regenerate_expected(claude: str) -> None:
    """Write tests/fixtures/claude_code/expected.json from the real binary, one file at a time."""
    fixtures = Path(__file__).parent / "fixtures" / "claude_code"
    expected = {}
    files = sorted(p for p in fixtures.rglob("*") if p.is_file() and p.name != "expected.json")
    for path in files:
        relative = path.relative_to(fixtures).as_posix()
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch, "agents", relative)
            target.parent.mkdir(parents=True)
            shutil.copyfile(path, target)
            listing = without_builtins(agent_listing(Path(scratch, "agents"), claude)).strip()
        expected[relative] = {"loads": bool(listing), "listing": listing or None}
        print(relative, "loads" if listing else "skipped")
    (fixtures / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", "utf-8")


# --- the live comparison: agentctl's verdicts against a binary, folder by folder ---------------


def listed_entries(listing: str, names: set[str]) -> dict[str, tuple[str, str]]:
    """name -> (description, tools) of each agent in `listing` whose name is among `names` (an entry
    runs to the next line that starts another known agent: descriptions may hold line breaks)."""
    text = "\n" + listing
    starts = sorted(
        (index, name) for name in names | set(BUILTIN_AGENTS) for index in _all_indexes(text, f"\n- {name}: ")
    )
    found: dict[str, tuple[str, str]] = {}
    for (start, name), (end, _) in zip(starts, [*starts[1:], (len(text), "")], strict=True):
        body = text[start + len(f"\n- {name}: ") : end]
        description, _, tools = body.rpartition(" (Tools: ")
        found[name] = (description, tools[: tools.rfind(")")])
    return {name: value for name, value in found.items() if name in names}


def _all_indexes(text: str, needle: str) -> list[int]:
    indexes, at = [], text.find(needle)
    while at >= 0:
        indexes.append(at)
        at = text.find(needle, at + 1)
    return indexes


def compare_folder(label: str, folder: Path, claude: str) -> tuple[str, list[str]]:
    """One line of figures (load, description, tools agreement) and the differences, for every
    agent file in `folder`: files that share a name go to separate runs, so each is compared."""
    from agentctl.spec import load_agent_file

    batches: list[dict[str, tuple[Path, Any]]] = []
    for path in sorted(folder.rglob("*.md"), key=lambda p: p.relative_to(folder).as_posix()):
        agent = load_agent_file(path)
        name = agent.reading.data.get("name") if agent.reading else None
        key = name if isinstance(name, str) else f"\0{path}"
        batch = next((batch for batch in batches if key not in batch), None)
        if batch is None:
            batches.append(batch := {})
        batch[key] = (path, agent.verdict)
    tally, differences = [0, 0, 0, 0, 0], []
    for batch in batches:
        with tempfile.TemporaryDirectory() as scratch:
            for path, _ in batch.values():
                target = Path(scratch, path.relative_to(folder))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            actual = listed_entries(agent_listing(Path(scratch), claude), set(batch))
        for name, (path, verdict) in batch.items():
            differences += _tally(path.relative_to(folder).as_posix(), verdict, actual.get(name), tally)
    files, load, both, described, tooled = tally
    figures = f"{label}: {files} files, load {load}/{files}, description {described}/{both}, tools {tooled}/{both}"
    return figures, differences


def _tally(where: str, verdict: Any, seen: tuple[str, str] | None, tally: list[int]) -> list[str]:
    """Count one file into tally [files, load, both load, description, tools]; its differences."""
    tally[0] += 1
    if verdict.loads != (seen is not None):
        return [f"{where}: agentctl says {'loads' if verdict.loads else 'skipped'}, Claude Code disagrees"]
    tally[1] += 1
    if seen is None:
        return []
    tally[2] += 1
    tally[3] += verdict.description == seen[0]
    tally[4] += verdict.tools_display == seen[1]
    differences = []
    if verdict.description != seen[0]:
        differences.append(f"{where}: description {seen[0][:60]!r}, agentctl {str(verdict.description)[:60]!r}")
    if verdict.tools_display != seen[1]:
        differences.append(f"{where}: tools {seen[1]!r}, agentctl {verdict.tools_display!r}")
    return differences


def recorded_changes(claude: str) -> list[str]:
    """The fixtures whose listing differs from expected.json (what the modelled release said)."""
    fixtures = Path(__file__).parent / "fixtures" / "claude_code"
    recorded = json.loads((fixtures / "expected.json").read_text("utf-8"))
    changes = []
    for relative, before in sorted(recorded.items()):
        if not relative.endswith(".md"):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch, "agents", relative)
            target.parent.mkdir(parents=True)
            shutil.copyfile(fixtures / relative, target)
            now = without_builtins(agent_listing(Path(scratch, "agents"), claude)).strip() or None
        if now != before["listing"]:
            changes.append(f"{relative}: was {before['listing']!r}, now {now!r}")
    return changes


def latest_claude(scratch: Path) -> str:
    """The claude binary bundled in the newest claude-agent-sdk wheel, downloaded into `scratch`."""
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
            str(scratch),
            "claude-agent-sdk",
        ],
        check=True,
    )
    wheel = max(scratch.glob("claude_agent_sdk-*.whl"))
    target = scratch / "claude"
    with zipfile.ZipFile(wheel) as archive, archive.open("claude_agent_sdk/_bundled/claude") as source:
        target.write_bytes(source.read())
    target.chmod(0o755)
    return str(target)


def binary_version(claude: str) -> str:
    done = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.split(" ")[0].strip()


def run_comparison(claude: str, show: int) -> int:
    """Print what changed: the binary's release against the modelled one, the fixtures' listings
    against expected.json, and agentctl's agreement on every folder. 1 when anything disagrees."""
    from agentctl.claude_code import CLAUDE_CODE_VERSION

    here = Path(__file__).parent
    corpus = here.parent.parent / "shared" / "corpus"
    print(f"binary {binary_version(claude)}; agentctl models {CLAUDE_CODE_VERSION}")
    changed = recorded_changes(claude)
    print(f"fixture listings changed since expected.json: {len(changed)}")
    print("".join(f"  {line}\n" for line in changed[:show]), end="")
    folders = [
        ("fixtures", here / "fixtures" / "claude_code"),
        ("duplicates", here / "fixtures" / "claude_code_duplicates"),
    ]
    folders += [("team", here.parent / "agents"), ("corpus", corpus)]
    failed = bool(changed)
    for label, folder in folders:
        if not folder.is_dir():
            print(f"{label}: absent ({folder})")
            continue
        figures, differences = compare_folder(label, folder, claude)
        failed |= bool(differences)
        print(figures + "".join(f"\n  {line}" for line in differences[:show]))
    return int(failed)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Re-record tests/fixtures/claude_code/expected.json from the real claude binary "
        "(CLAUDE_BIN, `claude` on PATH, or claude-agent-sdk's bundled one), or compare agentctl with it."
    )
    parser.add_argument("--compare", action="store_true", help="print what changed; do not record")
    parser.add_argument("--latest", action="store_true", help="download the newest claude-agent-sdk's binary")
    parser.add_argument("--show", type=int, default=20, help="differences printed per folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        claude = latest_claude(Path(scratch)) if options.latest else find_claude()
        if claude is None:
            raise SystemExit("no claude binary (pip install claude-agent-sdk)")
        if options.compare:
            return run_comparison(claude, options.show)
        _regenerate_expected(claude)
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent))  # `python tests/claude_binary.py` from anywhere
    raise SystemExit(main())
