"""agentctl dispatch with the scripted provider: handoffs, continuation, limits, cycles, failures, memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, agent_text, make_team

PROTOCOL = """# Team Protocol

## Roster

| Agent | Display name | Domain | When to request | Capabilities | Memory |
|---|---|---|---|---|---|
| lead | Lead | coordination | big tasks | Read | A |
| db-architect | DB Architect | databases | schema, indexes | Read | B |
| backend-architect | Backend Architect | APIs | endpoints | Read | A |
"""


def request(target: str, task: str) -> str:
    return (
        f"### -> {target}\n**Task:** {task}\n**Context from my analysis:** some context\n**I need back:** an answer\n"
    )


def handoffs(*blocks: str) -> str:
    return "My analysis so far.\n\n## Handoff Requests\n\n" + "\n".join(blocks) + "\n## Continuation Plan\n1. use it\n"


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return lead_team(tmp_path)


def lead_team(tmp_path: Path) -> Path:
    """The lead, the DB Architect and the Backend Architect, with the roster above."""
    agents = {
        "lead.md": agent_text("lead", "Coordinates the team.", body="You lead.\n"),
        "db-architect.md": agent_text(
            "db-architect", "Designs schemas.", "model: opus\n", body="You design schemas.\n"
        ),
        "backend-architect.md": agent_text("backend-architect", "Designs APIs.", body="You design APIs.\n"),
    }
    return make_team(tmp_path / "team", agents, protocol=PROTOCOL)


def write_script(root: Path, script: dict[str, Any]) -> str:
    path = root / "script.json"
    path.write_text(json.dumps(script))
    return str(path)


def dispatch(cli: RunCli, root: Path, script: dict[str, Any], *args: str, task: str = "Plan the words index") -> Any:
    result = cli("dispatch", "lead", task, "--script", write_script(root, script), "--format", "json", *args, cwd=root)
    return result


def events(root: Path, run_id: str) -> list[dict[str, Any]]:
    lines = (root / ".agentctl" / "runs" / run_id / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_handoffs_run_and_the_requester_continues_with_their_results(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [
            {
                "text": handoffs(
                    request("DB Architect", "Design the index"), request("backend architect", "Check the API")
                )
            },
            {"mode": "continuation", "text": "Final plan: index plus endpoint."},
        ],
        "db-architect": ["CREATE INDEX words_start ON words (transcription_id, start_ms);"],
        "backend-architect": ["The endpoint orders by start_ms."],
    }
    result = dispatch(cli, team, script)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert set(data) >= {"run_id", "status", "agent", "result", "calls", "handoffs", "total"}
    assert data["status"] == "ok" and data["agent"] == "lead" and data["result"] == "Final plan: index plus endpoint."
    modes = [(call["agent"], call["mode"], call["parent"]) for call in data["calls"]]
    assert modes == [
        ("lead", "fresh", None),
        ("db-architect", "handoff", "c1"),
        ("backend-architect", "handoff", "c1"),
        ("lead", "continuation", "c1"),
    ]
    call = data["calls"][1]
    assert set(call) >= {"id", "parent", "agent", "mode", "model", "usage", "cost_usd", "latency_ms", "status"}
    assert set(call["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    }
    assert call["model"].startswith("claude-opus"), "db-architect's `model: opus` is resolved to an id"
    assert [(h["to"], h["status"], h["call_id"]) for h in data["handoffs"]] == [
        ("db-architect", "ok", "c2"),
        ("backend-architect", "ok", "c3"),
    ]
    assert data["total"]["input_tokens"] == sum(c["usage"]["input_tokens"] for c in data["calls"])
    assert (team / ".agentctl" / "runs" / data["run_id"] / "result.md").read_text().startswith("Final plan")
    assert "[c2] db-architect handoff started" in result.stderr, "progress lines go to stderr"


def test_text_output_is_the_final_answer_and_a_summary_on_stderr(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", "Lead", "Say hi", "--script", write_script(team, {"lead": ["Hi."]}), cwd=team)
    assert result.exit_code == 0 and result.stdout == "Hi.\n"
    assert "ok, 1 call(s)" in result.stderr


def test_unknown_self_and_cyclic_targets_are_refused_and_reported_back(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [
            {
                "text": handoffs(
                    request("Nobody Known", "Do something"),
                    request("Lead", "Do it myself"),
                    request("DB Architect", "Design the index"),
                )
            },
            {"mode": "continuation", "text": "Done."},
        ],
        # db-architect asks the lead to do the lead's own task: a cycle.
        "db-architect": [
            {"text": handoffs(request("Lead", "Plan the words index"))},
            {"mode": "continuation", "text": "Index designed."},
        ],
    }
    result = dispatch(cli, team, script)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    statuses = {(h["from"], h["to"] or h.get("target")): h["status"] for h in data["handoffs"]}
    assert statuses == {
        ("lead", "Nobody Known"): "unknown",
        ("lead", "lead"): "refused",
        ("lead", "db-architect"): "ok",
        ("db-architect", "lead"): "refused",
    }
    assert [call["agent"] for call in data["calls"]].count("lead") == 2, "no call ever went to a refused target"
    refused = [e for e in events(team, data["run_id"]) if e["event"] == "handoff" and e["status"] == "refused"]
    assert any("cycle" in event["reason"] for event in refused)


def test_refusals_reach_the_requester_in_its_continuation(team: Path) -> None:
    from agentctl.config import load_settings
    from agentctl.dispatch import DispatchOptions, run_dispatch
    from agentctl.providers.base import CallRequest, CallResponse
    from agentctl.providers.scripted import ScriptedProvider, parse_script

    seen: list[CallRequest] = []

    class Recording(ScriptedProvider):
        async def complete(self, request: CallRequest) -> CallResponse:
            seen.append(request)
            return await super().complete(request)

    script = {"lead": [handoffs(request("Nobody Known", "Do something")), "Done."]}
    provider = Recording(parse_script(json.dumps(script), "s.json"))
    run_dispatch(load_settings(cwd=team, environ={}), DispatchOptions("lead", "Plan it"), {}, provider=provider)
    continuation = seen[-1]
    assert continuation.mode == "continuation"
    assert "### From Nobody Known (`Nobody Known`): unknown" in continuation.user
    assert "not on the roster" in continuation.user and "DB Architect" in continuation.user


def test_depth_limit_stops_nested_handoffs(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [handoffs(request("DB Architect", "Design the index")), "Done."],
        "db-architect": [handoffs(request("Backend Architect", "Check the API")), "Designed without it."],
    }
    result = dispatch(cli, team, script, "--max-depth", "1")
    assert result.exit_code == 0, result.stderr
    nested = [h for h in result.json()["handoffs"] if h["from"] == "db-architect"]
    assert [h["status"] for h in nested] == ["depth"]
    assert "backend-architect" not in [call["agent"] for call in result.json()["calls"]]


def test_a_reached_limit_ends_the_run_with_status_budget_and_exit_5(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [handoffs(request("DB Architect", "Design the index"), request("Backend Architect", "Check"))],
        "db-architect": ["Index."],
        "backend-architect": ["API."],
    }
    result = dispatch(cli, team, script, "--max-calls", "2")
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["status"] == "budget" and len(data["calls"]) == 2
    assert data["result"].startswith("My analysis so far."), "the last answer the run has is its result"
    assert "## Handoff Requests" not in data["result"]
    finished = events(team, data["run_id"])[-1]
    assert finished["event"] == "run_finished" and "--max-calls 2" in finished["reason"]


def test_max_tokens_is_a_ceiling_a_call_that_could_pass_it_does_not_start(cli: RunCli, team: Path) -> None:
    # The first call may use its prompt and an answer of max_tokens (8,192): more than the cap allows.
    result = dispatch(cli, team, {"lead": ["Never sent."]}, "--max-tokens", "1000")
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["status"] == "budget" and data["calls"] == [] and data["result"] is None
    assert "--max-tokens 1000 reached" in data["reason"] and "the next call may use up to" in data["reason"]


def test_a_failed_handoff_is_handed_back_and_the_run_goes_on(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [handoffs(request("DB Architect", "Design the index")), "Went on without the index."],
        "db-architect": [{"error": {"kind": "overloaded", "message": "529 overloaded after 2 retries"}}],
    }
    result = dispatch(cli, team, script)
    assert result.exit_code == 1, result.stderr
    data = result.json()
    assert data["status"] == "failed" and data["result"] == "Went on without the index."
    assert [call["status"] for call in data["calls"]] == ["ok", "failed", "ok"]
    assert data["handoffs"][0]["status"] == "failed"


def test_the_first_agent_failing_is_a_provider_error_exit_4(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, {"lead": [{"error": {"kind": "overloaded", "message": "529 overloaded"}}]})
    assert result.exit_code == 4
    assert result.json()["status"] == "failed" and result.json()["result"] is None
    assert "error: lead: 529 overloaded" in result.stderr


def test_an_authentication_error_stops_the_run_at_once(cli: RunCli, team: Path) -> None:
    script = {
        "lead": [handoffs(request("DB Architect", "a"), request("Backend Architect", "b")), "never"],
        "db-architect": [{"error": {"kind": "auth", "message": "401 invalid x-api-key"}}],
        "backend-architect": [{"text": "slow", "delay": 5}],
    }
    result = dispatch(cli, team, script)
    assert result.exit_code == 4
    data = result.json()
    assert data["status"] == "failed"
    assert "lead" not in [c["agent"] for c in data["calls"][1:]], "no continuation after an auth error"
    assert "401 invalid x-api-key" in result.stderr


def test_a_call_the_script_did_not_expect_names_itself(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, {"lead": [handoffs(request("DB Architect", "a")), "Done."]})
    assert result.exit_code == 1
    failed = [call for call in result.json()["calls"] if call["status"] == "failed"]
    assert failed and failed[0]["agent"] == "db-architect"
    run_events = events(team, result.json()["run_id"])
    message = next(e["error"]["message"] for e in run_events if e["event"] == "call_finished" and e["error"])
    assert "no reply for call 1 to db-architect (handoff)" in message


def test_memory_notes_in_an_answer_are_saved_in_the_agents_format(cli: RunCli, team: Path) -> None:
    note = (
        "## Memory Notes\n\n### words-start-index\n```markdown\n# Words start index\n\n"
        "**Applies when:** indexing the words table\n\nThe words endpoint filters by transcription_id.\n"
        "It orders by start_ms.\nA composite index serves both.\nBuild it concurrently.\n```\n"
    )
    script = {"lead": ["Answer.\n\n" + note + "\n### too-short\n```markdown\nx\n```\n"]}
    result = dispatch(cli, team, script)
    assert result.exit_code == 0, result.stderr
    assert result.json()["result"] == "Answer."
    saved = list((team / "agents-memory" / "lead").glob("*-words-start-index.md"))
    assert len(saved) == 1 and "**Applies when:** indexing the words table" in saved[0].read_text()
    kinds = [e["event"] for e in events(team, result.json()["run_id"])]
    assert "memory_saved" in kinds and "memory_refused" in kinds


def test_dry_run_calls_nothing_and_estimates(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", "db-architect", "Design the index", "--dry-run", "--format", "json", cwd=team, env={})
    assert result.exit_code == 0, result.stderr
    plan = result.json()
    assert plan["dry_run"] is True and plan["model"].startswith("claude-opus")
    first = plan["first_call"]
    assert first["input_tokens"] > 0 and first["cost_usd"] > 0 and first["cost_ceiling_usd"] >= first["cost_usd"]
    assert "Design the index" in first["user"]
    assert not (team / ".agentctl").exists(), "a dry run records nothing"
    assert plan["limits"]["max_calls"] == 40 and plan["limits"]["max_cost"] == 2.0, "the default caps"
    assert first["cost_reserved_usd"] >= first["cost_ceiling_usd"], "the cap holds the call's worst case"
    text = cli("dispatch", "db-architect", "Design the index", "--dry-run", cwd=team)
    assert text.stdout.startswith("Dry run: nothing was sent.") and "Estimate of the first call" in text.stdout
    prompts = cli("dispatch", "db-architect", "Design the index", "--dry-run", "--show-prompt", cwd=team)
    assert prompts.stdout.startswith("=== system block `agent`") and "=== user turn (fresh) ===" in prompts.stdout


def test_the_task_comes_from_a_file_or_stdin_and_must_not_be_empty(cli: RunCli, team: Path) -> None:
    (team / "task.md").write_text("Design the index\n")
    from_file = cli("dispatch", "lead", "--task-file", "task.md", "--dry-run", "--format", "json", cwd=team)
    assert from_file.json()["task"] == "Design the index"
    from_stdin = cli("dispatch", "lead", "-", "--dry-run", "--format", "json", cwd=team, stdin=b"From stdin\n")
    assert from_stdin.json()["task"] == "From stdin"
    empty = cli("dispatch", "lead", "--dry-run", cwd=team, stdin=b"  \n")
    assert empty.exit_code == 2 and "error: the task is empty" in empty.stderr
    unknown = cli("dispatch", "nobody", "x", "--dry-run", cwd=team)
    assert unknown.exit_code == 2 and "no agent called 'nobody'" in unknown.stderr
    no_script = cli("dispatch", "lead", "x", "--provider", "scripted", cwd=team)
    assert no_script.exit_code == 2 and "--script" in no_script.stderr


def test_a_malformed_script_is_a_usage_error(cli: RunCli, team: Path) -> None:
    (team / "bad.yaml").write_text("lead: [text: 'a'\n")
    result = cli("dispatch", "lead", "x", "--script", "bad.yaml", cwd=team)
    assert result.exit_code == 2 and "bad.yaml" in result.stderr and "not valid YAML" in result.stderr


def test_dispatch_without_an_agent_routes_the_task(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", "Design the database schema and indexes", "--dry-run", "--format", "json", cwd=team)
    assert result.exit_code == 0, result.stderr
    plan = result.json()
    assert plan["agent"] == "db-architect" and plan["routing"]["chosen"] == "db-architect"
    assert plan["routing"]["ranking"][0]["agent"] == "db-architect" and plan["routing"]["asked"] is False
    script = write_script(team, {"db-architect": ["Schema."]})
    ran = cli("dispatch", "Design the database schema", "--script", script, "--format", "json", cwd=team)
    assert ran.exit_code == 0 and ran.json()["agent"] == "db-architect" and "routing" in ran.json()
    nothing = cli("dispatch", "zzzz qqqq", "--dry-run", cwd=team)
    assert nothing.exit_code == 2 and "cannot be routed" in nothing.stderr


def test_a_close_call_is_asked_on_a_terminal(tmp_path: Path) -> None:
    import io

    from agentctl.cli import main
    from agentctl.cli.env import Environment
    from tests.conftest import TTYStringIO

    twins = {f"{name}.md": agent_text(name, "Designs database schemas and indexes.") for name in ("alpha", "beta")}
    root = make_team(tmp_path / "twins", twins)

    class TTYBytes(io.BytesIO):
        def isatty(self) -> bool:
            return True

    def run(*extra: str, answer: bytes = b"2\n") -> tuple[int, str, str]:
        stdout, stderr = TTYStringIO(True), TTYStringIO(True)
        environment = Environment(stdout=stdout, stderr=stderr, stdin=TTYBytes(answer), cwd=root, environ={})
        code = main(["dispatch", "design the database schema", "--dry-run", *extra], env=environment)
        return code, stdout.getvalue(), stderr.getvalue()

    code, out, err = run()
    assert code == 0 and "Which agent?" in err and "(`beta`) would get the task" in out
    code, out, err = run("--yes")
    assert code == 0 and "Which agent?" not in err and "(`alpha`) would get the task" in out
    code, out, err = run(answer=b"7\n")
    assert code == 2 and "'7' is not one of 1-2" in err


def test_a_task_with_bytes_that_are_not_utf8_is_recorded_not_a_crash(team: Path, cli: RunCli) -> None:
    # A shell passes `$'task \xff'` on; Python reads the byte as a lone surrogate, which no file takes.
    result = dispatch(cli, team, {"lead": ["Done."]}, task="Plan the index \udcff")
    assert result.exit_code == 0, result.stderr
    assert result.json()["task"] == "Plan the index \ufffd"
