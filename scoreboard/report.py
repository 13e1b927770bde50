"""`drill report`: one self-contained HTML file with the run's charts, scorecard and timeline.

Charts are inline SVG drawn here (no plotting library, no script, nothing fetched): latency
percentiles, error rate and each replica's share over the run, with the milestones as
labelled markers. Each series is a <polyline data-series=...> so a test can count points.
"""

from __future__ import annotations

from html import escape
from typing import Any

from drills.definition import Drill
from scoreboard.postmortem import timeline_events
from scoreboard.scoring import Scorecard
from scoreboard.store import RunRow
from scoreboard.timeline import Event, line

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 900, 260, 60, 20, 30, 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MARKED = ("fault_injected", "alert_fired", "acknowledged", "diagnosed", "mitigated", "resolved", "timeout", "aborted")
LABEL_GAP = 12.0  # px between vertical marker labels: the 11px font's line height
Series = dict[str, list[tuple[float, float]]]


def chart(name: str, title: str, series: Series, markers: list[tuple[float, str]], unit: str, x_max: float) -> str:
    values = [y for points in series.values() for _, y in points]
    y_max = max([*values, 1e-9]) * 1.1
    x_max = max(x_max, 1.0)

    def x(v: float) -> float:
        return round(PAD_L + (WIDTH - PAD_L - PAD_R) * v / x_max, 1)

    def y(v: float) -> float:
        return round(HEIGHT - PAD_B - (HEIGHT - PAD_T - PAD_B) * v / y_max, 1)

    parts = [
        f'<svg class="chart" data-chart="{name}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="18" class="title">{escape(title)}</text>',
        f'<line x1="{PAD_L}" y1="{HEIGHT - PAD_B}" x2="{WIDTH - PAD_R}" y2="{HEIGHT - PAD_B}" class="axis"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{HEIGHT - PAD_B}" class="axis"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y(value) + 4}" class="tick" text-anchor="end">{value:.3g}{unit}</text>'
        )
    for i in range(6):
        value = x_max * i / 5
        parts.append(
            f'<text x="{x(value)}" y="{HEIGHT - PAD_B + 16}" class="tick" text-anchor="middle">{value:.0f}s</text>'
        )
    label_xs = label_positions([x(offset) + 3 for offset, _ in markers])
    for (offset, label), lx in zip(markers, label_xs, strict=True):
        parts.append(
            f'<line x1="{x(offset)}" y1="{PAD_T}" x2="{x(offset)}" y2="{HEIGHT - PAD_B}" class="marker" '
            f'data-marker="{escape(label)}"/><text x="{lx}" y="{PAD_T + 10}" class="marker-label" '
            f'transform="rotate(90 {lx} {PAD_T + 10})">{escape(label)}</text>'
        )
    for i, (label, points) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{x(px)},{y(py)}" for px, py in points)
        parts.append(
            f'<polyline data-series="{escape(label)}" points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="1.6"/>'
        )
        parts.append(
            f'<text x="{WIDTH - PAD_R - 110 * (len(series) - i)}" y="18" fill="{colour}" class="legend">'
            f"&#9632; {escape(label)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def label_positions(wanted: list[float], gap: float = LABEL_GAP) -> list[float]:
    """Where each vertical marker label goes: at its marker, or just right of the previous label.

    Milestones a second apart (alert, ack and diagnosis by the autopilot) would otherwise print
    their labels on top of each other. `wanted` is in the markers' order, which is time order.
    """
    placed: list[float] = []
    for want in wanted:
        placed.append(round(max(want, placed[-1] + gap), 1) if placed else want)
    return placed


def charts(slis: list[tuple[float, dict[str, Any]]], events: list[Event]) -> list[str]:
    markers = [(e.offset_s, e.event.replace("_", " ")) for e in timeline_events(events) if e.event in MARKED]
    x_max = max([offset for offset, _ in slis] + [e.offset_s for e in events] + [1.0])
    latency: Series = {f"{p} ms": [(t, float(d.get(p, 0.0))) for t, d in slis] for p in ("p50", "p95", "p99")}
    errors: Series = {"error rate %": [(t, 100 * float(d.get("error_rate", 0.0))) for t, d in slis]}
    replicas = sorted({name for _, d in slis for name in (d.get("shares") or {})})
    shares: Series = {
        name: [(t, 100 * float((d.get("shares") or {}).get(name, 0.0))) for t, d in slis] for name in replicas
    }
    return [
        chart("latency", "Latency percentiles (ms), client side", latency, markers, "", x_max),
        chart("errors", "Error rate (% of requests in the window)", errors, markers, "%", x_max),
        chart("shares", "Each replica's share of traffic (%)", shares, markers, "%", x_max),
    ]


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
.chart { display: block; margin: 1rem 0; background: #fafafa; border: 1px solid #ddd; }
.title { font-size: 14px; font-weight: 600; } .tick, .legend, .marker-label { font-size: 11px; }
.axis { stroke: #555; } .marker { stroke: #999; stroke-dasharray: 4 3; } .marker-label { fill: #555; }
pre { background: #f4f4f4; padding: 0.8rem; overflow-x: auto; } li { margin: 0.2rem 0; }
"""


def _item(event: Event) -> str:
    text = line(event).removeprefix("- ")
    stamp, _, rest = text.partition(":** ")
    return f"<li><b>{escape(stamp.removeprefix('**'))}:</b> {escape(rest)}</li>"


def page(
    row: RunRow, drill: Drill, events: list[Event], card: Scorecard, slis: list[tuple[float, dict[str, Any]]]
) -> str:
    items = "\n".join(_item(e) for e in timeline_events(events))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(drill.title)} run {escape(row.run_id)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(drill.title)}: run {escape(row.run_id)}</h1>
<p>Team <b>{escape(row.team)}</b>, game day {escape(row.gameday)}, seed {row.seed}, fault
<code>{escape(row.fault)}</code>, outcome <b>{escape(row.outcome or "running")}</b>, {card.points:g} points.</p>
<h2>Charts</h2>
{"".join(charts(slis, events))}
<h2>Scorecard</h2>
<pre>{escape(chr(10).join(card.lines))}</pre>
<h2>Timeline</h2>
<ul>
{items}
</ul>
</body></html>
"""
