"""The scoreboard's commands: scores, runs, show-run, postmortem, report. Thin."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import typer

import playbooks
from cli.common import DB, store, typer_app
from cli.remote import given_token
from drills.errors import UsageError
from orchestration.session import stored
from scoreboard import leaderboard, postmortem, render, report
from stack import gamedaylock
from stack.rundir import check_run_id

OUT = typer.Option(None, "-o", "--output", help="Write to this file instead of printing.")


def _one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise UsageError("--json and --csv: choose one output format")


def _table(rows: list[dict[str, object]], as_json: bool, as_csv: bool) -> str:
    if as_json:
        return json.dumps(rows, indent=2)
    if not rows:
        return "no finished runs match"
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(_cell(r[k])) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(_cell(r[k]).ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def scores(
    drill: str = typer.Option(None, "--drill", help="Only this drill."),
    team: str = typer.Option(None, "--team", help="Only this team (with --trend: the team to follow)."),
    gameday: str = typer.Option(None, "--gameday", help="Only this game day, e.g. 2026-Q4."),
    trend: bool = typer.Option(False, "--trend", help="The team's median times per phase, game day by game day."),
    as_json: bool = typer.Option(False, "--json", help="JSON rows."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV rows."),
    db: str = DB,
) -> None:
    """The leaderboard: best run per team, with medians; or a team's trend across game days."""
    if trend and not team:
        raise UsageError("--trend needs --team TEAM")
    _one_format(as_json, as_csv)
    rows = leaderboard.select(store(db).runs(), drill, None if trend else team, gameday)
    if trend:
        table = leaderboard.trend(rows, team)
    else:
        table = [{"rank": i + 1, **s.as_dict()} for i, s in enumerate(leaderboard.leaderboard(rows))]
    typer.echo(_table(table, as_json, as_csv))


def runs(as_json: bool = typer.Option(False, "--json", help="JSON rows."), db: str = DB) -> None:
    """Every run in the database, oldest first."""
    token = given_token()
    table: list[dict[str, object]] = [
        {
            "run_id": r.run_id,
            "drill": r.drill,
            "team": r.team,
            "gameday": r.gameday,
            "started": r.started[:19],
            "fault": "(hidden until the end)" if r.active or gamedaylock.sealed(r.run_id, token) else r.fault,
            "outcome": r.outcome or "running",
            "points": (r.scores or {}).get("points"),
        }
        for r in store(db).runs()
    ]
    typer.echo(_table(table, as_json, False))


JSON = typer.Option(False, "--json", help="Print as JSON (keys in the README).")


def show_run(
    run_id: str = typer.Argument(..., help="A run id (`drill runs`)."), db: str = DB, as_json: bool = JSON
) -> None:
    """One run: timeline, scorecard (re-scored from the timeline) and comparison."""
    run_id = check_run_id(run_id)
    row, drill, events, card = stored(store(db), run_id, given_token())
    outcome = row.outcome or "running"
    shown = render.as_json(row, events, card, outcome) if as_json else render.text(row, drill, events, card, outcome)
    typer.echo(json.dumps(shown) if as_json else shown)


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise UsageError(f"-o {output}: cannot write the {what} there ({exc.strerror})") from None
    typer.echo(f"{what} written to {output}")


def postmortem_cmd(
    run_id: str = typer.Argument(..., help="A run id."), output: Path = OUT, db: str = DB, as_json: bool = JSON
) -> None:
    """Draft the postmortem (Markdown, the reference's sections) from the run's facts."""
    run_id = check_run_id(run_id)
    row, drill, events, card = stored(store(db), run_id, given_token())
    text = postmortem.draft(row, drill, events, card, playbooks.measures(drill.playbook, drill.source))
    if as_json:
        text = json.dumps({**postmortem.metadata(row, card), "markdown": text}) + "\n"
    _write(text, output, "postmortem")


def report_cmd(run_id: str = typer.Argument(..., help="A run id."), output: Path = OUT, db: str = DB) -> None:
    """Write the run's report: one self-contained HTML file with charts, scorecard and timeline."""
    run_id = check_run_id(run_id)
    timeline = store(db)
    row, drill, events, card = stored(timeline, run_id, given_token())
    _write(report.page(row, drill, events, card, timeline.slis(run_id)), output, "report")


def register(app: typer.Typer) -> None:
    commands: dict[str, tuple[Callable[..., None], str]] = {
        "scores": (scores, "drill scores --gameday 2026-Q4   or   drill scores --trend --team blue"),
        "runs": (runs, "drill runs --json"),
        "show-run": (show_run, "drill show-run 3fa2c1"),
        "postmortem": (postmortem_cmd, "drill postmortem 3fa2c1 -o postmortem.md"),
        "report": (report_cmd, "drill report 3fa2c1 -o report.html"),
    }
    for name, (function, example) in commands.items():
        app.command(name, epilog=f"Example: {example}")(function)


app = typer_app()
register(app)
