"""The game day's live charts (facilitator.charts over a Room fed like a run feeds it): the
report's Grafana-like charts, and who sees what in them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facilitator import charts
from facilitator.app import team_payload
from orchestration import gameday
from orchestration.bus import Beat, Happened
from telemetry.windows import Slis
from tests.unit.test_gameday import _room

START = datetime(2026, 11, 30, 14, 29, 53, 400000, tzinfo=UTC)  # not a round second: ticks still are


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))


def slis(p95: float, errors: float, rate: float, affected: float) -> Slis:
    shares = {"app1": 0.9, "app2": 0.05, "app3": 0.05} if p95 > 400 else {"app1": 0.34, "app2": 0.33, "app3": 0.33}
    return Slis(0.0, 5.0, 500, rate, errors, 0, 20.0, p95, p95, p95, shares, {}, 0.0, 1.0, 40, affected)


def fed(tmp_path: Path) -> gameday.Room:
    """Red's run: 4 s before traffic, a calm baseline, the fault at 20 s (hidden from the team),
    the latency alert firing from 26 s to 40 s while the crowd overloads app1."""
    room, _ = _room(tmp_path, ("red",))
    team = room.teams["red"]
    live = gameday.Live(room, team)
    live(Happened("stack_ready", START, data={"endpoints": {}}))
    for t in range(1, 50):
        calm = t < 24 or t > 38
        rate = 0.0 if t < 5 else 150.0
        live(Beat("respond", float(t), slis(40 if calm else 2200, 0.0 if calm else 0.2, rate, 0.0 if calm else 0.4)))
        if t == 20:
            room.store.append(team.run_id, "fault_injected", "drill", team.draw.variant.label, {})
            live(Happened("fault_injected", START + timedelta(seconds=20), detail=team.draw.variant.label))
        if t == 26:
            live(
                Happened(
                    "alert_fired", START + timedelta(seconds=26), "monitor", "high-latency", {"rule": "high-latency"}
                )
            )
        if t == 40:
            live(
                Happened(
                    "alert_cleared", START + timedelta(seconds=40), "monitor", "high-latency", {"rule": "high-latency"}
                )
            )
    return room


def test_live_charts_read_like_the_reports(tmp_path: Path) -> None:
    room = fed(tmp_path)
    svgs = charts.team_charts(room.team_view("red"), room.drill.rules)
    assert [re.search(r'data-chart="(\w+)"', s).group(1) for s in svgs] == ["latency", "errors", "audience", "shares"]  # type: ignore[union-attr]
    latency = svgs[0]
    assert 'data-threshold="high-latency &gt; 400"' in latency  # the drill's rule, as a line
    assert 'data-firing="high-latency"' in latency  # its span shaded, 26 s to 40 s
    assert 'data-marker="alert fired: high-latency"' in latency  # the alert named
    ticks = re.findall(r">(\d\d:\d\d:\d\d)</text>", latency)
    assert ticks and all(int(t[-2:]) % 5 == 0 for t in ticks) and "14:30:10" in ticks  # UTC clock, round steps
    assert ">UTC</text>" in latency
    first_x = float(re.search(r'data-series="p95 ms" points="([\d.]+),', latency).group(1))  # type: ignore[union-attr]
    assert first_x == 60.0  # the axis starts where traffic does (5 s), not at the stack's start
    assert all(c in latency for c in ("#0072B2", "#D55E00", "#009E73"))  # Okabe-Ito
    assert 'data-series="viewers affected %"' in svgs[2]


def test_the_team_never_sees_the_fault_in_its_charts_and_the_facilitator_does(tmp_path: Path) -> None:
    room = fed(tmp_path)
    label = room.teams["red"].draw.variant.label
    team = team_payload(room, "red", truth=False)
    assert not any("fault injected" in svg or label in svg for svg in team["charts"])
    facilitator = team_payload(room, "red", truth=True)
    assert any('data-marker="fault injected"' in svg for svg in facilitator["charts"])


def test_the_room_sparkline_uses_the_palette() -> None:
    svg = charts.sparkline([{"t": 0, "p95": 10, "errors": 0}, {"t": 5, "p95": 900, "errors": 0.3}], 300)
    assert 'stroke="#0072B2"' in svg and 'stroke="#D55E00"' in svg
