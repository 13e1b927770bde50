"""The scoreboard across game days: leaderboard and a team's trend. Pure: stored runs in, rows out."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from scoreboard.store import RunRow

PHASE_KEYS = ("tt_detect_s", "tt_acknowledge_s", "tt_diagnose_s", "tt_mitigate_s", "tt_resolve_s")


@dataclass(frozen=True)
class Standing:
    team: str
    runs: int
    resolved: int
    best_points: float
    median_points: float
    medians: dict[str, float | None]  # median seconds per phase, over the runs that reached it
    best_run: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "runs": self.runs,
            "resolved": self.resolved,
            "best_points": self.best_points,
            "median_points": self.median_points,
            **self.medians,
            "best_run": self.best_run,
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _phase_medians(rows: list[RunRow]) -> dict[str, float | None]:
    return {
        key: _median([float(r.scores[key]) for r in rows if r.scores and r.scores.get(key) is not None])
        for key in PHASE_KEYS
    }


def select(
    rows: list[RunRow], drill: str | None = None, team: str | None = None, gameday: str | None = None
) -> list[RunRow]:
    return [
        r
        for r in rows
        if not r.active
        and (drill is None or r.drill == drill)
        and (team is None or r.team == team)
        and (gameday is None or r.gameday == gameday)
    ]


def leaderboard(rows: list[RunRow]) -> list[Standing]:
    """Best run per team, with medians; ordered by best points, then by median time to resolve."""
    teams: dict[str, list[RunRow]] = {}
    for row in rows:
        teams.setdefault(row.team, []).append(row)
    standings = []
    for team, runs in teams.items():
        points = [float((r.scores or {}).get("points", 0.0)) for r in runs]
        best = max(range(len(runs)), key=lambda i: points[i])
        resolved = sum(r.outcome == "resolved" for r in runs)
        median = round(statistics.median(points), 1)
        standings.append(
            Standing(team, len(runs), resolved, points[best], median, _phase_medians(runs), runs[best].run_id)
        )
    return sorted(standings, key=lambda s: (-s.best_points, s.medians["tt_resolve_s"] or float("inf"), s.team))


def trend(rows: list[RunRow], team: str) -> list[dict[str, Any]]:
    """The team's median times per phase (and points) per game day, in game-day order."""
    days: dict[str, list[RunRow]] = {}
    for row in rows:
        if row.team == team:
            days.setdefault(row.gameday, []).append(row)
    return [
        {
            "gameday": day,
            "runs": len(runs),
            **_phase_medians(runs),
            "median_points": _median([float((r.scores or {}).get("points", 0.0)) for r in runs]),
        }
        for day, runs in sorted(days.items())
    ]
