"""The scorecard: a pure function of a run's timeline and its drill's rubric.

Every line of the arithmetic is kept, so nobody has to trust an opaque number (Litmus's
users distrust theirs). Phase times: detect, diagnose, mitigate and resolve count from
the fault's injection; acknowledge counts from the first alert, as a pager's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drills.definition import Rubric
from scoreboard.timeline import Event, count, milestones, outcome

PHASES = (
    ("detect", "alert_fired"),
    ("acknowledge", "acknowledged"),
    ("diagnose", "diagnosed"),
    ("mitigate", "mitigated"),
    ("resolve", "resolved"),
)


@dataclass(frozen=True)
class Scorecard:
    times: dict[str, float | None]  # tt_detect_s ... tt_resolve_s
    hints: int
    red_herrings: int
    premature: int
    impact: dict[str, float]
    lines: tuple[str, ...]
    points: float

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.times,
            "hints": self.hints,
            "red_herrings": self.red_herrings,
            "premature_resolves": self.premature,
            "impact": self.impact,
            "points": self.points,
        }


def linear(seconds: float | None, points: float, full_s: float, zero_s: float) -> float:
    """Full points up to full_s, falling linearly to none at zero_s; none if it never happened."""
    if seconds is None:
        return 0.0
    if seconds <= full_s:
        return points
    if seconds >= zero_s:
        return 0.0
    return round(points * (zero_s - seconds) / (zero_s - full_s), 1)


def score(events: list[Event], rubric: Rubric) -> Scorecard:
    marks = milestones(events)
    times: dict[str, float | None] = {}
    lines: list[str] = []
    total = 0.0
    for phase, milestone in PHASES:
        seconds = marks.since_fault(milestone)
        if phase == "acknowledge" and seconds is not None:
            seconds = _ack_after_alert(seconds, marks.since_fault("alert_fired"))
        times[f"tt_{phase}_s"] = seconds
        rule = rubric.phases[phase]
        got = linear(seconds, rule.points, rule.full_s, rule.zero_s)
        total += got
        when = "never" if seconds is None else f"{seconds:g}s"
        lines.append(
            f"{phase:<12} {when:>8}  {got:+7.1f}  ({rule.points:g} if <= {rule.full_s:g}s, 0 at >= {rule.zero_s:g}s)"
        )
    hint_cost = sum(float(e.data.get("cost", 0)) for e in events if e.event == "hint")
    hints = count(events, "hint")
    herrings = sum(1 for e in events if e.event == "hypothesis" and e.data.get("red_herring"))
    premature = count(events, "premature_resolve")
    for label, amount in (
        (f"hints        {hints} taken", -hint_cost),
        (f"red herrings {herrings} x {rubric.red_herring_cost:g}", -herrings * rubric.red_herring_cost),
        (f"premature    {premature} x {rubric.premature_resolve_cost:g}", -premature * rubric.premature_resolve_cost),
    ):
        total += amount
        lines.append(f"{label:<22} {amount:+7.1f}")
    impact = _impact(events)
    penalty = round(
        impact["error_pct"] * rubric.impact_per_error_pct + impact["audience_pct"] * rubric.impact_per_audience_pct, 1
    )
    total -= penalty
    lines.append(
        f"impact       {impact['error_pct']:g}% requests failed x {rubric.impact_per_error_pct:g} + "
        f"{impact['audience_pct']:g}% audience affected x {rubric.impact_per_audience_pct:g}  {-penalty:+7.1f}"
    )
    restarted = count(events, "balancer_restarted") > 0
    bonus = rubric.no_restart_bonus if outcome(events) == "resolved" and not restarted else 0.0
    total += bonus
    lines.append(f"no-downtime  {'balancer restarted' if restarted else 'no balancer restart'}  {bonus:+7.1f}")
    points = round(max(total, 0.0), 1)
    lines.append(f"total        {points:g} points" + (" (floored at 0)" if total < 0 else ""))
    return Scorecard(times, hints, herrings, premature, impact, tuple(lines), points)


def _ack_after_alert(ack: float, alert: float | None) -> float | None:
    """Acknowledge time counts from the first alert, as a pager's does. A team that acknowledged
    after the fault but before any alert was already on it: that is 0 s, never a negative time."""
    if alert is None:
        return None
    return max(0.0, round(ack - alert, 1))


def _impact(events: list[Event]) -> dict[str, float]:
    """From the run's closing event: share of requests failed and of the audience affected."""
    final = next((e for e in reversed(events) if e.event in ("resolved", "timeout", "aborted")), None)
    data = final.data if final else {}
    return {
        "error_pct": round(100 * float(data.get("error_share", 0.0)), 1),
        "audience_pct": round(100 * float(data.get("audience_affected", 0.0)), 1),
    }
