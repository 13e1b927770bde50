"""Terminal and JSON renderings of a finished run: timeline, scorecard, reference comparison."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drills.definition import Drill
from scoreboard.scoring import Scorecard
from scoreboard.store import RunRow, Store
from scoreboard.timeline import Event, line, milestones, public


def duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def reference_span(drill: Drill) -> float | None:
    """Seconds from the reference timeline's first alert to its resolution (HH:MM)."""

    def minutes(at: str) -> int:
        hours, _, mins = at.partition(":")
        return int(hours) * 60 + int(mins or 0)

    alert = next((r for r in drill.reference if r.event == "alert_fired"), None)
    done = next((r for r in reversed(drill.reference) if r.event == "resolved"), None)
    if alert is None or done is None:
        return None
    return float((minutes(done.at) - minutes(alert.at)) * 60)


def comparison(drill: Drill, events: list[Event]) -> str:
    original = reference_span(drill)
    marks = milestones(events)
    if original is None:
        return ""
    if marks.alert_fired is None or marks.resolved is None:
        return f"the original took {duration(original)} from alert to normal; this run did not get there"
    ours = max(marks.resolved - marks.alert_fired, 1.0)
    return (
        f"from alert to resolved: {duration(ours)}; the original took {duration(original)} "
        f"({original / ours:.0f}x as long)"
    )


def text(row: RunRow, drill: Drill, events: list[Event], card: Scorecard, outcome: str) -> str:
    out = [f"# {drill.title}: run {row.run_id} ({row.team}), {outcome}", "", "## Timeline"]
    out += [line(e) for e in public(events)]
    out += ["", "## Scorecard"] + [f"    {entry}" for entry in card.lines]
    compared = comparison(drill, events)
    if compared:
        out += ["", "## Against the reference", compared]
    return "\n".join(out)


def as_json(row: RunRow, events: list[Event], card: Scorecard, outcome: str) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "drill": row.drill,
        "team": row.team,
        "seed": row.seed,
        "fault": row.fault,
        "outcome": outcome,
        "timeline": [e.as_dict() for e in public(events)],
        "scores": card.as_dict(),
    }


def describe_active(store: Store, row: RunRow) -> str:
    """A responder's view of a running drill: no word of the fault or when it landed."""
    events = store.events(row.run_id)
    firing: dict[str, bool] = {}
    for e in events:
        if e.event in ("alert_fired", "alert_cleared"):
            firing[str(e.data.get("rule", e.detail))] = e.event == "alert_fired"
    alerts = ", ".join(name for name, on in firing.items() if on) or "none"
    elapsed = (store.clock.utc() - datetime.fromisoformat(row.started)).total_seconds()
    last = [e for e in events if e.event not in ("fault_injected", "fault_reverted", "resolve_requested")][-1:]
    latest = f"; latest: {last[0].event} ({last[0].by})" if last else ""
    return f"drill {row.drill}, team {row.team}, {duration(elapsed)} in; alerts firing: {alerts}{latest}"
