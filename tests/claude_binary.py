"""Ask the real `claude` binary which agents it loads, offline.

Copies agent files into a throw-away project's `.claude/agents/`, answers the Messages API on a
loopback port, runs `claude -p hi`, and returns the agent listing Claude Code sent to the model.
Used by the opt-in `pytest -m claude_code` tests and by `python tests/claude_binary.py` to
regenerate tests/fixtures/claude_code/expected.json. No traffic leaves 127.0.0.1.
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


def agent_listing(agents_dir: Path | None, claude: str, extra_args: Sequence[str] = ()) -> str:
    """The text of Claude Code's agent listing for the agents in `agents_dir` (the project's
    `.claude/agents/`; None for a project without one) and those `extra_args` add (`--agents FILE`),
    builtins included."""
    return _listing_from(recorded_requests(agents_dir, claude, extra_args))


def recorded_requests(agents_dir: Path | None, claude: str, extra_args: Sequence[str] = ()) -> list[bytes]:
    """The request bodies `claude -p hi [extra_args]` sends to the loopback Messages API, run in a
    throw-away project (with `agents_dir` as its `.claude/agents/`) and HOME."""
    bodies: list[bytes] = []
    handler = type("Recorder", (_Recorder,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            project, home = Path(scratch, "project"), Path(scratch, "home")
            home.mkdir()
            project.mkdir()
            if agents_dir is not None:
                shutil.copytree(agents_dir, project / ".claude" / "agents")
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


def _regenerate_expected() -> None:
    """Write tests/fixtures/claude_code/expected.json from the real binary, one file at a time."""
    claude = find_claude()
    if claude is None:
        raise SystemExit("no claude binary (pip install claude-agent-sdk)")
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


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description="Re-record tests/fixtures/claude_code/expected.json from the real claude binary "
        "(CLAUDE_BIN, `claude` on PATH, or claude-agent-sdk's bundled one)."
    ).parse_args()
    _regenerate_expected()
