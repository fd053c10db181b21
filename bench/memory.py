"""Issue #4's budgets: `memory list --format json` and `memory search` over 10,000 notes in under
1 s (whole process), and `memory list` over the shipped store at most 2x `import typer`.

    python bench/memory.py [--runs 5] [--notes 10000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe, time_commands

REPO = Path(__file__).resolve().parents[1]
WORDS = [
    "render",
    "queue",
    "worker",
    "index",
    "words",
    "transcription",
    "pool",
    "redis",
    "eviction",
    "retry",
    "upload",
    "presigned",
    "s3",
    "editor",
    "caption",
    "preset",
    "websocket",
    "progress",
    "migration",
    "alembic",
    "latency",
    "throughput",
    "cache",
    "whisper",
    "alignment",
    "gpu",
]


def make_store(root: Path, notes: int) -> None:
    """A team of 20 agents with `notes` format-A notes spread over 2025-2026."""
    rng = random.Random(4)
    (root / "agents").mkdir()
    (root / "agents-shared").mkdir()
    agents = [f"agent-{n:02d}" for n in range(20)]
    rows = "\n".join(f"| `{a}` | Agent {a} | d | w | | A |" for a in agents)
    (root / "agents-shared" / "team-protocol.md").write_text(
        "# Roster\n\n| Agent | Display name | Domain | When to request | Capabilities | Memory |\n|---|---|---|---|---|---|\n"
        + rows
        + "\n"
    )
    for n in range(notes):
        agent = agents[n % 20]
        folder = root / "agents-memory" / agent
        folder.mkdir(parents=True, exist_ok=True)
        topic = " ".join(rng.sample(WORDS, 3))
        body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(6))
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        slug = topic.replace(" ", "-")
        (folder / f"{day}-{slug}-{n}.md").write_text(
            f"# {topic}\n\n**Applies when:** {' '.join(rng.sample(WORDS, 4))}\n\n{body}\n"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--notes", type=int, default=10_000)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("agentctl")
    agentctl = [str(script)] if script.exists() else [sys.executable, "-m", "agentctl"]
    scratch = Path(tempfile.mkdtemp())
    try:
        make_store(scratch, args.notes)
        big = time_commands(
            {
                f"memory list --format json ({args.notes} notes)": [
                    *agentctl,
                    "--root",
                    str(scratch),
                    "memory",
                    "list",
                    "--format",
                    "json",
                ],
                f"memory search 'redis eviction retry' ({args.notes} notes)": [
                    *agentctl,
                    "--root",
                    str(scratch),
                    "memory",
                    "search",
                    "redis eviction retry",
                ],
            },
            runs=args.runs,
        )
        small = time_commands(
            {
                "python -c 'import typer'": [sys.executable, "-c", "import typer"],
                "agentctl memory list (shipped store)": [*agentctl, "memory", "list"],
            },
            runs=args.runs * 3,
            cwd=str(REPO),
        )
    finally:
        shutil.rmtree(scratch)
    print("\n".join(describe(big) + describe(small)))
    worst = max(statistics.median(values) for values in big.values())
    ratio = statistics.median(small["agentctl memory list (shipped store)"]) / statistics.median(
        small["python -c 'import typer'"]
    )
    print(f"10,000 notes: slowest median {worst * 1000:.0f} ms (budget 1000 ms): {'within' if worst < 1 else 'OVER'}")
    print(f"shipped store list / import typer: {ratio:.2f} (budget 2.0): {'within' if ratio <= 2 else 'OVER'}")
    return 0 if worst < 1 and ratio <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
