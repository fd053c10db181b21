"""HTML reports: one self-contained page for a run (`agentctl runs report`) and one for a batch.

A page is a file to open anywhere, long after the run: everything it needs is inside it (inline CSS,
one inline script, the data that script draws as embedded JSON) and it loads nothing. Its
Content-Security-Policy forbids every fetch (`default-src 'none'`) and lets run only the page's own
script and style, named by their SHA-256 hashes: even markup that slipped past escaping could neither
run nor phone home.

Every string of a record is untrusted: answers and handoff tasks are model output, agent names come
from files in pull requests, a record may be damaged or forged. Text reaches the markup only through
`_e` (html.escape after `_clean`: no control characters, no lone surrogates that would fail the
UTF-8 write), the script only through `_embed_json` (`<`, `>`, `&` as \\u escapes: no `</script>` or
`<!--` inside the JSON can end its block), and the script builds the timeline with createElementNS,
setAttribute and textContent, never innerHTML. Values that become class names are mapped onto a
fixed set first.

The pages are deterministic (the same record gives the same bytes): nothing of the machine or the
moment of rendering is in them. Core module: it returns text; `write_report` writes a page where the
user said, and nowhere else.
"""

from __future__ import annotations

import datetime
import errno
import html
import json
import math
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl import __version__
from agentctl.errors import UsageError
from agentctl.events import Handoff
from agentctl.lazyre import LazyPattern
from agentctl.records import record
from agentctl.runs import duration_text

if TYPE_CHECKING:
    from agentctl.runs import AgentTotal, CallRecord, RunRecord

# C0 and C1 controls other than tab, newline and carriage return, and lone surrogates (json.loads
# makes them from "\ud800"): none can be written as UTF-8 or shown.
_UNPRINTABLE = LazyPattern("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
# What a status looks like: one of four tones, whatever the string (a forged record's too).
_TONES = {
    "good": ("ok", "succeeded"),
    "bad": ("failed", "errored"),
    "warn": ("budget", "stopped", "interrupted", "refused", "unknown", "depth", "expired", "canceled"),
}
_MODES = ("fresh", "handoff", "continuation")
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
TREE_DEPTH_SHOWN = 24  # deeper calls (only a damaged log nests further) are drawn at this depth
NOT_RUN = ("refused", "unknown", "depth", "budget")  # handoff statuses that made no call
_NUMBERS = range(1, 64)  # the columns of a table that hold numbers: all but the first, unless told


# --- text ------------------------------------------------------------------------------------------


def _clean(text: object) -> str:
    return _UNPRINTABLE.sub("\ufffd", text if isinstance(text, str) else str(text))


def _e(text: object) -> str:
    """Text from a record, safe in an element or a quoted attribute."""
    return html.escape(_clean(text), quote=True)


def _embed_json(data: object) -> str:
    """JSON for a `<script type="application/json">` block: nothing in it can end the block."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(_JSON_ESCAPES)


def _tone(status: str | None) -> str:
    return next((tone for tone, statuses in _TONES.items() if status in statuses), "muted")


def _line(text: str | None, width: int = 160) -> str:
    """The first non-blank line of `text`, cut to `width` characters."""
    line = next((" ".join(part.split()) for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def _tokens(count: int) -> str:
    return f"{count:,}"


def _compact(count: int) -> str:
    if count < 1000:
        return str(count)
    return f"{count / 1000:.1f}k" if count < 999_950 else f"{count / 1_000_000:.1f}M"


def _dollars(value: float | None, complete: bool = True) -> str:
    """Dollars; "+" marks a lower bound (a call without a price), "?" no price at all."""
    return "?" if value is None else f"${value:.4f}" + ("" if complete else "+")


def _badge(status: str | None) -> str:
    return f'<span class="badge t-{_tone(status)}">{_e(status or "?")}</span>'


# --- the page --------------------------------------------------------------------------------------


def _hash(source: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def _policy(script: str) -> str:
    """Nothing loads from anywhere; only this page's own script and style run."""
    return (
        f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(_CSS)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _page(title: str, body: Iterable[str], script: str, data: tuple[str, object] | None = None) -> str:
    block = f'<script type="application/json" id="{data[0]}">{_embed_json(data[1])}</script>\n' if data else ""
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{_policy(script)}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            '<meta name="referrer" content="no-referrer">\n',
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n",
            *body,
            f"<footer>agentctl {_e(__version__)}</footer>\n</main>\n{block}<script>{script}</script>\n",
            "</body>\n</html>\n",
        ]
    )


def _section(title: str, inner: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<section{klass}>\n<h2>{_e(title)}</h2>\n{inner}\n</section>\n"


def _table(header: list[str], rows: Iterable[str], numeric: range = _NUMBERS, css: str = "") -> str:
    """A table whose columns in `numeric` are numbers (right-aligned); rows are <tr> markup."""
    cells = "".join(
        f"<th{' class=num' if index in numeric else ''}>{_e(name)}</th>" for index, name in enumerate(header)
    )
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(cells: list[str], numeric: range = _NUMBERS, css: str = "") -> str:
    """One <tr> of cells that are already markup."""
    klass = f' class="{css}"' if css else ""
    tds = "".join(f"<td{' class=num' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(cells))
    return f"<tr{klass}>{tds}</tr>"


def _meter(used: float, cap: float | None, share: bool = False) -> str:
    """A small bar of how much of a cap was used, or (`share`) of a whole; SVG attributes, no inline
    style for the policy to refuse. A cap's bar turns amber at 80% and red when reached."""
    if not cap or cap <= 0:
        return ""
    part = max(0.0, min(100.0, used / cap * 100))
    tone = "share" if share else "t-bad" if part >= 100 else "t-warn" if part >= 80 else "t-good"
    return (
        '<svg class="meter" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true">'
        '<rect class="track" width="100" height="6"/>'
        f'<rect class="fill {tone}" width="{part:.1f}" height="6"/></svg>'
    )


# --- a run: times ----------------------------------------------------------------------------------


@record
class Span:
    """One call on the timeline: milliseconds from the run's start, and the row it is drawn in."""

    call: CallRecord
    number: int  # 1-based, in start order: the anchor of its entry in the tree (#call-N)
    start: float
    end: float
    open: bool  # no end recorded (killed, or still running): drawn to the last moment the record knows
    row: int = 0


def _moment(value: str | None) -> datetime.datetime | None:
    """A recorded time; one without a zone is read as UTC, so that any two can be subtracted."""
    try:
        moment = datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def spans(record: RunRecord) -> tuple[list[Span], float]:
    """The calls that have a start time, placed in time and in rows (one or more per agent: calls of
    one agent that overlap get a row each), and the run's length in milliseconds."""
    starts = {call.id: _moment(call.started) for call in record.calls}
    known = [moment for moment in starts.values() if moment is not None]
    first = _moment(record.started)
    if not known:
        return [], 0.0
    origin = min([*known, first] if first else known)
    ends = {call.id: _end_of(call, starts[call.id]) for call in record.calls}
    last = max([moment for moment in [*known, *ends.values(), _moment(record.finished)] if moment is not None])

    def ms(moment: datetime.datetime) -> float:
        return max(0.0, (moment - origin).total_seconds() * 1000)

    placed = []
    for number, call in enumerate(record.calls, 1):
        start, end = starts[call.id], ends[call.id]
        if start is not None:
            placed.append(Span(call, number, ms(start), ms(max(end or last, start)), end is None))
    _assign_rows(placed)
    return placed, max(ms(last), 1.0)


def _end_of(call: CallRecord, start: datetime.datetime | None) -> datetime.datetime | None:
    finished = _moment(call.finished)
    if finished is None and start is not None and call.latency_ms is not None:
        return start + datetime.timedelta(milliseconds=call.latency_ms)
    return finished


def rows_of(placed: list[Span]) -> list[tuple[str, int]]:
    """(agent, lane) of each row, agents in the order they first started."""
    agents = list(dict.fromkeys(span.call.agent for span in sorted(placed, key=lambda s: s.start)))
    lanes: dict[str, int] = {}
    for span in placed:
        lanes[span.call.agent] = max(lanes.get(span.call.agent, 0), span.row)
    return [(agent, lane) for agent in agents for lane in range(lanes[agent] + 1)]


def _assign_rows(placed: list[Span]) -> None:
    """Each span's lane within its agent: the first lane free by its start (a lane's last end)."""
    free: dict[str, list[float]] = {}
    for span in sorted(placed, key=lambda s: (s.start, s.number)):
        ends = free.setdefault(span.call.agent, [])
        lane = next((index for index, end in enumerate(ends) if end <= span.start), len(ends))
        if lane == len(ends):
            ends.append(span.end)
        ends[lane] = span.end
        span.row = lane  # a lane for now; timeline_data turns it into a row of the whole chart


def timeline_data(record: RunRecord, placed: list[Span], length: float) -> dict[str, Any]:
    """What the page's script draws: rows, one bar per call with a time, the waits of continuations
    for their handoffs, and a link from each requester's end to each delegate's start. Turns each
    span's lane into its row of the whole chart."""
    rows = rows_of(placed)
    index = {row: number for number, row in enumerate(rows)}
    for span in placed:
        span.row = index[(span.call.agent, span.row)]
    return {
        "span_ms": round(length, 3),
        "rows": [{"agent": _clean(agent)[:48], "first": lane == 0} for agent, lane in rows],
        "bars": [_bar(span) for span in placed],
        "waits": _waits(placed),
        "links": _links(placed),
        "undrawn": len(record.calls) - len(placed),
    }


def _bar(span: Span) -> dict[str, Any]:
    call = span.call
    return {
        "n": span.number,
        "row": span.row,
        "start": round(span.start, 3),
        "end": round(span.end, 3),
        "mode": call.mode if call.mode in _MODES else "other",
        "tone": _tone(call.status),
        "open": span.open,
        "label": _clean(call.id)[:16],
        "title": _clean(_bar_title(span)),
    }


def _bar_title(span: Span) -> str:
    call = span.call
    head = f"{call.id} {call.agent} ({call.mode}): {call.status}"
    took = duration_text(span.end - span.start) + (" so far" if span.open else "")
    usage = call.usage
    cost = _dollars(call.cost_usd) if call.cost_usd is not None else "no cost"
    work = f"{_compact(usage.input_tokens)}\u2192{_compact(usage.output_tokens)} tokens, {cost}"
    lines = [head, f"at +{duration_text(span.start)}, took {took}, {work}"]
    if call.mode != "continuation" and call.task:
        lines.append(_line(call.task, 120))
    return "\n".join(lines)


def _waits(placed: list[Span]) -> list[dict[str, Any]]:
    """A continuation waited, in its row, from the end of the call before it to its own start."""
    import bisect

    ends: dict[int, list[float]] = {}
    for span in placed:
        ends.setdefault(span.row, []).append(span.end)
    for row in ends.values():
        row.sort()
    waits = []
    for span in (span for span in placed if span.call.mode == "continuation"):
        row = ends[span.row]
        index = bisect.bisect_right(row, span.start)
        if index and row[index - 1] < span.start:
            waited = span.start - row[index - 1]
            title = f"{span.call.id} {span.call.agent} waited {duration_text(waited)} for its handoffs"
            start, end = round(row[index - 1], 3), round(span.start, 3)
            waits.append({"row": span.row, "start": start, "end": end, "title": _clean(title)})
    return waits


def _links(placed: list[Span]) -> list[dict[str, Any]]:
    by_id = {span.call.id: span for span in placed}
    links = []
    for span in placed:
        parent = by_id.get(span.call.parent or "")
        if span.call.mode == "handoff" and parent is not None and parent is not span:
            ends = {"from": round(parent.end, 3), "to": round(span.start, 3)}
            links.append(ends | {"from_row": parent.row, "to_row": span.row})
    return links


# --- a run: sections -------------------------------------------------------------------------------


def run_report_html(record: RunRecord) -> str:
    """The page for one run: header and outcome (status, reason, limits), the timeline, the tree of
    calls, tokens and cost per agent and per model, failures, warnings, and the final answer."""
    placed, length = spans(record)
    data = timeline_data(record, placed, length)
    body = [
        _run_header(record),
        _outcome(record),
        _timeline_section(data),
        _section("Calls", _tree(record, {span.call.id: span for span in placed})),
        _section("Tokens and cost", _totals(record)),
        _failures(record),
        _warnings(record),
        _answer(record),
    ]
    return _page(f"agentctl run {record.run_id}", body, _RUN_SCRIPT, ("timeline-data", data))


def _run_header(record: RunRecord) -> str:
    total = record.total()
    took = _took(record)
    facts = [
        ("agent", _e(record.agent or "?")),
        ("provider", _e(record.meta.get("provider") or "?")),
        ("started", _e(_when(record.started))),
        ("took", _e(duration_text(took)) if took is not None else "-"),
        ("calls", str(sum(call.spent for call in record.calls))),
        ("tokens", _tokens(total["input_tokens"]) + " in / " + _tokens(total["output_tokens"]) + " out"),
        ("cost", _e(_dollars(total["cost_usd"], total["cost_complete"]))),
    ]
    if record.resumed_from:
        facts.append(("resumed from", f"<code>{_e(record.resumed_from)}</code>"))
    dl = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts)
    task = f'<pre class="task">{_e((record.task or "?").strip())}</pre>'
    return (
        f"<header>\n<h1>Run <code>{_e(record.run_id)}</code> {_badge(record.status)}</h1>\n"
        f'<dl class="facts">{dl}</dl>\n{task}\n</header>\n'
    )


def _when(value: str | None) -> str:
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if moment else (value or "?")


def _took(record: RunRecord) -> float | None:
    start, end = _moment(record.started), _moment(record.finished)
    return (end - start).total_seconds() * 1000 if start and end else None


def _outcome(record: RunRecord) -> str:
    exit_code = f" (exit {record.exit_code})" if record.exit_code is not None else ""
    if record.status == "incomplete":
        reason = "no run_finished event: the run was killed, or is still running"
    else:
        reason = record.reason or ("finished" if record.status == "ok" else "no reason recorded")
    said = f"<p>{_badge(record.status)}{_e(exit_code)}: {_e(reason)}</p>"
    rows = [_row([_e(name), used, cap, meter]) for name, used, cap, meter in _limit_rows(record)]
    table = _table(["limit", "used", "cap", ""], rows, css="limits") if rows else ""
    return _section("Outcome", said + table, css=f"outcome t-{_tone(record.status)}")


def _limit_rows(record: RunRecord) -> list[tuple[str, str, str, str]]:
    """Each cap of the run beside what the run used of it (the caps are run.json's `limits`); calls
    and cost always, the other caps when the run had them."""
    limits = record.meta.get("limits")
    limits = limits if isinstance(limits, dict) else {}
    total = record.total()
    took = _took(record)
    used: list[tuple[str, float | None, Any, str]] = [
        ("calls", sum(call.spent for call in record.calls), limits.get("max_calls"), "n"),
        ("cost", total["cost_usd"] or 0.0, limits.get("max_cost"), "$"),
        ("tokens", sum(int(total[key]) for key in _USAGE_KEYS), limits.get("max_tokens"), "n"),
        ("depth", max((call.depth for call in record.calls), default=0), limits.get("max_depth"), "n"),
        ("time", took / 1000 if took is not None else None, limits.get("timeout"), "s"),
    ]
    rows = [
        (name, _limit_text(value, unit), _limit_text(cap, unit), _meter(value or 0.0, _number(cap)))
        for name, value, cap, unit in used
        if name in ("calls", "cost") or cap is not None
    ]
    return rows


def _limit_text(value: Any, unit: str) -> str:
    number = _number(value)
    if number is None:
        return "none"
    if unit == "$":
        return f"${number:.4f}" if number < 1 else f"${number:,.2f}"
    if unit == "s":
        return duration_text(number * 1000)
    return f"{number:,.0f}"


def _timeline_section(data: dict[str, Any]) -> str:
    if not data["bars"]:
        return _section("Timeline", "<p>No call has a start time to draw.</p>")
    legend = "".join(
        f'<span class="key {css}"></span>{_e(label)} '
        for css, label in (
            ("m-fresh", "fresh"),
            ("m-handoff", "handoff"),
            ("m-continuation", "continuation"),
            ("t-bad", "failed"),
            ("t-warn", "interrupted"),
            ("wait", "waiting for handoffs"),
        )
    )
    undrawn = data["undrawn"]
    note = f"<p>{undrawn} call(s) without a start time are not drawn.</p>" if undrawn else ""
    inner = (
        '<div id="timeline-holder" class="timeline"></div>\n'
        "<noscript><p>The timeline is drawn by the page's script; the tree below has each call's times."
        f'</p></noscript>\n<p class="legend">{legend}</p>{note}'
    )
    return _section("Timeline", inner)


def _tree(record: RunRecord, placed: Mapping[str, Span]) -> str:
    """The calls below their requesters, with the handoffs that made no call as leaves."""
    if not record.calls and not record.handoffs:
        return "<p>No calls.</p>"
    items = [(depth, _tree_item(item, placed)) for depth, item in _tree_order(record)]
    return _nested(items)


def _tree_order(record: RunRecord) -> list[tuple[int, CallRecord | Handoff]]:
    """Calls in start order below their parents (iterative: a damaged log may nest deep or loop)."""
    ids = {call.id for call in record.calls}
    below: dict[str | None, list[CallRecord | Handoff]] = {}
    for call in record.calls:
        parent = call.parent if call.parent in ids and call.parent != call.id else None
        below.setdefault(parent, []).append(call)
    for handoff in record.handoffs:
        if handoff.status in NOT_RUN:
            below.setdefault(handoff.from_call if handoff.from_call in ids else None, []).append(handoff)
    order: list[tuple[int, CallRecord | Handoff]] = []
    seen: set[int] = set()
    stack: list[tuple[int, CallRecord | Handoff]] = [(0, item) for item in reversed(below.get(None, []))]
    while stack:
        depth, item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        order.append((depth, item))
        kids = [] if isinstance(item, Handoff) else below.get(item.id, [])
        stack += [(depth + 1, kid) for kid in reversed(kids)]
    # Calls whose parents form a loop (only a damaged log has one) are still listed.
    return order + [(0, call) for call in record.calls if id(call) not in seen]


def _nested(items: list[tuple[int, str]]) -> str:
    """Nested lists from (depth, `<li ...>...` without its `</li>`) in tree order."""
    parts = ['<ul class="tree">']
    open_depth = -1  # the depth of the last item opened
    for depth, item in items:
        depth = min(depth, open_depth + 1, TREE_DEPTH_SHOWN)
        if depth == open_depth + 1 and open_depth >= 0:
            parts.append("<ul>")
        elif open_depth >= 0:
            parts.append("</li>" + "</ul></li>" * (open_depth - depth))
        parts.append(item)
        open_depth = depth
    if open_depth >= 0:
        parts.append("</li>" + "</ul></li>" * open_depth)
    return "".join([*parts, "</ul>"])


def _tree_item(item: CallRecord | Handoff, placed: Mapping[str, Span]) -> str:
    if isinstance(item, Handoff):
        return _handoff_item(item)
    call = item
    span = placed.get(call.id)
    anchor = f' id="call-{span.number}"' if span is not None else ""
    head = (
        f'<div class="node"><code>{_e(call.id)}</code> <b>{_e(call.agent)}</b> '
        f'<span class="mode">{_e(call.mode)}</span> {_badge(call.status)} '
        f'<span class="dim">{_e(_call_facts(call, span))}</span></div>'
    )
    task = f'<div class="brief">{_e(_line(call.task))}</div>' if call.mode != "continuation" and call.task else ""
    error = f'<div class="err">{_e(_error_text(call))}</div>' if call.error else ""
    return f"<li{anchor}>{head}{task}{error}"


def _call_facts(call: CallRecord, span: Span | None) -> str:
    facts = [call.model or "?"]
    if span is not None:
        facts.append(f"at +{duration_text(span.start)}")
    facts.append(f"took {duration_text(call.latency_ms)}")
    facts.append(f"{_compact(call.usage.input_tokens)}\u2192{_compact(call.usage.output_tokens)} tokens")
    if call.cost_usd is not None:
        facts.append(_dollars(call.cost_usd))
    if call.turns is not None or call.tool_uses is not None:
        facts.append(f"{call.turns or 0} turns, {call.tool_uses or 0} tool uses")
    return " \u00b7 ".join(facts)


def _handoff_item(handoff: Handoff) -> str:
    target = handoff.to or handoff.target
    why = f": {handoff.reason}" if handoff.reason else ""
    return (
        f'<li class="not-run"><div class="node">\u2192 <b>{_e(target)}</b> <span class="mode">handoff</span> '
        f'{_badge(handoff.status)} <span class="dim">not run{_e(why)}</span></div>'
        f'<div class="brief">{_e(_line(handoff.task))}</div>'
    )


def _error_text(call: CallRecord) -> str:
    error = call.error or {}
    return ": ".join(str(part) for part in (error.get("kind"), error.get("message")) if part) or call.status


def _totals(record: RunRecord) -> str:
    if not record.calls:
        return "<p>No calls, no tokens.</p>"
    total = record.total()
    grand = total["cost_usd"] or 0.0
    header = ["calls", "input", "output", "cache read", "cache write", "cost", "share of cost"]
    by_agent = [_total_row(item, grand) for item in record.by_agent()]
    calls = sum(call.spent for call in record.calls)
    cost = _dollars(total["cost_usd"], total["cost_complete"])
    by_agent.append(_row(["total", str(calls), *_usage_cells(total), _e(cost), ""], css="total"))
    by_model = [_total_row(item, grand) for item in record.by_model()]
    return (
        '<div class="pair"><div><h3>Per agent</h3>'
        + _table(["agent", *header], by_agent)
        + "</div><div><h3>Per model</h3>"
        + _table(["model", *header], by_model)
        + "</div></div>"
    )


def _total_row(item: AgentTotal, grand: float) -> str:
    cost = _dollars(item.cost_usd, item.cost_complete)
    share = _meter(item.cost_usd or 0.0, grand, share=True) if grand else ""
    return _row([_e(item.agent), str(item.calls), *_usage_cells(item.usage.to_json()), _e(cost), share])


def _usage_cells(usage: Mapping[str, Any]) -> list[str]:
    return [_tokens(int(usage[key])) for key in _USAGE_KEYS]


def _failures(record: RunRecord) -> str:
    failed = [call for call in record.calls if _tone(call.status) in ("bad", "warn") or call.error]
    if not failed:
        return _section("Failures", "<p>No call failed.</p>")
    items = "".join(
        f"<li><code>{_e(call.id)}</code> <b>{_e(call.agent)}</b> {_badge(call.status)} "
        f'<span class="err">{_e(_error_text(call))}</span></li>'
        for call in failed
    )
    return _section("Failures", f'<ul class="plain">{items}</ul>', css="failures")


def _warnings(record: RunRecord) -> str:
    """The run's warnings, each call's, the handoffs that made no call, retries' waits, memory notes
    and what could not be read of the record."""
    lines = [_e(warning) for warning in record.warnings]
    lines += [f"<code>{_e(call.id)}</code> {_e(call.agent)}: {_e(w)}" for call in record.calls for w in call.warnings]
    lines += [
        f"handoff {_e(h.from_agent or '?')} \u2192 {_e(h.to or h.target)}: {_e(h.status)}"
        + (f" ({_e(h.reason)})" if h.reason else "")
        for h in record.handoffs
        if h.status in NOT_RUN
    ]
    for wait in record.waits:
        seconds = f"{wait.seconds:g} s" if wait.seconds is not None else "a while"
        lines.append(f"<code>{_e(wait.call_id or '?')}</code> waited {_e(seconds)}: {_e(wait.reason or '?')}")
    for note in record.memory:
        what = note.path if note.status == "saved" else f"{note.topic or '?'} ({note.reason or '?'})"
        lines.append(f"memory {_e(note.status)} for {_e(note.agent or '?')}: {_e(what or '?')}")
    lines += [f"record problem: {_e(problem)}" for problem in record.problems]
    if not lines:
        return _section("Warnings", "<p>None.</p>")
    return _section("Warnings", '<ul class="plain">' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")


def _answer(record: RunRecord) -> str:
    if record.result is None:
        return _section("Final answer", f"<p>No final answer ({_e(record.status)}).</p>")
    return _section("Final answer", f'<pre class="answer">{_e(record.result.rstrip())}</pre>')


# --- a batch ---------------------------------------------------------------------------------------

_TASK_COLUMNS = (  # key, header, numeric
    ("id", "id", False),
    ("agent", "agent", False),
    ("status", "status", False),
    ("calls", "calls", True),
    ("tokens", "tokens", True),
    ("cost_usd", "cost_usd", True),
    ("run_id", "run id", False),
    ("task", "task", False),
)


def _number(value: object) -> float | None:
    """A finite number, or None (a bool, a string, NaN: whatever the dict holds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: object) -> int:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else 0


def _text(value: object) -> str:
    return _clean(value) if isinstance(value, str) else ""


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def batch_report_html(batch: Mapping[str, Any]) -> str:
    """The page for a batch of tasks (the dict `agentctl batch` keeps: batch_id, created_at, status,
    cost_usd, limits, rounds, tasks): totals, one row per round, and every task in a table whose
    headers sort it (a click, or `#sort=<column>-<asc|desc>` in the address). Any value of the wrong
    type is shown as missing, never a failure."""
    tasks = _items(batch.get("tasks"))
    body = [
        _batch_header(batch),
        _section("Totals", _batch_totals(batch, tasks)),
        _section("Rounds", _rounds(_items(batch.get("rounds")))),
        _section("Tasks", _tasks_table(tasks)),
    ]
    return _page(f"agentctl batch {_text(batch.get('batch_id'))}", body, _BATCH_SCRIPT)


def _batch_header(batch: Mapping[str, Any]) -> str:
    status = _text(batch.get("status")) or "?"
    limits = batch.get("limits")
    facts = [
        ("created", _e(_when(_text(batch.get("created_at")) or None))),
        ("cost", _e(_dollars(_number(batch.get("cost_usd"))))),
    ]
    if isinstance(limits, Mapping):
        facts += [(_e(key), _e(_limit_value(value))) for key, value in limits.items()]
    dl = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts)
    batch_id = _e(_text(batch.get("batch_id")) or "?")
    return (
        f'<header>\n<h1>Batch <code>{batch_id}</code> {_badge(status)}</h1>\n<dl class="facts">{dl}</dl>\n</header>\n'
    )


def _limit_value(value: object) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _batch_totals(batch: Mapping[str, Any], tasks: list[Mapping[str, Any]]) -> str:
    statuses: dict[str, int] = {}
    for task in tasks:
        status = _text(task.get("status")) or "?"
        statuses[status] = statuses.get(status, 0) + 1
    costs = [_number(task.get("cost_usd")) for task in tasks]
    known = [cost for cost in costs if cost is not None]
    cost = _dollars(round(sum(known), 6) if known or not tasks else None, len(known) == len(costs))
    facts = [("tasks", f"{len(tasks):,}")]
    facts += [(status, f"{count:,}") for status, count in statuses.items()]
    facts += [
        ("calls", f"{sum(_count(task.get('calls')) for task in tasks):,}"),
        ("input tokens", f"{sum(_count(task.get('input_tokens')) for task in tasks):,}"),
        ("output tokens", f"{sum(_count(task.get('output_tokens')) for task in tasks):,}"),
        ("cost of the tasks", cost),
        ("cost of the batch", _dollars(_number(batch.get("cost_usd")))),
    ]
    return '<dl class="facts">' + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts) + "</dl>"


_ROUND_KEYS = ("requests", "succeeded", "errored", "expired", "canceled")
_ROUND_NUMBERS = range(len(_ROUND_KEYS) + 2)  # the round, its counts and its cost; then its batch ids


def _rounds(rounds: list[Mapping[str, Any]]) -> str:
    if not rounds:
        return "<p>No rounds yet.</p>"
    rows = []
    for item in rounds:
        ids = item.get("batch_ids")
        names = ", ".join(_text(name) for name in ids) if isinstance(ids, list) else ""
        counts = [f"{_count(item.get(key)):,}" for key in _ROUND_KEYS]
        cost = _dollars(_number(item.get("cost_usd")))
        rows.append(
            _row([_e(_count(item.get("round"))), *counts, _e(cost), f"<code>{_e(names)}</code>"], _ROUND_NUMBERS)
        )
    totals = [f"{sum(_count(item.get(key)) for item in rounds):,}" for key in _ROUND_KEYS]
    costs = [_number(item.get("cost_usd")) for item in rounds]
    known = [cost for cost in costs if cost is not None]
    total_cost = _dollars(round(sum(known), 6) if known else None, len(known) == len(costs))
    rows.append(_row(["total", *totals, _e(total_cost), ""], _ROUND_NUMBERS, css="total"))
    return _table(["round", *_ROUND_KEYS, "cost_usd", "batch ids"], rows, _ROUND_NUMBERS)


def _tasks_table(tasks: list[Mapping[str, Any]]) -> str:
    if not tasks:
        return "<p>No tasks.</p>"
    heads = "".join(
        f'<th data-key="{key}"{" data-type=num class=num" if numeric else ""} aria-sort="none">'
        f'<button type="button">{_e(title)}</button></th>'
        for key, title, numeric in _TASK_COLUMNS
    )
    rows = "".join(_task_row(index, task) for index, task in enumerate(tasks))
    return f'<table id="tasks" class="sortable"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'


def _task_row(index: int, task: Mapping[str, Any]) -> str:
    """One task: each cell holds its sort value (`data-v`) beside what it shows."""
    cells = _task_cells(task)
    tds = "".join(
        f'<td data-v="{_e(value)}"{" class=num" if numeric else ""}>{markup}</td>'
        for (value, markup), (_key, _title, numeric) in zip(cells, _TASK_COLUMNS, strict=True)
    )
    return f'<tr data-i="{index}">{tds}</tr>'


def _task_cells(task: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(sort value, markup) of each column of _TASK_COLUMNS."""
    name, agent, status = _text(task.get("id")), _text(task.get("agent")), _text(task.get("status")) or "?"
    calls, sent = _count(task.get("calls")), _count(task.get("input_tokens"))
    received = _count(task.get("output_tokens"))
    cost, run_id = _number(task.get("cost_usd")), _text(task.get("run_id"))
    brief, error = _line(_text(task.get("task")), 120), _text(task.get("error"))
    said = f'<div class="brief">{_e(brief)}</div>'
    said += f'<div class="err">{_e(_line(error, 300))}</div>' if error else ""
    return [
        (name, f"<code>{_e(name)}</code>"),
        (agent, _e(agent)),
        (status, _badge(status)),
        (str(calls), f"{calls:,}"),
        (str(sent + received), f'<span title="{sent:,} in / {received:,} out">{sent + received:,}</span>'),
        ("" if cost is None else repr(cost), _e(_dollars(cost))),
        (run_id, f"<code>{_e(run_id)}</code>" if run_id else "-"),
        (brief, said),
    ]


# --- writing ---------------------------------------------------------------------------------------


def write_report(path: Path, page: str, force: bool = False) -> int:
    """Write `page` at `path`, the file the user named, and nowhere else; the bytes written.

    A new file is created in one step (never over one that appears meanwhile). An existing file is
    replaced only with `force`, only if it is a regular file with write permission, and in one step:
    a symlink is refused rather than followed or replaced, as are folders, devices and FIFOs."""
    data = page.encode("utf-8")
    try:
        info: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise _cannot_write(path, error) from None
    if info is not None:
        _check_replaceable(path, info, force)
    try:
        if info is None:
            _create(path, data)
        else:
            from agentctl.fsutil import atomic_write_bytes

            atomic_write_bytes(path, data)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as error:
        raise _cannot_write(path, error) from None
    return len(data)


def _create(path: Path, data: bytes) -> None:
    from agentctl.fsutil import atomic_create_text

    atomic_create_text(path, data.decode("utf-8"))


def _check_replaceable(path: Path, info: os.stat_result, force: bool) -> None:
    from agentctl.fsutil import file_kind, is_read_only

    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} is {file_kind(info.st_mode)}", hint="pass -o the name of a new or regular file")
    if not force:
        raise _exists(path)
    if is_read_only(path, info):
        raise UsageError(f"{path} is read-only", hint="it was marked so on purpose: pass -o another name")


def _exists(path: Path) -> UsageError:
    return UsageError(f"{path} exists", hint="pass --force to replace it, or -o another name")


def _cannot_write(path: Path, error: OSError) -> UsageError:
    reason = error.strerror or os.strerror(error.errno or errno.EIO)
    return UsageError(f"cannot write {path}: {reason}", hint="pass -o a file in a folder that exists and you can write")


# --- style and scripts -----------------------------------------------------------------------------

_CSS = """
:root{--fg:#1d232b;--dim:#5f6b78;--line:#dfe3e8;--bg:#fff;--panel:#f6f8fa;--fresh:#3867d6;--handoff:#20a39e;
--cont:#7950c8;--good:#2f9e44;--bad:#d6336c;--warn:#e8890c;--muted:#8a94a0;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
@media (prefers-color-scheme:dark){:root{--fg:#e3e7ec;--dim:#9aa5b1;--line:#333b45;--bg:#15191e;--panel:#1d232a}}
body{margin:0}main{max-width:1180px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 10px}h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:0 0 6px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
section{margin:18px 0;padding:14px 16px;border:1px solid var(--line);border-radius:8px}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0 0 10px}.facts dt{color:var(--dim);font-size:12px}
.facts dd{margin:0;font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
pre.task{background:var(--panel);padding:8px 10px;border-radius:6px;max-height:9em;overflow:auto}
pre.answer{background:var(--panel);padding:12px 14px;border-radius:6px;max-height:40em;overflow:auto}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;color:#fff;
background:var(--muted);vertical-align:middle}
.badge.t-good{background:var(--good)}.badge.t-bad{background:var(--bad)}.badge.t-warn{background:var(--warn)}
.outcome.t-good{border-left:4px solid var(--good)}.outcome.t-bad{border-left:4px solid var(--bad)}
.outcome.t-warn{border-left:4px solid var(--warn)}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:var(--dim);font-weight:600;border-bottom:1px solid var(--line)}.num{text-align:right}
tr.total td{border-top:1px solid var(--line);font-weight:600}
.pair{display:flex;flex-wrap:wrap;gap:16px 40px}
svg.meter{width:90px;height:6px;vertical-align:middle}.meter .track{fill:var(--line)}
.meter .fill{fill:var(--good)}.meter .fill.t-warn{fill:var(--warn)}.meter .fill.t-bad{fill:var(--bad)}
.meter .fill.share{fill:var(--fresh)}
.tree,.tree ul{list-style:none;margin:0;padding-left:18px}.tree{padding-left:0}
.tree ul{border-left:1px solid var(--line);margin-left:6px}.tree li{margin:4px 0}
.tree li:target>.node{background:#fff3bf;color:#1d232b}
.mode,.dim{color:var(--dim);font-size:12px}.brief{color:var(--dim);margin-left:2px}
.err{color:var(--bad)}.not-run{opacity:.8}ul.plain{margin:0;padding-left:18px}
.timeline{width:100%;overflow-x:auto}
#timeline text{font-size:12px;fill:var(--fg)}#timeline .tick-label{fill:var(--dim);font-size:11px}
#timeline .tick{stroke:var(--line)}#timeline .sep{stroke:var(--line)}
#timeline .bar-label{font-size:11px;fill:#fff;pointer-events:none}#timeline .bar-label.out{fill:var(--dim)}
#timeline .link{fill:none;stroke:var(--muted);stroke-width:1.2;stroke-dasharray:3 2}
.m-fresh{fill:var(--fresh);background:var(--fresh)}.m-handoff{fill:var(--handoff);background:var(--handoff)}
.m-continuation{fill:var(--cont);background:var(--cont)}.m-other{fill:var(--muted)}
rect.bar.t-bad,.key.t-bad{fill:var(--bad);background:var(--bad)}
rect.bar.t-warn,.key.t-warn{fill:var(--warn);background:var(--warn)}rect.bar.open{opacity:.55}
rect.bar.t-muted{opacity:.6}
.wait{fill:none;stroke:var(--muted);stroke-dasharray:4 3}
.legend{font-size:12px;color:var(--dim);margin:6px 0 0}
.key{display:inline-block;width:12px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:middle}
.key.wait{border:1px dashed var(--muted);background:none}
table.sortable th button{font:inherit;color:inherit;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
table.sortable td{border-bottom:1px solid var(--line);white-space:nowrap}
table.sortable td:last-child{white-space:normal}table.sortable th{white-space:nowrap}
footer{color:var(--dim);font-size:12px;margin-top:24px}
"""

# Draws the timeline from the JSON block: rows per agent, one bar per call, dashed boxes where a
# continuation waited for its handoffs, dashed links from a requester to its delegates. Geometry is
# computed here, not in Python, so the chart fits the window it is opened in (and redraws on resize).
_RUN_SCRIPT = """
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg", LABEL = 170, ROW = 28, TOP = 28, BAR = 18;
  var source = document.getElementById("timeline-data");
  var holder = document.getElementById("timeline-holder");
  if (!source || !holder) return;
  var data = JSON.parse(source.textContent);
  function add(parent, name, attrs, text) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  function duration(ms) {
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 120000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
    var s = Math.round(ms / 1000);
    return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  }
  function tickStep(span, pixels) {
    var raw = span / Math.max(1, Math.floor(pixels / 90));
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return steps[i] * power;
    return 10 * power;
  }
  function draw() {
    while (holder.firstChild) holder.removeChild(holder.firstChild);
    var width = Math.max(560, holder.clientWidth), plot = width - LABEL - 16;
    var height = TOP + data.rows.length * ROW + 6, span = Math.max(data.span_ms, 1);
    var x = function (ms) { return LABEL + ms / span * plot; };
    var mid = function (row) { return TOP + row * ROW + ROW / 2; };
    var svg = add(holder, "svg", {id: "timeline", width: width, height: height, role: "img",
      "aria-label": "Timeline: one bar per call, one row per agent"});
    var step = tickStep(span, plot);
    for (var t = 0; t <= span * 1.0001; t += step) {
      add(svg, "line", {"class": "tick", x1: x(t), x2: x(t), y1: TOP - 6, y2: height});
      add(svg, "text", {"class": "tick-label", x: x(t), y: TOP - 10, "text-anchor": "middle"}, duration(t));
    }
    data.rows.forEach(function (row, i) {
      if (!row.first) return;
      add(svg, "line", {"class": "sep", x1: 0, x2: width, y1: TOP + i * ROW, y2: TOP + i * ROW});
      add(svg, "text", {"class": "agent", x: 4, y: mid(i) + 4}, row.agent);
    });
    data.waits.forEach(function (wait) {
      var box = add(svg, "rect", {"class": "wait", x: x(wait.start), y: mid(wait.row) - BAR / 2 + 2,
        width: Math.max(1, x(wait.end) - x(wait.start)), height: BAR - 4, rx: 3});
      add(box, "title", {}, wait.title);
    });
    data.links.forEach(function (link) {
      var x1 = x(link.from), y1 = mid(link.from_row), x2 = x(link.to), y2 = mid(link.to_row), c = (x1 + x2) / 2;
      add(svg, "path", {"class": "link", d: "M" + x1 + " " + y1 + " C" + c + " " + y1 + " " + c + " " + y2 +
        " " + x2 + " " + y2});
    });
    data.bars.forEach(function (bar) {
      var link = add(svg, "a", {href: "#call-" + bar.n});
      var left = x(bar.start), w = Math.max(3, x(bar.end) - left), y = mid(bar.row) - BAR / 2;
      var rect = add(link, "rect", {"class": "bar m-" + bar.mode + " t-" + bar.tone + (bar.open ? " open" : ""),
        x: left, y: y, width: w, height: BAR, rx: 3});
      add(rect, "title", {}, bar.title);
      var inside = w > bar.label.length * 7 + 8;
      add(link, "text", {"class": "bar-label" + (inside ? "" : " out"), x: inside ? left + 5 : left + w + 4,
        y: y + BAR / 2 + 4}, bar.label);
    });
  }
  draw();
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  });
})();
"""

# Sorts the tasks table: click a header (again to reverse), or open the page at #sort=<key>-<asc|desc>.
# Empty cells sort last either way; equal ones keep the batch's order.
_BATCH_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("tasks");
  if (!table) return;
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells;
  function cell(row, index, numeric) {
    var value = row.cells[index].getAttribute("data-v");
    if (!numeric) return value || "";
    return value === "" || value === null ? null : Number(value);
  }
  function sortBy(key, direction) {
    var index = -1, numeric = false;
    for (var i = 0; i < heads.length; i++) {
      var mine = heads[i].getAttribute("data-key") === key;
      heads[i].setAttribute("aria-sort", mine ? (direction === "desc" ? "descending" : "ascending") : "none");
      if (mine) { index = i; numeric = heads[i].getAttribute("data-type") === "num"; }
    }
    if (index < 0) return;
    var sign = direction === "desc" ? -1 : 1, rows = Array.prototype.slice.call(body.rows);
    var order = function (row) { return Number(row.getAttribute("data-i")); };
    rows.sort(function (a, b) {
      var p = cell(a, index, numeric), q = cell(b, index, numeric);
      if (p === null || q === null) return p === q ? order(a) - order(b) : (p === null ? 1 : -1);
      var c = numeric ? p - q : p.localeCompare(q, undefined, {numeric: true});
      return c ? sign * c : order(a) - order(b);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.setAttribute("data-sorted", key + "-" + direction);
  }
  function fromAddress() {
    var match = /^#sort=([a-z_]+)-(asc|desc)$/.exec(window.location.hash);
    if (match) sortBy(match[1], match[2]);
  }
  Array.prototype.forEach.call(heads, function (head) {
    head.querySelector("button").addEventListener("click", function () {
      var key = head.getAttribute("data-key");
      var direction = head.getAttribute("aria-sort") === "ascending" ? "desc" : "asc";
      sortBy(key, direction);
      try { window.history.replaceState(null, "", "#sort=" + key + "-" + direction); } catch (error) {}
    });
  });
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
"""
