"""Charts drawn on the server as SVG (no chart library, nothing fetched: the views work offline).

The team and facilitator views' charts are the report's (scoreboard.report.charts) over the
live history; the room view's sparklines are two small polylines.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drills.rules import AlertRule
from scoreboard.report import COLOURS, charts
from scoreboard.timeline import Event

SPARK_W, SPARK_H = 160, 36


def sparkline(points: list[dict[str, Any]], p95_ms: float) -> str:
    """p95 (blue, scaled to twice the SLO) and the error rate (vermillion, 0..100%) over the last
    minutes, in the report's colour-blind-safe palette."""
    if not points:
        return f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" xmlns="http://www.w3.org/2000/svg"></svg>'
    t0, t1 = points[0]["t"], max(points[-1]["t"], points[0]["t"] + 1)

    def line(key: str, top: float) -> str:
        xy = []
        for p in points:
            x = (p["t"] - t0) / (t1 - t0) * (SPARK_W - 2) + 1
            y = SPARK_H - 1 - min(float(p[key]) / top, 1.0) * (SPARK_H - 2)
            xy.append(f"{x:.1f},{y:.1f}")
        return " ".join(xy)

    return (
        f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline data-series="p95" fill="none" stroke="{COLOURS[0]}" points="{line("p95", 2 * p95_ms)}"/>'
        f'<polyline data-series="errors" fill="none" stroke="{COLOURS[1]}" points="{line("errors", 1.0)}"/></svg>'
    )


def team_charts(view: dict[str, Any], rules: tuple[AlertRule, ...] | list[AlertRule] = ()) -> list[str]:
    """The report's charts (scoreboard.report.charts) over the live history: UTC clock axis at
    round steps, the drill's alert thresholds, firing spans shaded, each alert named in its
    marker, nothing before traffic. Only what the view already shows is drawn: a team's view
    has no fault marker until the room's end, the facilitator's has it from the start."""
    started = view.get("started_at")
    start = datetime.fromisoformat(started) if started else datetime(1970, 1, 1, tzinfo=UTC)
    slis = [
        (
            float(h["t"]),
            {
                "p50": h["p50"],
                "p95": h["p95"],
                "p99": h["p99"],
                "error_rate": h["errors"],
                "shares": h["shares"],
                "rate": h.get("rate", 1.0),
                "audience_affected": h.get("affected", 0.0),
                "rebuffering": h.get("rebuffering", 0.0),
            },
        )
        for h in view["history"]
    ]
    events = [
        Event(
            i,
            e["event"],
            (start + timedelta(seconds=float(e["offset_s"]))).isoformat(),
            float(e["offset_s"]),
            e.get("by", ""),
            e.get("detail", ""),
            {"rule": e["rule"]} if "rule" in e else {},
        )
        for i, e in enumerate(view.get("timeline", []))
    ]
    if not started:  # no event yet: no clock to read, only the elapsed axis
        events = []
    return charts(slis, events, list(rules))
