"""Leaderboard, postmortem and report from stored runs: pure renderings of the timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import playbooks
from drills.loader import builtin_files, load_file
from playbooks.checks import CHECKS
from scoreboard import leaderboard, postmortem, report
from scoreboard.scoring import score
from scoreboard.store import RunRow, Store, open_store
from scoreboard.timeline import line

DRILL = load_file(builtin_files()["traffic-tango"], CHECKS)
MEASURES = playbooks.measures(DRILL.playbook, DRILL.source)


def row(run_id: str, team: str, points: float, resolve: float | None, gameday: str = "2026-Q4") -> RunRow:
    scores = {
        "points": points,
        "tt_detect_s": 5.0,
        "tt_acknowledge_s": 2.0,
        "tt_diagnose_s": 30.0,
        "tt_mitigate_s": 40.0,
        "tt_resolve_s": resolve,
    }
    return RunRow(
        run_id,
        "traffic-tango",
        "x.yaml",
        team,
        [],
        gameday,
        1,
        "lb.tango",
        "2026-11-24T14:00:00+00:00",
        "2026-11-24T14:10:00+00:00",
        "resolved" if resolve else "timeout",
        scores,
    )


def test_leaderboard_best_per_team_with_medians() -> None:
    rows = [
        row("a1", "red", 400, 60),
        row("a2", "red", 600, 50),
        row("a3", "red", 500, 70),
        row("b1", "blue", 650, 40),
        row("c1", "green", 600, 30),
        row("c2", "green", 0, None),
    ]
    board = leaderboard.leaderboard(rows)
    assert [s.team for s in board] == ["blue", "green", "red"]  # 650; 600 beats red's 600 on median resolve time
    red = board[2]
    assert (red.runs, red.best_points, red.median_points, red.best_run) == (3, 600, 500, "a2")
    assert red.medians["tt_resolve_s"] == 60 and board[1].resolved == 1


def test_trend_per_gameday_and_filters() -> None:
    rows = [
        row("a1", "red", 400, 90, "2026-Q2"),
        row("a2", "red", 500, 70, "2026-Q3"),
        row("a3", "red", 550, 50, "2026-Q3"),
        row("b1", "blue", 650, 40, "2026-Q3"),
    ]
    trend = leaderboard.trend(rows, "red")
    assert [(t["gameday"], t["runs"], t["tt_resolve_s"]) for t in trend] == [("2026-Q2", 1, 90), ("2026-Q3", 2, 60)]
    assert [r.run_id for r in leaderboard.select(rows, team="blue")] == ["b1"]
    assert [r.run_id for r in leaderboard.select(rows, gameday="2026-Q2")] == ["a1"]


def stored_run(tmp_path: Path) -> tuple[Store, RunRow]:
    store = open_store(tmp_path / "d.db", create=True)
    store.begin_run("abc123", DRILL.name, DRILL.source, "blue", ["ana"], "2026-Q4", 3, "lb.weights-skew")
    start = datetime.fromisoformat(store.run("abc123").started)
    script = [
        (0, "stack_ready", "drill", "", {}),
        (10, "baseline_ok", "drill", "", {}),
        (
            20,
            "fault_injected",
            "drill",
            "lb.weights-skew: app1 gets weight 100",
            {
                "fault": "lb.weights-skew",
                "summary": "app1 gets weight 100",
                "route": "config",
                "audit": ["haproxy.cfg:36: error [weights-skew] app1 has weight 100"],
            },
        ),
        (24, "alert_fired", "monitor", "errors", {"rule": "errors"}),
        (30, "acknowledged", "ana", "", {}),
        (40, "hypothesis", "ana", "database", {"category": "database", "red_herring": True}),
        (50, "note", "ana", "app1 takes it all", {}),
        (60, "diagnosed", "ana", "balancer", {}),
        (70, "mitigated", "drill", "observed", {"fix": "the balancer config was edited (-weight 100)"}),
        (80, "resolved", "drill", "held", {"error_share": 0.1, "audience_affected": 0.5}),
    ]
    for offset, name, by, detail, data in script:
        store.append("abc123", name, by, detail, data, at=start + timedelta(seconds=offset))
    for t in range(0, 81, 2):
        store.add_slis(
            "abc123",
            float(t),
            {
                "p50": 20 + t,
                "p95": 30 + t,
                "p99": 40 + t,
                "error_rate": t / 1000,
                "shares": {"app1": 0.5, "app2": 0.25, "app3": 0.25},
            },
        )
    store.end_run("abc123", "resolved", score(store.events("abc123"), DRILL.rubric).as_dict())
    return store, store.run("abc123")


def test_postmortem_has_the_reference_sections_and_every_event_once(tmp_path: Path) -> None:
    store, run = stored_run(tmp_path)
    events = store.events("abc123")
    text = postmortem.draft(run, DRILL, events, score(events, DRILL.rubric), MEASURES)
    for heading in (
        "## Issue Summary:",
        "## Timeline:",
        "## Root Cause and Resolution:",
        "## Corrective and Preventative Measures:",
    ):
        assert heading in text
    timeline = text.split("## Timeline:")[1].split("## Root Cause")[0]
    listed = [entry for entry in timeline.splitlines() if entry.startswith("- **")]
    assert listed == [line(e) for e in events]
    assert "10% of requests failed and 50% of the simulated audience" in text
    assert "the team suspected: database" in text and "the balancer config was edited (-weight 100)" in text
    assert "[weights-skew] app1 has weight 100" in text and "drill audit haproxy.cfg" in text


def test_report_is_self_contained_svg_with_data_and_markers(tmp_path: Path) -> None:
    store, run = stored_run(tmp_path)
    events = store.events("abc123")
    html = report.page(run, DRILL, events, score(events, DRILL.rubric), store.slis("abc123"))
    assert "<script" not in html and not re.search(r"(src|href)=\"https?:", html)
    assert set(re.findall(r'data-chart="(\w+)"', html)) == {"latency", "errors", "audience", "shares"}
    points = re.findall(r'data-series="([^"]+)" points="([^"]+)"', html)
    assert {name for name, _ in points} == {
        *("p50 ms", "p95 ms", "p99 ms", "error rate %", "viewers affected %", "rebuffering %"),
        *("app1", "app2", "app3"),
    }
    assert all(len(coords.split()) == 41 for _, coords in points)
    assert html.count('data-marker="fault injected"') == 4 and html.count('data-marker="resolved"') == 4
    assert html.count('data-marker="alert fired: errors"') == 4  # which alert fired, named
    assert 'data-threshold="high-latency &gt; 400"' in html and 'data-threshold="errors &gt; 2"' in html
    assert html.count('data-firing="errors"') == 4  # shaded from firing to the end (never cleared)
    start = datetime.fromisoformat(run.started)
    assert f">{start:%H:%M}" in html and ">UTC</text>" in html  # the x axis in clock time
    assert "Against the original outage" in html


def test_ticks_are_round_numbers_and_clock_steps() -> None:
    assert report.nice_ticks(2055) == [0, 500, 1000, 1500, 2000, 2500]
    assert report.nice_ticks(0.9) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert report.nice_ticks(37) == [0, 10, 20, 30, 40]
    assert report.clock_ticks(3.2, 61.0) == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]


def test_nothing_is_drawn_before_traffic_starts() -> None:
    slis = [(float(t), {"rate": 0.0 if t < 5 else 150.0, "p95": 30.0}) for t in range(20)]
    svg = report.charts(slis, [])[0]
    coords = re.findall(r'data-series="p95 ms" points="([^"]+)"', svg)[0].split()
    assert len(coords) == 15 and float(coords[0].split(",")[0]) == report.PAD_L


def test_postmortem_of_a_run_aborted_before_the_fault_names_no_fault(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db", create=True)
    store.begin_run("abc124", DRILL.name, DRILL.source, "blue", [], "2026-Q4", 3, "lb.weights-skew")
    store.append("abc124", "stack_ready", "drill", "3 replicas")
    store.append("abc124", "aborted", "drill", "aborted by the facilitator (Ctrl-C)")
    store.end_run("abc124", "aborted", {})
    events = store.events("abc124")
    text = postmortem.draft(store.run("abc124"), DRILL, events, score(events, DRILL.rubric))
    assert "weights-skew" not in text, "a fault that was drawn but never injected is not a fact of the run"
    assert "the run ended before drill injected its fault" in text and "drill reverted the fault" not in text


def test_marker_labels_that_would_overlap_are_set_side_by_side() -> None:
    assert report.label_positions([100.0, 300.0]) == [100.0, 300.0]
    assert report.label_positions([100.0, 101.0, 101.5, 200.0]) == [100.0, 112.0, 124.0, 200.0]
    svg = report.chart(
        "x", "t", {"s": [(0.0, 1.0), (10.0, 2.0)]}, [(5.0, "alert fired"), (5.01, "acknowledged")], "", 10.0
    )
    label_xs = [float(v) for v in re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="marker-label"', svg)]
    assert len(label_xs) == 2 and label_xs[1] - label_xs[0] >= report.LABEL_GAP
