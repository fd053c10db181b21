"""The report pages in a real browser: headless Chromium runs their script under their own
Content-Security-Policy, and `--dump-dom` gives back the document as the script left it.

- the run page's script draws the timeline: one bar per call, in the SVG it builds;
- hostile text (an answer or a handoff brief that tries to close the script block, run a script or an
  image's onerror) changes nothing: the title stays, the timeline still draws, no element appears;
- the page loads nothing: markup injected into a copy that asks for an image, a stylesheet and a
  fetch from a loopback server reaches it only once the policy is taken out (the control);
- the batch page's table sorts: by `#sort=<key>-<dir>` in the address, and by clicks on its headers
  (a copy of the page gets a test script that clicks, allowed by adding its hash to the policy: the
  page's own code is unchanged).

Skipped when no Chromium is installed (Debian: `apt-get install chromium`; .ci/run installs it).
`python tests/test_report_browser.py --screenshot docs/run-report.png` remakes the README's picture.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python tests/test_report_browser.py`

from agentctl.report import batch_report_html
from tests.conftest import RunCli, copy_shipped_team
from tests.test_report import HOSTILE, Elements, batch, dispatch_run, report, team_script
from tests.test_report import team as team  # the fixture: a small team with a roster

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian: apt-get install chromium)")
FLAGS = [
    "--headless",
    "--no-sandbox",  # as root (CI containers) Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",  # lets the page's script finish before the DOM is taken
]


def chromium(url: str, *args: str) -> str:
    """Run headless Chromium on `url` with a profile of its own; its stdout."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="agentctl-chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(page: Path, fragment: str = "") -> Elements:
    return Elements(chromium(page.as_uri() + fragment, "--dump-dom"))


def timeline_bars(dom: Elements) -> list[dict[str, str | None]]:
    """The rect elements of class `bar` in the timeline's SVG (the script made them: the file has none)."""
    return [attrs for attrs in dom.named("rect") if "bar" in (attrs.get("class") or "").split()]


def with_test_script(page: str, script: str) -> str:
    """The page with `script` added at the end of its body, allowed by its hash next to the page's own."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    page = page.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    return page.replace("</body>", f"<script>{script}</script>\n</body>", 1)


# --- the run page ----------------------------------------------------------------------------------


@needs_chromium
def test_the_script_draws_one_bar_per_call(cli: RunCli, team: Path) -> None:
    run_id = dispatch_run(cli, team, team_script())
    calls = cli("runs", "show", run_id, "--format", "json", cwd=team).json()["calls"]
    page = team / "report.html"
    assert cli("runs", "report", run_id, "-o", str(page), cwd=team).exit_code == 0
    assert not timeline_bars(Elements(page.read_text())), "the file itself holds no bars: the script draws them"
    dom = dump_dom(page)
    svg = dom.named("svg")
    assert any(attrs.get("id") == "timeline" for attrs in svg), "the script built the timeline's SVG"
    bars = timeline_bars(dom)
    assert len(bars) == len(calls) == 4
    classes = [attrs["class"] for attrs in bars]
    assert sum("t-bad" in klass for klass in classes if klass) == 1, "the failed call is drawn as failed"
    assert {attrs.get("href") for attrs in dom.named("a")} == {f"#call-{n}" for n in range(1, 5)}
    assert sum("wait" in (attrs.get("class") or "") for attrs in dom.named("rect")) == 1
    assert float(bars[0]["width"] or 0) > 3 and float(bars[-1]["x"] or 0) > float(bars[0]["x"] or 0)


@needs_chromium
def test_hostile_text_is_inert_in_the_browser(cli: RunCli, team: Path) -> None:
    run_id = dispatch_run(cli, team, team_script(answer=HOSTILE, brief="Index it " + HOSTILE))
    page = team / "report.html"
    page.write_text(report(cli, team), "utf-8")
    dom = chromium(page.as_uri(), "--dump-dom")
    assert f"<title>agentctl run {run_id}</title>" in dom and "pwned</title>" not in dom
    elements = Elements(dom)
    assert not elements.named("img") and len(elements.named("script")) == 2
    assert len(timeline_bars(elements)) == 4, "the JSON block held: the script read it and drew"


class Hits(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []  # the paths asked for, in order

    def do_GET(self) -> None:
        Hits.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hits.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@needs_chromium
def test_the_page_loads_nothing_from_the_network(cli: RunCli, team: Path, loopback: str) -> None:
    dispatch_run(cli, team, team_script())
    page = report(cli, team)
    loads = f'<img src="{loopback}/img"><link rel="stylesheet" href="{loopback}/css">'
    fetch = f'fetch("{loopback}/fetch").catch(function () {{}});'
    guarded = team / "guarded.html"
    guarded.write_text(with_test_script(page, fetch).replace("</main>", loads + "</main>", 1), "utf-8")
    assert len(timeline_bars(dump_dom(guarded))) == 4
    assert Hits.seen == [], "the policy stopped every load"
    policy = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', page)
    assert policy is not None
    control = team / "control.html"
    control.write_text(with_test_script(page.replace(policy.group(0), ""), fetch).replace("</main>", loads + "</main>"))
    dump_dom(control)
    assert sorted(Hits.seen) == ["/css", "/fetch", "/img"], "without the policy the same markup loads"


# --- the batch page --------------------------------------------------------------------------------


def task_order(dom: Elements) -> list[str | None]:
    """The task ids in the order the table shows them (each row has 8 cells, the id first)."""
    return [attrs.get("data-v") for attrs in dom.named("td") if "data-v" in attrs][::8]


@needs_chromium
def test_the_tasks_table_sorts_by_the_address(tmp_path: Path) -> None:
    page = tmp_path / "batch.html"
    page.write_text(batch_report_html(batch()), "utf-8")
    assert task_order(dump_dom(page)) == ["t1", "t10", "t2", "t3"], "the batch's own order without a fragment"
    assert task_order(dump_dom(page, "#sort=cost_usd-desc")) == ["t2", "t1", "t3", "t10"], "no cost: last"
    by_id = dump_dom(page, "#sort=id-asc")
    assert task_order(by_id) == ["t1", "t2", "t3", "t10"], "natural order: t2 before t10"
    heads = {attrs["data-key"]: attrs["aria-sort"] for attrs in by_id.named("th") if "data-key" in attrs}
    assert heads["id"] == "ascending" and heads["cost_usd"] == "none"


@needs_chromium
def test_a_click_on_a_header_sorts_and_a_second_click_reverses(tmp_path: Path) -> None:
    clicks = (
        'var b = document.querySelector("th[data-key=calls] button"); b.click(); '
        'document.body.setAttribute("data-first", document.getElementById("tasks").getAttribute("data-sorted")); '
        'b.click(); document.body.setAttribute("data-hash", window.location.hash);'
    )
    page = tmp_path / "batch.html"
    page.write_text(with_test_script(batch_report_html(batch()), clicks), "utf-8")
    dom = dump_dom(page)
    body = dom.named("body")[0]
    assert body["data-first"] == "calls-asc" and body["data-hash"] == "#sort=calls-desc"
    assert task_order(dom) == ["t2", "t1", "t10", "t3"]


# --- the picture in the README ---------------------------------------------------------------------

# A dispatch of the shipped team's DB Architect: it hands off to Backend Architect (who hands off to
# Backend QA) and to Performance Engineer (whose call fails), then continues with what came back.
SHOWCASE_TASK = "Add an index for the words endpoint: GET /transcriptions/{id}/words is slow on long videos"


def showcase_script(speed: float = 1.0) -> dict[str, Any]:
    def reply(text: str, sent: int, received: int, seconds: float, **extra: Any) -> dict[str, Any]:
        usage = {"input_tokens": sent, "output_tokens": received, "cache_read_input_tokens": sent // 2}
        return {"text": text, "usage": usage, "delay": round(seconds * speed, 3), **extra}

    ask = "### -> {0}\n**Task:** {1}\n**Context from my analysis:** words(transcription_id, start_ms)\n"
    return {
        "db-architect": [
            reply(
                "The words query filters by transcription_id and orders by start_ms.\n\n## Handoff Requests\n\n"
                + ask.format("Backend Architect", "Show the query the words endpoint runs")
                + ask.format("Performance Engineer", "Measure p95 of the words endpoint before the change"),
                14200, 900, 2.4,
            ),
            reply(
                "## Index for the words endpoint\n\nA composite index serves the filter and the order:\n\n"
                "```sql\nCREATE INDEX CONCURRENTLY ix_words_transcription_start\n"
                "    ON words (transcription_id, start_ms) WHERE NOT is_deleted;\n```\n\n"
                "Build it in its own migration (no transaction). Performance Engineer's baseline is missing: "
                "measure p95 again after the deploy.",
                16800, 620, 1.6, mode="continuation",
            ),
        ],
        "backend-architect": [
            reply(
                "select(Word).where(Word.transcription_id == tid).order_by(Word.start_ms)\n\n## Handoff Requests\n\n"
                + ask.format("Backend QA", "Add a test that the words endpoint returns words in start order"),
                9800, 410, 1.5,
            ),
            reply("The query uses the new index; Backend QA's test passes.", 11200, 180, 0.6, mode="continuation"),
        ],
        "backend-qa": [reply("tests/test_words.py::test_words_in_start_order added and passing.", 7400, 350, 1.2)],
        "performance-engineer": [{"error": {"kind": "overloaded", "message": "529 overloaded after 2 retries"},
                                  "delay": round(0.9 * speed, 3)}],
    }  # fmt: skip


def showcase_report(cli: RunCli, root: Path, speed: float = 1.0) -> Path:
    """The showcase run through the shipped team at `root`, and its page."""
    copy_shipped_team(root)
    dispatch_run(cli, root, showcase_script(speed), agent="db-architect", task=SHOWCASE_TASK)
    page = root / "report.html"
    result = cli("runs", "report", "last", "-o", str(page), "--force", cwd=root)
    assert result.exit_code == 0, result.stderr
    return page


def screenshot(page: Path, target: Path) -> None:
    chromium(page.as_uri(), f"--screenshot={target}", "--window-size=1280,900", "--hide-scrollbars")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_chromium
def test_a_screenshot_of_the_shipped_team_run(cli: RunCli, tmp_path: Path) -> None:
    page = showcase_report(cli, tmp_path / "team", speed=0.05)
    dom = dump_dom(page)
    assert len(timeline_bars(dom)) == 6
    picture = tmp_path / "run-report.png"
    screenshot(page, picture)
    assert png_size(picture) == (1280, 900)


def main() -> int:
    import argparse

    from agentctl.cli.env import Environment
    from tests.conftest import Result

    parser = argparse.ArgumentParser(description="Make the picture of `agentctl runs report` in the README.")
    parser.add_argument("--screenshot", type=Path, required=True, help="where to write the PNG")
    arguments = parser.parse_args()
    if CHROMIUM is None:
        parser.error("no chromium on PATH (Debian: apt-get install chromium)")

    def cli(*args: str, cwd: Path) -> Result:
        import io

        from agentctl.cli import main as agentctl

        out, err = io.StringIO(), io.StringIO()
        code = agentctl(list(args), env=Environment(stdout=out, stderr=err, cwd=cwd, environ={"PATH": "/usr/bin:/bin"}))
        return Result(code, out.getvalue(), err.getvalue())

    with tempfile.TemporaryDirectory(prefix="agentctl-showcase-") as folder:
        page = showcase_report(cli, Path(folder) / "team")
        screenshot(page, arguments.screenshot.resolve())
    print(f"wrote {arguments.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
