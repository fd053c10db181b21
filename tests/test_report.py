"""`agentctl runs report`: one self-contained HTML page for a run, and the batch page's renderer.

The runs are real: `agentctl dispatch` in-process with the scripted provider (a handoff that
answers, one that fails, one the roster does not know, a continuation), then the page is read back
as HTML. tests/test_report_browser.py opens the same pages in headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from agentctl.events import CallFinished, CallStarted, RunStarted
from agentctl.providers.base import Usage
from agentctl.report import batch_report_html, run_report_html, spans, timeline_data
from agentctl.runs import RunRecorder, load_run
from tests.conftest import RunCli, agent_text, make_team
from tests.test_dispatch import PROTOCOL, handoffs, request, write_script

HOSTILE = "</script><script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"><!--"
FINAL = (
    "Final plan: a composite index.\n\n```sql\nCREATE INDEX words_tid_start ON words (transcription_id, start_ms);\n```"
)


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {
        "lead.md": agent_text("lead", "Coordinates the team.", body="You lead.\n"),
        "db-architect.md": agent_text("db-architect", "Designs schemas.", "model: opus\n", body="You design.\n"),
        "backend-architect.md": agent_text("backend-architect", "Designs APIs.", body="You design APIs.\n"),
    }
    return make_team(tmp_path / "team", agents, protocol=PROTOCOL)


def team_script(answer: str = FINAL, brief: str = "Design the index") -> dict[str, Any]:
    """The lead hands off to DB Architect (answers), Backend Architect (fails) and an agent the roster
    does not know, then continues with what came back."""
    first = handoffs(
        request("DB Architect", brief), request("Backend Architect", "Check the API"), request("Nobody Known", "x")
    )
    return {
        "lead": [
            {"text": first, "usage": {"input_tokens": 12000, "output_tokens": 800}, "delay": 0.05},
            {"mode": "continuation", "text": answer, "usage": {"input_tokens": 15000, "output_tokens": 600}},
        ],
        "db-architect": [{"text": "CREATE INDEX ...", "usage": {"input_tokens": 9000, "output_tokens": 400}}],
        "backend-architect": [{"error": {"kind": "overloaded", "message": "529 overloaded after 2 retries"}}],
    }


def dispatch_run(cli: RunCli, root: Path, script: dict[str, Any], agent: str = "lead", task: str = "Plan it") -> str:
    """Run `agentctl dispatch` with a script; the run's id."""
    result = cli("dispatch", agent, task, "--script", write_script(root, script), "--format", "json", cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    return str(result.json()["run_id"])


def report(cli: RunCli, root: Path, *args: str) -> str:
    """`agentctl runs report last -o -`: the page."""
    result = cli("runs", "report", "last", "-o", "-", *args, cwd=root)
    assert result.exit_code == 0, result.stderr
    return result.stdout


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of each script element."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def embedded(page: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="timeline-data">(.*?)</script>', page, re.S)
    assert block is not None
    return dict(json.loads(block.group(1)))


# --- the run page ----------------------------------------------------------------------------------


def test_the_page_shows_the_calls_costs_failures_and_the_answer(cli: RunCli, team: Path) -> None:
    run_id = dispatch_run(cli, team, team_script())
    shown = cli("runs", "show", run_id, "--format", "json", cwd=team).json()
    page = report(cli, team)
    for agent in ("lead", "db-architect", "backend-architect"):
        assert f"<b>{agent}</b>" in page, agent
    for total in shown["by_agent"] + shown["by_model"]:
        assert f"${total['cost_usd']:.4f}" in page, total
    assert f"${shown['total']['cost_usd']:.4f}" in page and "12,000" in page
    assert "overloaded: backend-architect: 529 overloaded after 2 retries" in page  # kind: message
    assert "Nobody Known" in page and ">unknown<" in page, "a handoff that made no call is a leaf of the tree"
    assert "1 call(s) failed" in page and "(exit 1)" in page, "the stop reason and exit code"
    assert "Final plan: a composite index." in page and "CREATE INDEX words_tid_start" in page
    assert '<span class="badge t-bad">failed</span>' in page
    data = embedded(page)
    assert len(data["bars"]) == len(shown["calls"]) == 4 and data["undrawn"] == 0
    assert [bar["mode"] for bar in data["bars"]] == ["fresh", "handoff", "handoff", "continuation"]
    assert [row["agent"] for row in data["rows"]] == ["lead", "db-architect", "backend-architect"]
    assert len(data["waits"]) == 1 and data["waits"][0]["row"] == 0, "the continuation waited for its handoffs"
    assert len(data["links"]) == 2, "the lead's call links to each delegate"
    assert len(page.encode()) < 40_000, "a few tens of KB"


def test_the_page_loads_nothing_and_runs_only_its_own_script(cli: RunCli, team: Path) -> None:
    dispatch_run(cli, team, team_script())
    page = report(cli, team)
    elements = Elements(page)
    policy = next(m["content"] for m in elements.named("meta") if m.get("http-equiv") == "Content-Security-Policy")
    assert policy is not None and policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "'unsafe-inline'" not in policy and "img-src 'none'" in policy
    assert not any("src" in attrs or "srcset" in attrs for _, attrs in elements.tags), "no element loads anything"
    assert not elements.named("link") and not elements.named("iframe") and not elements.named("img")
    hrefs = [attrs.get("href") for _, attrs in elements.tags if "href" in attrs]
    assert all(href and href.startswith("#") for href in hrefs)
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"], "the SVG namespace only"
    import base64
    import hashlib

    code = elements.scripts[-1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy, "the policy names the page's own script by its hash"
    assert "innerHTML" not in code and "eval(" not in code


def test_hostile_text_in_the_answer_and_a_handoff_stays_text(cli: RunCli, team: Path) -> None:
    dispatch_run(cli, team, team_script(answer=HOSTILE, brief="Index it " + HOSTILE))
    page = report(cli, team)
    elements = Elements(page)
    assert len(elements.named("script")) == 2, "the JSON block and the page's script, nothing else"
    assert not elements.named("img") and "<!--" not in page
    assert "&lt;/script&gt;&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;&lt;img src=x" in page
    block = page.split('id="timeline-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    titles = [bar["title"] for bar in embedded(page)["bars"]]
    assert any(("Index it " + HOSTILE)[:120] in title for title in titles), "the JSON carries the text intact"


def test_unprintable_text_and_lone_surrogates_are_written_as_utf8(tmp_path: Path) -> None:
    """A forged log: json.loads turns "\\ud800" into a lone surrogate, which UTF-8 cannot write."""
    runs_dir = tmp_path / "runs"
    moments = iter(dt.datetime(2026, 11, 22, 15, 30, s, tzinfo=dt.UTC) for s in range(60))
    recorder = RunRecorder.create(runs_dir, "20261122-153000-a1b2c3", {"agent": "x"}, lambda: next(moments))
    recorder.append(RunStarted("20261122-153000-a1b2c3", {"agent": "x", "task": "t"}))
    recorder.close()
    lines = [
        {"event": "call_started", "call_id": "c1", "agent": "x\ud800", "mode": "fresh", "task": "t\x00\x1b[31m"},
        {"event": "call_finished", "call_id": "c1", "status": "ok", "output": "a\ud800\x07"},
        {"event": "run_finished", "status": "ok", "result": "answer \ud800\x00 end", "exit_code": 0},
    ]
    with (runs_dir / "20261122-153000-a1b2c3" / "events.jsonl").open("a") as log:
        log.writelines(json.dumps(line) + "\n" for line in lines)  # ASCII: the surrogate as \\ud800
    record = load_run(runs_dir, "20261122-153000-a1b2c3")
    assert record.result == "answer \ud800\x00 end" and record.calls[0].agent == "x\ud800"
    page = run_report_html(record)
    assert "answer \ufffd\ufffd end" in page and "<b>x\ufffd</b>" in page
    assert "\x00" not in page and "\x1b" not in page
    page.encode("utf-8")  # would raise on a lone surrogate


def test_a_record_cut_short_still_reports_what_it_has(tmp_path: Path) -> None:
    """A killed run: a call that never finished is drawn to the last moment the record knows, open."""
    runs_dir = tmp_path / "runs"
    moments = iter(dt.datetime(2026, 11, 22, 15, 30, s, tzinfo=dt.UTC) for s in range(0, 60, 2))
    recorder = RunRecorder.create(runs_dir, "20261122-153000-a1b2c3", {"agent": "lead"}, lambda: next(moments))
    recorder.append(RunStarted("20261122-153000-a1b2c3", {"agent": "lead", "task": "t"}))
    recorder.append(CallStarted("c1", "r", None, "lead", "fresh", "m", 0, None, "t"))
    recorder.append(CallFinished("c1", "ok", Usage(10, 5), 0.001, 100, "asks", None))
    recorder.append(CallStarted("c2", "r/1", "c1", "helper", "handoff", "m", 1, None, "help"))
    recorder.close()
    with (runs_dir / "20261122-153000-a1b2c3" / "events.jsonl").open("a") as log:
        log.write('{"event": "call_finished", "call_id": "c9"')  # cut short by the kill
    record = load_run(runs_dir, "20261122-153000-a1b2c3")
    placed, length = spans(record)
    assert [(span.call.id, span.open) for span in placed] == [("c1", False), ("c2", True)]
    assert placed[1].end == length, "drawn to the last moment"
    page = run_report_html(record)
    assert "no run_finished event" in page and "record problem: events.jsonl line" in page
    assert "No final answer (incomplete)" in page and ">running<" in page


def test_calls_of_one_agent_at_the_same_time_get_a_row_each(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [handoffs(request("DB Architect", "Index one"), request("DB Architect", "Index two")), "Done."],
        "db-architect": [{"text": "one", "delay": 0.2}, {"text": "two", "delay": 0.2}],
    }
    run_id = dispatch_run(cli, team, script)
    record = load_run(team / ".agentctl" / "runs", run_id)
    placed, length = spans(record)
    data = timeline_data(record, placed, length)
    assert [(row["agent"], row["first"]) for row in data["rows"]] == [
        ("lead", True),
        ("db-architect", True),
        ("db-architect", False),
    ]
    assert sorted(bar["row"] for bar in data["bars"] if bar["label"] in ("c2", "c3")) == [1, 2]


def test_the_same_record_gives_the_same_page(cli: RunCli, team: Path) -> None:
    dispatch_run(cli, team, team_script())
    assert report(cli, team) == report(cli, team)


# --- where the page goes ---------------------------------------------------------------------------


def test_the_default_file_is_named_after_the_run_and_never_overwritten(cli: RunCli, team: Path) -> None:
    run_id = dispatch_run(cli, team, team_script())
    first = cli("runs", "report", run_id[:15], cwd=team)
    target = team / f"report-{run_id}.html"
    assert first.exit_code == 0 and first.stdout.startswith(f"wrote report-{run_id}.html: run {run_id}")
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    target.write_text("mine")
    again = cli("runs", "report", "last", cwd=team)
    assert again.exit_code == 2 and "exists" in again.stderr and "--force" in again.stderr
    assert target.read_text() == "mine"
    forced = cli("runs", "report", "last", "--force", "--format", "json", cwd=team)
    assert forced.exit_code == 0, forced.stderr
    document = forced.json()
    assert list(document) == ["version", "run_id", "path", "bytes"]
    assert document["path"] == target.name and document["bytes"] == target.stat().st_size > 1000


def test_stdout_is_for_the_page_or_the_json_document_not_both(cli: RunCli, team: Path) -> None:
    dispatch_run(cli, team, team_script())
    page = cli("runs", "report", "last", "-o", "-", cwd=team)
    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>") and page.stdout.endswith("</html>\n")
    assert not list(team.glob("report-*.html")) and not (team / "-").exists()
    both = cli("runs", "report", "last", "-o", "-", "--format", "json", cwd=team)
    assert both.exit_code == 2 and both.json()["error"]["exit_code"] == 2


def test_only_the_named_file_is_written_never_through_a_link(cli: RunCli, team: Path, tmp_path: Path) -> None:
    dispatch_run(cli, team, team_script())
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (team / "link.html").symlink_to(outside)
    for args in ((), ("--force",)):
        result = cli("runs", "report", "last", "-o", "link.html", *args, cwd=team)
        assert result.exit_code == 2 and "symbolic link" in result.stderr, result.stderr
    assert outside.read_text() == "not yours" and (team / "link.html").is_symlink()
    (team / "folder.html").mkdir()
    assert "a directory" in cli("runs", "report", "last", "-o", "folder.html", "--force", cwd=team).stderr
    locked = team / "locked.html"
    locked.write_text("kept")
    locked.chmod(0o444)
    refused = cli("runs", "report", "last", "-o", "locked.html", "--force", cwd=team)
    assert refused.exit_code == 2 and "read-only" in refused.stderr and locked.read_text() == "kept"
    missing = cli("runs", "report", "last", "-o", "no/such/folder/r.html", cwd=team)
    assert missing.exit_code == 2 and "cannot write" in missing.stderr
    new = cli("runs", "report", "last", "-o", "new.html", cwd=team)
    assert new.exit_code == 0 and os.stat(team / "new.html").st_mode & 0o777 == 0o666 & ~current_umask()
    assert not [p.name for p in team.iterdir() if p.name.endswith(".tmp")], "no temporary left behind"


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_an_unknown_run_is_a_usage_error(cli: RunCli, team: Path) -> None:
    result = cli("runs", "report", "nothing", "--format", "json", cwd=team)
    assert result.exit_code == 2 and result.json()["error"]["exit_code"] == 2


# --- the batch page --------------------------------------------------------------------------------


def batch(**changes: Any) -> dict[str, Any]:
    tasks = [
        {"id": "t1", "task": "Add an index", "agent": "db-architect", "status": "succeeded", "calls": 3,
         "input_tokens": 12000, "output_tokens": 900, "cost_usd": 0.0748, "run_id": "20261130-175657-e3d3d9",
         "error": None},
        {"id": "t10", "task": "Review auth " + HOSTILE, "agent": "security-auditor", "status": "failed", "calls": 1,
         "input_tokens": 4000, "output_tokens": 0, "cost_usd": None, "run_id": None,
         "error": "overloaded " + HOSTILE},
        {"id": "t2", "task": "Measure p95", "agent": "performance-engineer", "status": "stopped", "calls": 40,
         "input_tokens": 90000, "output_tokens": 5000, "cost_usd": 0.52, "run_id": "20261130-175700-aaaaaa",
         "error": None},
        {"id": "t3", "task": "Later", "agent": "backend-qa", "status": "pending", "calls": 0, "input_tokens": 0,
         "output_tokens": 0, "cost_usd": 0.0, "run_id": None, "error": None},
    ]  # fmt: skip
    rounds = [
        {"round": 1, "requests": 4, "succeeded": 3, "errored": 1, "expired": 0, "canceled": 0,
         "batch_ids": ["msgbatch_01", "msgbatch_02"], "cost_usd": 0.4},
        {"round": 2, "requests": 2, "succeeded": 1, "errored": 0, "expired": 1, "canceled": 0,
         "batch_ids": ["msgbatch_03"], "cost_usd": 0.1948},
    ]  # fmt: skip
    data = {
        "batch_id": "b-20261130",
        "created_at": "2026-11-30T18:00:00+00:00",
        "status": "done",
        "cost_usd": 0.5948,
        "limits": {"max_cost": 5.0, "max_calls_per_task": 40},
        "rounds": rounds,
        "tasks": tasks,
    }
    return data | changes


def test_the_batch_page_has_every_task_the_totals_and_each_round() -> None:
    page = batch_report_html(batch())
    elements = Elements(page)
    rows = [attrs for attrs in elements.named("tr") if "data-i" in attrs]
    assert [row["data-i"] for row in rows] == ["0", "1", "2", "3"]
    heads = [attrs["data-key"] for attrs in elements.named("th") if "data-key" in attrs]
    assert heads == ["id", "agent", "status", "calls", "tokens", "cost_usd", "run_id", "task"]
    for text in ("t1", "t10", "db-architect", "security-auditor", "20261130-175657-e3d3d9", "msgbatch_03"):
        assert text in page, text
    assert not elements.named("a"), "run ids are text, not links"
    values = [attrs["data-v"] for attrs in elements.named("td") if "data-v" in attrs]
    assert values[:8] == ["t1", "db-architect", "succeeded", "3", "12900", "0.0748", "20261130-175657-e3d3d9",
                          "Add an index"]  # fmt: skip
    assert values[13] == "", "a task without a cost sorts as empty"
    assert "<dt>calls</dt><dd>44</dd>" in page and "<dt>input tokens</dt><dd>106,000</dd>" in page
    assert "<dt>cost of the tasks</dt><dd>$0.5948+</dd>" in page, "a task without a price: a lower bound"
    assert "<td class=num>total</td><td class=num>6</td><td class=num>4</td>" in page, "the rounds' total row"
    assert "$0.5948</td><td></td></tr>" in page and "msgbatch_01, msgbatch_02" in page
    assert len(elements.named("script")) == 1 and not elements.named("img") and "<!--" not in page
    assert "&lt;/script&gt;" in page


def test_the_batch_page_takes_whatever_the_dict_holds() -> None:
    for odd in ({}, {"tasks": "nope", "rounds": [1, None]}, batch(tasks=[{"calls": "3", "cost_usd": float("nan")}])):
        page = batch_report_html(odd)
        assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "No tasks." in batch_report_html({}) and "No rounds yet." in batch_report_html({})
