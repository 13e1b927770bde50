"""The drill files' commands: list, show, validate. Thin: load, render, print."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from cli.common import DRILLS_DIR, typer_app
from drills import levels, loader
from drills.definition import Drill
from drills.errors import DrillError
from playbooks.checks import CHECKS
from scoreboard import render

JSON = typer.Option(False, "--json", help="Print as JSON (keys in the README).")


def list_drills(drills_dir: Path = DRILLS_DIR, as_json: bool = JSON) -> None:
    """The drills you can run: built in, and yours in --drills-dir."""
    rows = [catalogue_row(name, path) for name, path in loader.available(drills_dir).items()]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        if row["error"]:
            typer.echo(f"{row['name']:<20} BROKEN: {row['error']}")
        else:
            limit = render.duration(row["time_limit_s"])
            typer.echo(
                f"{row['name']:<20} {row['title']}: {row['variants']} fault variant(s), limit {limit}  ({row['path']})"
            )
            typer.echo(f"{'':<20} {row['level']}, {row['balancer']}: {row['summary']}")


def catalogue_row(name: str, path: Path) -> dict[str, Any]:
    """One drill of `drill list` (its --json keys): what it is, or why it does not load."""
    try:
        drill = loader.load_file(path, CHECKS)
    except DrillError as exc:
        broken = dict.fromkeys(("title", "variants", "time_limit_s", "level", "balancer", "summary"))
        return {"name": name, **broken, "path": str(path), "error": str(exc)}
    return {
        "name": name,
        "title": drill.title,
        "variants": len(drill.variants),
        "time_limit_s": drill.time_limit_s,
        "path": str(path),
        "error": None,
        "level": drill.level,
        "balancer": drill.balancer,
        "summary": first_sentence(drill.summary),
    }


def first_sentence(text: str) -> str:
    """A summary's first sentence, for one line of `drill list`."""
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def described(d: Drill) -> dict[str, Any]:
    """What `drill show` tells: what runs, how many variants (never which), how it is scored."""
    return {
        "name": d.name,
        "title": d.title,
        "summary": d.summary,
        "source": d.source,
        "level": d.level,
        "levels": {name: spec.explain() for name, spec in levels.LEVELS.items()},
        "stack": {
            "replicas": d.replicas,
            "capacity": d.capacity,
            "service_ms": d.service_ms,
            "queue": d.queue,
            "monitoring": d.monitoring,
            "app": None
            if d.app is None
            else {"image": d.app.image, "port": d.app.port, "health": d.app.health, "paths": list(d.app.paths)},
            "balancer": d.balancer,
        },
        "traffic": {"rps": d.rps, "model": d.model, "users": d.users},
        "phases": {
            "baseline_s": d.baseline_s,
            "inject_window_s": list(d.inject_window_s),
            "time_limit_s": d.time_limit_s,
        },
        "variants": len(d.variants),
        "alerts": [{"name": r.name, "when": r.expression} for r in d.rules],
        "recovery": {
            "p95_ms": d.recovery.p95_ms,
            "error_rate": d.recovery.error_rate,
            "max_share_skew": d.recovery.max_share_skew,
            "sustain_s": d.recovery.sustain_s,
        },
        "hint_costs": [h.cost for h in d.hints],
        "scoring": {
            k: {"points": v.points, "full_s": v.full_s, "zero_s": v.zero_s} for k, v in d.rubric.phases.items()
        },
    }


def show(
    name: str = typer.Argument(..., help="A drill name or file."), drills_dir: Path = DRILLS_DIR, as_json: bool = JSON
) -> None:
    """Explain a drill: what it runs, what can break (not which), how it is scored."""
    d = described(loader.load_file(loader.find(name, drills_dir), CHECKS))
    if as_json:
        typer.echo(json.dumps(d))
        return
    stack, traffic, phases, recovery = d["stack"], d["traffic"], d["phases"], d["recovery"]
    window = phases["inject_window_s"]
    typer.echo(f"{d['title']} ({d['name']}, {d['source']})\n{d['summary']}\n")
    typer.echo(f"level      {d['levels'][d['level']]}")
    others = [text for name, text in d["levels"].items() if name != d["level"]]
    typer.echo("           other levels (`level:` in the file, or `drill run --level`): " + " | ".join(others))
    own = stack["app"]
    typer.echo(
        f"stack      {stack['replicas']} replicas x capacity {stack['capacity']} "
        f"({stack['service_ms']:g} ms each), a balancer ({stack['balancer']}), a db"
        if own is None
        else f"stack      {stack['replicas']} replicas of your app {own['image']} (port {own['port']}, "
        f"checked on {own['health']}; viewers ask for {', '.join(own['paths'])}), "
        f"a balancer ({stack['balancer']}), a db"
    )
    typer.echo(f"traffic    {traffic['rps']:g} req/s ({traffic['model']}) from {traffic['users']} viewers")
    typer.echo(
        f"phases     baseline {phases['baseline_s']:g}s, fault {window[0]:g}-{window[1]:g}s later, "
        f"time limit {render.duration(phases['time_limit_s'])}"
    )
    typer.echo(f"faults     one of {d['variants']} variants, drawn by seed (hidden from responders)")
    typer.echo("alerts     " + "; ".join(f"{a['name']}: {a['when']}" for a in d["alerts"]))
    typer.echo(
        f"recovery   p95 <= {recovery['p95_ms']:g} ms, errors <= {recovery['error_rate']:.0%}, share skew <= "
        f"{recovery['max_share_skew']:g}, held {recovery['sustain_s']:g}s"
    )
    typer.echo(f"hints      {len(d['hint_costs'])} tiers costing {', '.join(str(c) for c in d['hint_costs'])} points")
    typer.echo(
        "scoring    "
        + "; ".join(
            f"{k} {v['points']:g} pts (full <= {v['full_s']:g}s, 0 at {v['zero_s']:g}s)"
            for k, v in d["scoring"].items()
        )
    )


def validate(path: Path = typer.Argument(..., help="A drill file."), as_json: bool = JSON) -> None:
    """Check a drill file; every error at once, with its line and YAML path."""
    try:
        drill = loader.load_file(path, CHECKS)
    except loader.DrillFileError as exc:
        if as_json:
            typer.echo(
                json.dumps({"file": str(path), "valid": False, "name": None, "variants": None, "errors": exc.errors})
            )
        for error in exc.errors:
            typer.echo(error, err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"file": str(path), "valid": True, "name": drill.name, "variants": len(drill.variants), "errors": []}
            )
        )
        return
    typer.echo(f"{path}: valid drill {drill.name!r} ({len(drill.variants)} fault variants)")


def register(app: typer.Typer) -> None:
    commands: dict[str, tuple[Callable[..., None], str]] = {
        "list": (list_drills, "drill list --drills-dir ./drills --json"),
        "show": (show, "drill show traffic-tango"),
        "validate": (validate, "drill validate drills/my-drill.yaml"),
    }
    for name, (function, example) in commands.items():
        app.command(name, epilog=f"Example: {example}")(function)


app = typer_app()
register(app)
