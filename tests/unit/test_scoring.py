"""Scoring, grading and the timeline: pure functions of events and the rubric."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from drills.loader import builtin_files, load_file
from playbooks.checks import CHECKS
from playbooks.grading import grade
from scoreboard.scoring import linear, score
from scoreboard.store import open_store
from scoreboard.timeline import Event, milestones, ordered

DRILL = load_file(builtin_files()["traffic-tango"], CHECKS)


def ev(offset: float, name: str, **data: object) -> Event:
    return Event(int(offset * 10), name, f"2026-11-24T14:30:{int(offset) % 60:02d}+00:00", offset, "ana", "", data)


FULL_RUN = [
    ev(0, "stack_ready"),
    ev(20, "fault_injected"),
    ev(25, "alert_fired"),
    ev(40, "acknowledged"),
    ev(50, "hypothesis", red_herring=True),
    ev(60, "hint", cost=25),
    ev(80, "diagnosed"),
    ev(100, "premature_resolve"),
    ev(120, "mitigated"),
    ev(130, "resolved", error_share=0.05, audience_affected=0.4),
]


def test_linear_points() -> None:
    assert linear(None, 100, 60, 600) == 0
    assert linear(10, 100, 60, 600) == 100
    assert linear(60, 100, 60, 600) == 100
    assert linear(330, 100, 60, 600) == 50
    assert linear(600, 100, 60, 600) == 0


def test_scorecard_shows_its_arithmetic() -> None:
    card = score(FULL_RUN, DRILL.rubric)
    assert card.times == {
        "tt_detect_s": 5,
        "tt_acknowledge_s": 15,
        "tt_diagnose_s": 60,
        "tt_mitigate_s": 100,
        "tt_resolve_s": 110,
    }
    assert (card.hints, card.red_herrings, card.premature) == (1, 1, 1)
    # all phases within full-point targets: 700; -25 hint -25 herring -50 premature
    # impact 5% x 2 + 40% x 1 = 50; +50 no restart
    assert card.points == 700 - 25 - 25 - 50 - 50 + 50
    assert any("impact" in line and "-50.0" in line for line in card.lines)
    assert card.lines[-1] == f"total        {card.points:g} points"


def test_no_ack_scores_nothing_for_it_and_restart_loses_the_bonus() -> None:
    events = [e for e in FULL_RUN if e.event != "acknowledged"] + [ev(110, "balancer_restarted")]
    card = score(events, DRILL.rubric)
    assert card.times["tt_acknowledge_s"] is None
    assert card.points == 700 - 100 - 25 - 25 - 50 - 50


def test_diagnosis_before_the_alert_still_counts_from_injection() -> None:
    events = [ev(20, "fault_injected"), ev(22, "diagnosed"), ev(30, "alert_fired")]
    card = score(events, DRILL.rubric)
    assert card.times["tt_diagnose_s"] == 2 and card.times["tt_detect_s"] == 10


def test_aborted_before_injection_has_no_times_and_no_bonus() -> None:
    card = score([ev(0, "stack_ready"), ev(5, "aborted")], DRILL.rubric)
    assert set(card.times.values()) == {None}
    assert card.points == 0


def test_milestones_ignore_what_came_before_the_fault() -> None:
    events = [ev(5, "alert_fired"), ev(6, "acknowledged"), ev(20, "fault_injected"), ev(30, "alert_fired")]
    marks = milestones(events)
    assert (marks.alert_fired, marks.acknowledged) == (30, None)


def test_ordering_keeps_append_order_for_ties() -> None:
    a = Event(2, "acknowledged", "2026-11-24T14:30:00+00:00", 5.0, "ana")
    b = Event(1, "alert_fired", "2026-11-24T14:30:00+00:00", 5.0, "monitor")
    assert [e.event for e in ordered([a, b])] == ["alert_fired", "acknowledged"]


def test_rescoring_a_stored_run_gives_the_same_result(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db", create=True)
    store.begin_run("abc123", "traffic-tango", DRILL.source, "blue", [], "2026-Q4", 1, "lb.tango")
    start = datetime.fromisoformat(store.run("abc123").started)
    for e in FULL_RUN:
        store.append("abc123", e.event, e.by, e.detail, e.data, at=start + timedelta(seconds=e.offset_s))
    first = score(store.events("abc123"), DRILL.rubric)
    store.end_run("abc123", "resolved", first.as_dict())
    assert score(open_store(tmp_path / "d.db").events("abc123"), DRILL.rubric) == first
    assert store.run("abc123").scores == first.as_dict()


@pytest.mark.parametrize(
    ("said", "fault", "injected", "correct"),
    [
        ("balancer", "lb.weights-skew", True, True),
        ("HAProxy", "lb.tango", True, True),
        ("load balancer", "lb.source-hash", True, True),
        ("database", "lb.weights-skew", True, False),
        ("balancer", "lb.weights-skew", False, False),
        ("network", "container.latency", True, True),
        ("balancer", "lb.drained[route=runtime]", True, True),
        ("balancer", "container.latency", True, False),
    ],
)
def test_grading(said: str, fault: str, injected: bool, correct: bool) -> None:
    assert grade(said, DRILL, fault, injected).correct is correct


def test_a_red_herring_says_what_checking_it_shows() -> None:
    verdict = grade("database", DRILL, "lb.weights-skew", True)
    assert "PING" in verdict.explanation


def test_an_ack_before_the_first_alert_scores_zero_seconds_not_a_negative_time() -> None:
    """The team was already on it when the pager went off: full points, and medians stay sane."""
    early = [e for e in FULL_RUN if e.event != "acknowledged"] + [ev(22, "acknowledged")]
    card = score(sorted(early, key=lambda e: e.offset_s), DRILL.rubric)
    assert card.times["tt_acknowledge_s"] == 0.0
    assert any(line.startswith("acknowledge") and "+100.0" in line for line in card.lines)


def test_drill_down_after_a_killed_controller_scores_the_impact_the_run_had(tmp_path: Path) -> None:
    """SIGKILL loses the controller's counters; the impact kept with each second's SLIs survives it."""
    from orchestration.teardown import abandon

    store = open_store(tmp_path / "d.db", create=True)
    store.begin_run("abc123", DRILL.name, DRILL.source, "blue", [], "2026-Q4", 1, "lb.tango")
    store.append("abc123", "fault_injected", "drill", "lb.tango")
    for second, share in ((1, 0.10), (2, 0.25)):
        store.add_slis(
            "abc123", float(second), {"p95": 500, "impact": {"error_share": share, "audience_affected": 0.5}}
        )
    assert abandon(store, "abc123") == "run abc123 recorded as aborted on the timeline"
    card = score(store.events("abc123"), DRILL.rubric)
    assert card.impact == {"error_pct": 25.0, "audience_pct": 50.0}
    assert store.run("abc123").scores == card.as_dict()
