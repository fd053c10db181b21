"""`agentctl batch`: many tasks through the team on Anthropic's Message Batches API.

Each round of the team's work is one batch (or several, split at the API's limits): every task's
first call, then every handoff those answers asked for, then every continuation, until no task has
work left or a limit is reached. The engine that `dispatch` uses runs each task, one coroutine per
task, against a provider (rounds.BatchProvider) that holds each call until every task waits, then
sends them all at once.

    tasks.py    TASKS.jsonl: one {"task", "agent"?, "id"?} per line
    api.py      the four endpoints (create, retrieve, results, cancel) through the anthropic SDK
    rounds.py   the provider that gathers a round's calls, and the round loop that sends them
    record.py   the batch's own record: batch.json and an append-only events.jsonl
    runner.py   run, resume, status, results, cancel
"""
