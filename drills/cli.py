"""The `drill` command line. Thin: parse options, call one function, print.

`main` is the one place that turns domain errors into a one-line message and an exit
code; `--debug` (or DRILL_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import typer

from chaos.engine import Engine
from drills import cli_run, cli_scores, provision, session
from drills import images as images_mod
from drills.cli_chaos import audit, chaos_app
from drills.controller import Terminated
from drills.errors import DrillError
from drills.runs import RunDir, check_run_id
from drills.stack import StackSpec
from scoreboard.store import Store
from traffic import load as traffic_load

app = typer.Typer(
    help="Incident drills and chaos game days for a load-balanced web stack.",
    epilog="Example: drill up --replicas 3",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
images_app = typer.Typer(help="Build the stack's container images.", no_args_is_help=True)
app.add_typer(images_app, name="images")
app.add_typer(chaos_app, name="chaos")
app.command(epilog="Example: drill audit /etc/haproxy/haproxy.cfg --fail-on error")(audit)
cli_run.register(app)
cli_scores.register(app)

_debug = {"on": os.environ.get("DRILL_DEBUG") == "1"}


def _progress(line: str) -> None:
    typer.echo(line, err=True)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")) -> None:
    if debug:
        _debug["on"] = True


@images_app.command("build", epilog="Example: drill images build --base local")
def images_build(
    base: str = typer.Option("auto", help="auto: official images if a registry answers, else local; official; local."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if images are up to date."),
) -> None:
    """Build drill/lb, drill/app and drill/db (a second run reuses what exists)."""
    images_mod.check_mode(base)
    started = time.monotonic()
    built = images_mod.build_images(Engine.connect(), base, _progress, force=force)
    typer.echo(f"images ready in {time.monotonic() - started:.1f}s: {', '.join(built.values())}")


@app.command(epilog="Example: drill up --replicas 3 --json")
def up(
    replicas: int = typer.Option(3, "--replicas", "-n", help="Number of app replicas behind the balancer."),
    port: int = typer.Option(None, "--port", help="Balancer port on 127.0.0.1 (default: a free one Docker picks)."),
    as_json: bool = typer.Option(False, "--json", help="Print run id and URLs as JSON."),
) -> None:
    """Start a reference stack (balancer, replicas, database) and wait until it serves."""
    spec = StackSpec(replicas=replicas, lb_port=port)
    started = time.monotonic()
    record = provision.up(Engine.connect(), spec, _progress)
    summary = record.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"run {record.run_id} up in {time.monotonic() - started:.1f}s: {replicas} replicas serving")
    for key in ("url", "stats_url", "runtime_api"):
        typer.echo(f"  {key:<12} {summary[key]}")
    typer.echo(f"  {'traffic':<12} {record.extra.get('traffic', '')}")
    typer.echo(f"take it down with: drill down {record.run_id}")


@app.command(epilog="Example: drill status 3fa2c1")
def status(
    run_id: str = typer.Argument(None, help="A run id; all runs if omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    db: Path = typer.Option(None, "--db", help="Timeline database (default: $DRILL_DB or <DRILL_HOME>/drill.db)."),
) -> None:
    """Show the runs on this machine, their stacks, and for drills: elapsed time and alerts firing."""
    wanted = check_run_id(run_id) if run_id else None
    rows = provision.status(Engine.connect(), wanted)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        **(r.record.summary() if r.record else {"run_id": r.run_id}),
                        "state": r.state,
                        "running": r.running,
                        "containers": r.containers,
                    }
                    for r in rows
                ]
            )
        )
        return
    if not rows:
        typer.echo("no runs")
        return
    drills = {row.run_id: row for row in Store(db).runs() if row.active}
    for r in rows:
        summary = r.record.summary() if r.record else {}
        typer.echo(f"{r.run_id}  {r.running}/{r.containers} running  {r.state}  {summary.get('url', '')}")
        if r.run_id in drills:
            typer.echo("  " + session.describe_active(Store(db), drills[r.run_id]))
            typer.echo(
                f"  stats {summary.get('stats_url', '')}  runtime API {summary.get('runtime_api', '')}  "
                f"config {RunDir(r.run_id).lb_config_dir / 'haproxy.cfg'}"
            )


@app.command(epilog="Example: drill down 3fa2c1   or   drill down --all")
def down(
    run_id: str = typer.Argument(None, help="The run to remove."),
    all_runs: bool = typer.Option(False, "--all", help="Remove every drill run on this machine."),
    db: Path = typer.Option(None, "--db", help="Timeline database (default: $DRILL_DB or <DRILL_HOME>/drill.db)."),
) -> None:
    """Remove a run's containers, network and volumes (found by label, also after a crash)."""
    if bool(run_id) == all_runs:
        raise typer.BadParameter("give a RUN_ID or --all (one of them)")
    wanted = None if all_runs else check_run_id(run_id)
    engine = Engine.connect()
    ids = provision.known_run_ids(engine) if wanted is None else [wanted]
    for rid in ids:
        started = time.monotonic()
        reaped = provision.down(engine, rid, progress=typer.echo)
        typer.echo(
            f"run {rid} down in {time.monotonic() - started:.1f}s "
            f"(swept {reaped.containers} containers, {reaped.networks} networks, {reaped.volumes} volumes left over)"
        )
        closed = session.abandon(Store(db), rid)
        if closed:
            typer.echo(closed)
    if not ids:
        typer.echo("no runs to remove")


@app.command(epilog="Example: drill load --run 3fa2c1 --rps 200 --duration 30")
def load(
    url: str = typer.Option(None, "--url", help="Target http://127.0.0.1:PORT (any HTTP service on this machine)."),
    run_id: str = typer.Option(None, "--run", help="A run whose balancer to load (also reads the balancer's counts)."),
    rps: float = typer.Option(100.0, "--rps", help="Target arrival rate, requests per second."),
    duration: float = typer.Option(10.0, "--duration", help="Seconds of load."),
    users: int = typer.Option(50, "--users", help="Simulated viewers, each on a browse-then-stream journey."),
    model: str = typer.Option("constant", "--model", help="Arrivals: constant or poisson."),
    path: str = typer.Option(None, "--path", help="GET this path every time instead of the viewers' journeys."),
    slo_ms: float = typer.Option(400.0, "--slo-ms", help="A request slower than this hurts its viewer."),
    webhook: str = typer.Option(None, "--webhook", help="Also post alerts (Slack JSON) to this local URL."),
    metrics_port: int = typer.Option(None, "--metrics-port", help="Serve the SLIs for Prometheus on 127.0.0.1."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Drive simulated viewers at a target rate (open model) and report latency, errors, shares."""
    result = traffic_load.load_command(
        url, run_id, rps, duration, users, model, path, slo_ms, webhook, metrics_port, _progress
    )
    typer.echo(json.dumps(result.as_dict()) if as_json else traffic_load.format_result(result))


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does, so faults are reverted and stacks removed."""
    raise Terminated


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()  # standalone: typer reports usage errors itself (exit 2)
    except DrillError as exc:
        if _debug["on"]:
            traceback.print_exc()
        typer.echo(f"drill: error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
