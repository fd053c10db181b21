"""Shared test helpers: run the real CLI in-process with an injected environment, build teams."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentctl.cli import main
from agentctl.cli.env import Environment
from agentctl.install import shipped_team_root
from tests.messages_server import MessagesServer

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
CLAUDE_CODE_FIXTURES = FIXTURES / "claude_code"
SHARED = REPO.parent / "shared"  # beside a developer's or CI's checkout, never in a user's clone
CORPUS = SHARED / "corpus"


TEAM_FOLDERS = ("agents", "agents-shared", "agents-memory")


def copy_shipped_team(destination: Path, folders: tuple[str, ...] = TEAM_FOLDERS) -> Path:
    """A copy of the team this repository ships (or the given folders of it) at `destination`."""
    if not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    for folder in folders:
        shutil.copytree(REPO / folder, destination / folder, dirs_exist_ok=True)
    return destination


def needs_corpus() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not (CORPUS / "claude_code_verdicts.jsonl").is_file(), reason="../shared/corpus is absent"
    )


class TTYStringIO(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


RunCli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> RunCli:
    """Run `agentctl ARGS` in-process, as a user would, in `cwd` (default: tmp_path)."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, tty: bool = False, stdin: bytes = b""
    ) -> Result:
        stdout, stderr = TTYStringIO(tty), TTYStringIO(False)
        environ = {"PATH": "/usr/bin:/bin", **(env or {})}
        environment = Environment(
            stdout=stdout, stderr=stderr, stdin=io.BytesIO(stdin), cwd=cwd or tmp_path, environ=environ
        )
        code = main(list(args), env=environment)
        return Result(code, stdout.getvalue(), stderr.getvalue())

    yield run
    from agentctl.cli import GlobalOptions
    from agentctl.cli import env as environment

    environment.use(Environment())
    GlobalOptions.root = None
    GlobalOptions.debug = False


def agent_text(
    name: str, description: str = "Reviews code for correctness.", extra: str = "", body: str = "You are a reviewer.\n"
) -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n{body}"


def make_team(root: Path, agents: dict[str, str], layout: str = "top-level", protocol: str | None = None) -> Path:
    """A team folder with the given agent files (file name -> text)."""
    base = root / ".claude" if layout == "claude" else root
    (base / "agents").mkdir(parents=True, exist_ok=True)
    (base / "agents-shared").mkdir(exist_ok=True)
    (base / "agents-memory").mkdir(exist_ok=True)
    for name, text in agents.items():
        path = base / "agents" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8", newline="")
    if protocol is not None:
        (base / "agents-shared" / "team-protocol.md").write_text(protocol, "utf-8")
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`claude_code` tests run the real binary: only when asked for with `-m claude_code`."""
    if "claude_code" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="opt-in: run with `pytest -m claude_code`")
    for item in items:
        if "claude_code" in item.keywords:
            item.add_marker(skip)


def git(cwd: Path, *args: str, when: str | None = None) -> None:
    """Run git in `cwd` with a fixed identity (and commit date), as a test repository needs."""
    environ = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    if when:
        environ |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=environ)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty git project for `agentctl init` to install the shipped team into."""
    if shipped_team_root() is None:
        pytest.skip("the team's agents are not in this checkout")
    folder = tmp_path / "project"
    folder.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
    return folder


@pytest.fixture
def messages_server() -> Iterator[MessagesServer]:
    """A loopback Anthropic Messages API (tests/messages_server.py), answering "ok" until scripted."""
    with MessagesServer() as server:
        yield server
