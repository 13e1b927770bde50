"""Charts drawn on the server as SVG (no chart library, nothing fetched: the views work offline).

The team view's charts are the report's (scoreboard.report.chart) over the live history, with
the recovery thresholds as flat series; the room view's sparklines are two small polylines.
"""

from __future__ import annotations

from typing import Any

from scoreboard.report import Series, chart

SPARK_W, SPARK_H = 160, 36


def sparkline(points: list[dict[str, Any]], p95_ms: float) -> str:
    """p95 (blue, scaled to twice the SLO) and the error rate (red, 0..100%) over the last minutes."""
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
        f'<polyline data-series="p95" fill="none" stroke="#1f77b4" points="{line("p95", 2 * p95_ms)}"/>'
        f'<polyline data-series="errors" fill="none" stroke="#d62728" points="{line("errors", 1.0)}"/></svg>'
    )


def team_charts(view: dict[str, Any]) -> list[str]:
    history: list[dict[str, Any]] = view["history"]
    limits = view["thresholds"]
    x_max = max([h["t"] for h in history] + [view["elapsed_s"], 1.0])
    span = [(0.0, 1.0), (x_max, 1.0)]
    markers = [(t, name.replace("_", " ")) for name, t in sorted(view["milestones"].items(), key=lambda m: m[1])]
    latency: Series = {f"{p} ms": [(h["t"], float(h[p])) for h in history] for p in ("p50", "p95", "p99")}
    latency["p95 SLO"] = [(t, limits["p95_ms"] * v) for t, v in span]
    errors: Series = {"error rate %": [(h["t"], 100 * float(h["errors"])) for h in history]}
    errors["SLO %"] = [(t, 100 * limits["error_rate"] * v) for t, v in span]
    replicas = sorted({name for h in history for name in h["shares"]})
    shares: Series = {r: [(h["t"], 100 * float(h["shares"].get(r, 0.0))) for h in history] for r in replicas}
    if replicas:  # the fair share, and how far from it recovery allows
        fair = 100 / len(replicas)
        shares["fair share"] = [(t, fair * v) for t, v in span]
        shares["fair + allowed skew"] = [(t, (fair + 100 * limits["max_share_skew"]) * v) for t, v in span]
    return [
        chart("latency", "Latency percentiles (ms)", latency, markers, "", x_max),
        chart("errors", "Error rate (%)", errors, markers, "%", x_max),
        chart("shares", "Each replica's share of traffic (%)", shares, markers, "%", x_max),
    ]
