"""`drill report`: one self-contained HTML file with the run's charts, scorecard and timeline.

Charts are inline SVG drawn here (no plotting library, no script, nothing fetched), read like
Grafana's: latency percentiles, error rate, viewers affected and rebuffering, and each replica's
share, from when traffic starts; the x axis in UTC clock time, round-number ticks, the alert
rules' thresholds as dashed lines, alert-firing spans shaded, milestones (which alert fired,
the fault's revert) as labelled markers, the Okabe-Ito palette. Each series is a
<polyline data-series=...> so a test can count points.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from drills.definition import Drill
from drills.rules import AlertRule
from scoreboard.postmortem import timeline_events
from scoreboard.render import comparison
from scoreboard.scoring import Scorecard
from scoreboard.store import RunRow
from scoreboard.timeline import Event, line

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 900, 260, 60, 20, 30, 40
# Okabe and Ito's palette: told apart with any of the common colour-vision deficiencies
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MARKED = (
    "fault_injected",
    "alert_fired",
    "acknowledged",
    "diagnosed",
    "mitigated",
    "resolved",
    "fault_reverted",
    "timeout",
    "aborted",
)
LABEL_GAP = 12.0  # px between vertical marker labels: the 11px font's line height
CLOCK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
Series = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class Threshold:
    """An alert rule's line on a chart: its name, its value in the chart's unit."""

    label: str
    value: float


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round-number ticks from 0 to at least `high`: steps of 1, 2, 2.5 or 5 times a power of ten."""
    high = max(high, 1e-9)
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [round(i * step, 10) for i in range(math.ceil(high / step - 1e-9) + 1)]


def tick_label(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"
    return text + unit


def clock_ticks(x_min: float, x_max: float, count: int = 8) -> list[float]:
    """Round values (every 5 s, 10 s, 30 s, 1 min ...) between x_min and x_max: with x in epoch
    seconds, round clock times."""
    span = max(x_max - x_min, 1.0)
    step = next((s for s in CLOCK_STEPS_S if span / s <= count), CLOCK_STEPS_S[-1])
    first = math.ceil(x_min / step) * step
    return [float(v) for v in range(int(first), int(x_max) + 1, step)]


@dataclass(frozen=True)
class Frame:
    """A chart's plot area: maps offsets (seconds) and values to SVG coordinates."""

    x_min: float
    x_max: float
    y_max: float

    def x(self, v: float) -> float:
        return round(PAD_L + (WIDTH - PAD_L - PAD_R) * (v - self.x_min) / (self.x_max - self.x_min), 1)

    def y(self, v: float) -> float:
        return round(HEIGHT - PAD_B - (HEIGHT - PAD_T - PAD_B) * v / self.y_max, 1)


def chart(
    name: str,
    title: str,
    series: Series,
    markers: list[tuple[float, str]],
    unit: str,
    x_max: float,
    *,
    x_min: float = 0.0,
    start: datetime | None = None,
    thresholds: list[Threshold] | None = None,
    spans: list[tuple[float, float, str]] | None = None,
) -> str:
    """One chart. With `start` (the run's start, UTC) the x axis reads clock time at round
    steps; thresholds are dashed lines, `spans` (start, end, alert) shaded where an alert fired."""
    thresholds = thresholds or []
    values = [y for points in series.values() for _, y in points] + [t.value for t in thresholds]
    y_ticks = nice_ticks(max([*values, 1e-9]) * 1.05)
    frame = Frame(x_min, max(x_max, x_min + 1.0), y_ticks[-1])
    parts = [
        f'<svg class="chart" data-chart="{name}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="18" class="title">{escape(title)}</text>',
        *_spans(frame, spans or []),
        *_y_axis(frame, y_ticks, unit),
        *_x_axis(frame, start),
        *_threshold_lines(frame, thresholds),
        *_markers(frame, markers),
        *_series(frame, series),
        "</svg>",
    ]
    return "\n".join(parts)


def _spans(frame: Frame, spans: list[tuple[float, float, str]]) -> list[str]:
    parts = []
    for begin, end, rule in spans:
        lo, hi = max(begin, frame.x_min), min(end, frame.x_max)
        if hi > lo:
            parts.append(
                f'<rect x="{frame.x(lo)}" y="{PAD_T}" width="{round(frame.x(hi) - frame.x(lo), 1)}" '
                f'height="{HEIGHT - PAD_T - PAD_B}" '
                f'class="firing" data-firing="{escape(rule)}"><title>{escape(rule)} firing</title></rect>'
            )
    return parts


def _y_axis(frame: Frame, ticks: list[float], unit: str) -> list[str]:
    parts = []
    for value in ticks:
        y = frame.y(value)
        parts.append(f'<line x1="{PAD_L}" y1="{y}" x2="{WIDTH - PAD_R}" y2="{y}" class="grid"/>')
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4}" class="tick" text-anchor="end">{tick_label(value, unit)}</text>'
        )
    return [
        *parts,
        f'<line x1="{PAD_L}" y1="{HEIGHT - PAD_B}" x2="{WIDTH - PAD_R}" y2="{HEIGHT - PAD_B}" class="axis"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{HEIGHT - PAD_B}" class="axis"/>',
    ]


def _x_axis(frame: Frame, start: datetime | None) -> list[str]:
    """Ticks at round clock times (:00, :10, ...) whatever second the run began; seconds without a start."""
    below = HEIGHT - PAD_B + 16
    if start is None:
        return [
            f'<text x="{frame.x(value)}" y="{below}" class="tick" text-anchor="middle">{value:.0f}s</text>'
            for value in clock_ticks(frame.x_min, frame.x_max)
        ]
    epoch = start.timestamp()  # the clock at offset 0
    parts = [
        f'<text x="{frame.x(value - epoch)}" y="{below}" class="tick" text-anchor="middle">'
        f"{datetime.fromtimestamp(value, UTC):%H:%M:%S}</text>"
        for value in clock_ticks(frame.x_min + epoch, frame.x_max + epoch)
    ]
    return [*parts, f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 6}" class="tick" text-anchor="end">UTC</text>']


def _threshold_lines(frame: Frame, thresholds: list[Threshold]) -> list[str]:
    return [
        f'<line x1="{PAD_L}" y1="{frame.y(t.value)}" x2="{WIDTH - PAD_R}" y2="{frame.y(t.value)}" class="threshold" '
        f'data-threshold="{escape(t.label)}"/><text x="{WIDTH - PAD_R - 4}" y="{frame.y(t.value) - 4}" '
        f'class="threshold-label" text-anchor="end">{escape(t.label)}</text>'
        for t in thresholds
        if t.value <= frame.y_max
    ]


def _markers(frame: Frame, markers: list[tuple[float, str]]) -> list[str]:
    label_xs = label_positions([frame.x(offset) + 3 for offset, _ in markers])
    return [
        f'<line x1="{frame.x(offset)}" y1="{PAD_T}" x2="{frame.x(offset)}" y2="{HEIGHT - PAD_B}" class="marker" '
        f'data-marker="{escape(label)}"/><text x="{lx}" y="{PAD_T + 10}" class="marker-label" '
        f'transform="rotate(90 {lx} {PAD_T + 10})">{escape(label)}</text>'
        for (offset, label), lx in zip(markers, label_xs, strict=True)
    ]


def _series(frame: Frame, series: Series) -> list[str]:
    parts = []
    for i, (label, points) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{frame.x(px)},{frame.y(py)}" for px, py in points)
        parts.append(
            f'<polyline data-series="{escape(label)}" points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="1.6"/>'
        )
        parts.append(
            f'<text x="{WIDTH - PAD_R - 110 * (len(series) - i)}" y="18" fill="{colour}" class="legend">'
            f"&#9632; {escape(label)}</text>"
        )
    return parts


def label_positions(wanted: list[float], gap: float = LABEL_GAP) -> list[float]:
    """Where each vertical marker label goes: at its marker, or just right of the previous label.

    Milestones a second apart (alert, ack and diagnosis by the autopilot) would otherwise print
    their labels on top of each other. `wanted` is in the markers' order, which is time order.
    """
    placed: list[float] = []
    for want in wanted:
        placed.append(round(max(want, placed[-1] + gap), 1) if placed else want)
    return placed


def run_start(events: list[Event]) -> datetime | None:
    """The run's clock at offset 0, from any event's UTC time and offset."""
    for e in events:
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(e.at)
            return (at if at.tzinfo else at.replace(tzinfo=UTC)) - timedelta(seconds=e.offset_s)
    return None


def firing_spans(events: list[Event], end: float) -> list[tuple[float, float, str]]:
    """(start, end, rule) of every time an alert fired, up to its clear (or `end`)."""
    spans: list[tuple[float, float, str]] = []
    open_at: dict[str, float] = {}
    for e in events:
        rule = str(e.data.get("rule", e.detail))
        if e.event == "alert_fired":
            open_at.setdefault(rule, e.offset_s)
        elif e.event == "alert_cleared" and rule in open_at:
            spans.append((open_at.pop(rule), e.offset_s, rule))
    spans += [(at, end, rule) for rule, at in open_at.items()]
    return sorted(spans)


def marker_label(e: Event) -> str:
    label = e.event.replace("_", " ")
    if e.event == "alert_fired":
        return f"{label}: {e.data.get('rule', e.detail)}"
    return label


def _thresholds(rules: list[AlertRule], sli: str, scale: float) -> list[Threshold]:
    return [Threshold(f"{r.name} {r.op} {r.threshold * scale:g}", r.threshold * scale) for r in rules if r.sli == sli]


def charts(
    slis: list[tuple[float, dict[str, Any]]], events: list[Event], rules: list[AlertRule] | None = None
) -> list[str]:
    rules = rules or []
    slis = [(t, d) for t, d in slis if float(d.get("rate", 1.0)) > 0] or slis  # nothing before traffic starts
    markers = [(e.offset_s, marker_label(e)) for e in timeline_events(events) if e.event in MARKED]
    x_max = max([offset for offset, _ in slis] + [e.offset_s for e in events] + [1.0])
    x_min = min([offset for offset, _ in slis] + [x_max - 1.0])
    markers = [(at, label) for at, label in markers if at >= x_min]
    start, spans = run_start(events), firing_spans(events, x_max)

    def draw(name: str, title: str, series: Series, unit: str, thresholds: list[Threshold]) -> str:
        return chart(
            name, title, series, markers, unit, x_max, x_min=x_min, start=start, thresholds=thresholds, spans=spans
        )

    latency: Series = {f"{p} ms": [(t, float(d.get(p, 0.0))) for t, d in slis] for p in ("p50", "p95", "p99")}
    errors: Series = {"error rate %": [(t, 100 * float(d.get("error_rate", 0.0))) for t, d in slis]}
    audience: Series = {
        "viewers affected %": [(t, 100 * float(d.get("audience_affected", 0.0))) for t, d in slis],
        "rebuffering %": [(t, 100 * float(d.get("rebuffering", 0.0))) for t, d in slis],
    }
    replicas = sorted({name for _, d in slis for name in (d.get("shares") or {})})
    shares: Series = {
        name: [(t, 100 * float((d.get("shares") or {}).get(name, 0.0))) for t, d in slis] for name in replicas
    }
    return [
        draw("latency", "Latency percentiles (ms), client side", latency, "", _thresholds(rules, "p95_latency_ms", 1)),
        draw("errors", "Error rate (% of requests in the window)", errors, "%", _thresholds(rules, "error_rate", 100)),
        draw(
            "audience",
            "Viewers stalled or gone; rebuffering (%)",
            audience,
            "%",
            _thresholds(rules, "audience_affected", 100),
        ),
        draw("shares", "Each replica's share of traffic (%)", shares, "%", []),
    ]


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
.chart { display: block; margin: 1rem 0; background: #fafafa; border: 1px solid #ddd; }
.title { font-size: 14px; font-weight: 600; } .tick, .legend, .marker-label { font-size: 11px; }
.axis { stroke: #555; } .marker { stroke: #999; stroke-dasharray: 4 3; } .marker-label { fill: #555; }
.grid { stroke: #e4e4e4; } .firing { fill: #D55E00; fill-opacity: 0.12; }
.threshold { stroke: #D55E00; stroke-dasharray: 6 4; } .threshold-label { font-size: 11px; fill: #D55E00; }
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
{"".join(charts(slis, events, list(drill.rules)))}
<h2>Against the original outage</h2>
<p>{escape(comparison(drill, events) or "The run did not reach both an alert and a resolution.")}</p>
<h2>Scorecard</h2>
<pre>{escape(chr(10).join(card.lines))}</pre>
<h2>Timeline</h2>
<ul>
{items}
</ul>
</body></html>
"""
