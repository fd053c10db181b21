"""How well `agentctl route` picks the agent: leave-one-out over the team's own labelled data, and labelled tasks.

    python bench/route_eval.py DIR [--tasks FILE.jsonl] [--team-root ROOT] [--misses]

- Examples (leave-one-out): every `<example>` user message is a query; that example is taken out of
  its agent's description and the message is routed among all the agents.
- Escalation rows (leave-one-out): every row of an escalation table (and every handoff request) is a
  query for the agent it names; the row is taken out, and the agent that wrote it is not a
  candidate (it says the work is not its own).
- Tasks: `{"task": ..., "agent": ...}` per line, routed among all the agents.

Prints top-1 and top-3 accuracy of each, and the in-process time to route one task (median).
DIR is a folder of agent files (recursive; a catalogue or `.claude/agents`); with --team-root the
team's roster is read too (DIR defaults to the team's agents folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.route import Evidence, RouteIndex, agents_in, build_profiles
from agentctl.spec import AgentFile
from agentctl.team import RosterEntry


@dataclass
class Tally:
    label: str
    total: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, wanted: str, ranking: list[str], query: str) -> None:
        self.total += 1
        self.top1 += ranking[:1] == [wanted]
        self.top3 += wanted in ranking[:3]
        if ranking[:1] != [wanted]:
            self.misses.append(f"  want {wanted:<28} got {', '.join(ranking[:3]):<70} {query[:90]!r}")

    def line(self) -> str:
        if not self.total:
            return f"{self.label:<34} n=0 (nothing to evaluate)"
        return f"{self.label:<34} n={self.total:<4} top-1 {self.top1 / self.total:.3f}   top-3 {self.top3 / self.total:.3f}"


def load(directory: Path | None, team_root: Path | None) -> tuple[list[AgentFile], list[RosterEntry]]:
    if team_root is not None:
        from agentctl.config import load_settings
        from agentctl.team import load_team

        team = load_team(load_settings(cwd=team_root, root=team_root, environ={}))
        agents = agents_in(directory) if directory else team.agents
        return agents, team.roster
    assert directory is not None
    return agents_in(directory), []


def leave_one_out(index: RouteIndex, kinds: tuple[str, ...], label: str) -> Tally:
    tally = Tally(label)
    for item in index.evidence:
        if item.kind not in kinds:
            continue
        exclude = [item.origin] if item.kind != "example" else []
        ranking = [score.agent for score in index.without(item).rank(item.text, top=3, exclude=exclude)]
        tally.add(item.agent, ranking, item.text)
    return tally


def labelled_tasks(index: RouteIndex, path: Path) -> tuple[Tally, list[float]]:
    tally = Tally(f"tasks ({path.name})")
    times = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["agent"] not in index.agents:
            print(f"warning: {row['agent']!r} is not an agent of this team", file=sys.stderr)
        start = time.perf_counter()
        ranking = [score.agent for score in index.rank(row["task"], top=3)]
        times.append(time.perf_counter() - start)
        tally.add(row["agent"], ranking, row["task"])
    return tally, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?")
    parser.add_argument("--tasks", type=Path, action="append", default=[])
    parser.add_argument("--team-root", type=Path)
    parser.add_argument("--misses", action="store_true", help="list the queries whose first agent is wrong")
    args = parser.parse_args()
    if args.directory is None and args.team_root is None:
        parser.error("give DIR or --team-root")
    agents, roster = load(args.directory, args.team_root)
    start = time.perf_counter()
    index = RouteIndex.from_profiles(build_profiles(agents, roster))
    built = time.perf_counter() - start
    evidence: list[Evidence] = index.evidence
    print(
        f"{len(index.agents)} agents, {sum(e.kind == 'example' for e in evidence)} examples, "
        f"{sum(e.kind != 'example' for e in evidence)} escalation rows and handoff requests; index built in {built * 1000:.1f} ms"
    )
    tallies = [
        leave_one_out(index, ("example",), "examples (leave-one-out)"),
        leave_one_out(index, ("escalation", "handoff"), "escalation rows (leave-one-out)"),
    ]
    times: list[float] = []
    for path in args.tasks:
        tally, task_times = labelled_tasks(index, path)
        tallies.append(tally)
        times += task_times
    for tally in tallies:
        print(tally.line())
        if args.misses and tally.misses:
            print("\n".join(tally.misses))
    if times:
        print(
            f"route one task, in process: median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
