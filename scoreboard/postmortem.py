"""`drill postmortem`: the reference postmortem's sections, drafted from the run's facts only.

Every sentence comes from the stored timeline, the drill's definition or its playbook: the
fault as injected, what the monitor and the responders recorded, how the fix was observed.
Nothing is invented; a milestone that never happened says so.
"""

from __future__ import annotations

from datetime import datetime

from drills.definition import Drill
from scoreboard.render import comparison, duration
from scoreboard.scoring import Scorecard
from scoreboard.store import RunRow
from scoreboard.timeline import PUBLIC, Event, first, line, milestones

TIMELINE_EVENTS = PUBLIC - {"fault_reverted"}  # the postmortem tells the revert in its own words


def timeline_events(events: list[Event]) -> list[Event]:
    """The events the postmortem's timeline lists, one line each, in order."""
    return [e for e in sorted(events, key=lambda e: (e.offset_s, e.id)) if e.event in TIMELINE_EVENTS]


def _clock(event: Event | None) -> str:
    return datetime.fromisoformat(event.at).strftime("%B %d, %Y, %H:%M:%S") if event else "never"


def draft(row: RunRow, drill: Drill, events: list[Event], card: Scorecard, measures: str = "") -> str:
    """`measures`: the playbook's "Corrective and preventative measures" section, if it has one."""
    injected = first(events, "fault_injected")
    end = next((e for e in reversed(events) if e.event in ("resolved", "timeout", "aborted")), None)
    marks = milestones(events)
    facts = dict(injected.data) if injected else {}
    if injected and not facts.get("summary"):  # runs recorded before the summary was kept
        facts["summary"] = injected.detail.partition(": ")[2] or injected.detail
    span = f"{_clock(injected)} - {end.clock if end else 'not ended'} (UTC)"
    if injected and end:
        span += f", {duration(end.offset_s - injected.offset_s)}"
    impact = card.impact
    out = [
        f"# Postmortem: {drill.title} drill, run {row.run_id} ({row.team}, {row.gameday})",
        "",
        "## Issue Summary:",
        f"- **Duration:** {span}; outcome: {row.outcome or 'running'}.",
        f"- **Impact:** {impact['error_pct']:g}% of requests failed and {impact['audience_pct']:g}% of the simulated "
        f"audience had at least one failed or slow request (over {drill.rps:g} req/s from {drill.users} viewers).",
        f"- **Root Cause:** {_cause_line(facts)}",
        "",
        "## Timeline:",
        *[line(e) for e in timeline_events(events)],
        "",
        "## Root Cause and Resolution:",
        _root_cause(drill, events, facts, marks.mitigated is not None),
        "",
        "## Corrective and Preventative Measures:",
        *_measures(measures, facts),
        "",
        "## Scorecard:",
        *[f"    {entry}" for entry in card.lines],
    ]
    compared = comparison(drill, events)
    if compared:
        out += ["", f"Against the original outage: {compared}."]
    return "\n".join(out) + "\n"


def _cause_line(facts: dict[str, object]) -> str:
    if not facts:
        return "none: the run ended before drill injected its fault."
    return f"{facts.get('summary')} ({facts.get('fault')}, by {facts.get('route') or 'its default route'})."


def _root_cause(drill: Drill, events: list[Event], facts: dict[str, object], mitigated: bool) -> str:
    if not facts:
        return "The run ended before drill injected its fault: there was nothing to find or fix."
    cause = f"drill injected `{facts.get('fault', '?')}`: {facts.get('summary', '?')}."
    herrings = [e.data.get("category") for e in events if e.event == "hypothesis" and e.data.get("red_herring")]
    chased = f" Along the way the team suspected: {', '.join(str(h) for h in herrings)}." if herrings else ""
    diagnosed = first(events, "diagnosed")
    found = (
        f" {diagnosed.by} named the cause at {diagnosed.clock} UTC ({diagnosed.detail})."
        if diagnosed
        else " Nobody named the cause."
    )
    mitigation = first(events, "mitigated")
    if mitigated and mitigation is not None:
        fixed = f" drill observed recovery at {mitigation.clock} UTC: {mitigation.data.get('fix', 'fix not observed')}."
    else:
        fixed = " The service did not recover before the run ended; drill reverted the fault."
    return cause + chased + found + fixed


def _measures(text: str, facts: dict[str, object]) -> list[str]:
    lines = ["**From the playbook:**"]
    lines += [entry for entry in text.splitlines() if entry.strip()] or ["- (the drill's playbook lists none)"]
    findings = facts.get("audit")
    lines += ["", "**`drill audit` of the faulted balancer config:**"]
    if not isinstance(findings, list):
        lines.append("- not recorded for this run")
    elif not findings:
        lines.append("- no findings: the fault did not change the config (a runtime-API or container fault)")
    else:
        lines += [f"- {finding}" for finding in findings]
    return lines


def metadata(row: RunRow, card: Scorecard) -> dict[str, object]:
    """What identifies a postmortem, for `drill postmortem --json`."""
    return {
        "run_id": row.run_id,
        "drill": row.drill,
        "team": row.team,
        "gameday": row.gameday,
        "fault": row.fault,
        "outcome": row.outcome,
        "started": row.started,
        "ended": row.ended,
        "points": card.points,
    }
