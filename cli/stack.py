"""The stack's commands: images build, up, status, down, load. Thin: parse, call, print."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from cli.common import DB, doors, progress, store_if_any, typer_app
from doors.tls import Trust
from drills.errors import UsageError
from orchestration import load as traffic_load
from orchestration import session, teardown
from stack import build as images_mod
from stack import provision
from stack.handle import open_stack
from stack.rundir import RunDir, check_run_id
from stack.spec import StackSpec

images_app = typer_app(help="Build the stack's container images.", no_args_is_help=True)


@images_app.command("build", epilog="Example: drill images build --base local")
def images_build(
    base: str = typer.Option("auto", help="auto: official images if a registry answers, else local; official; local."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if images are up to date."),
) -> None:
    """Build drill/lb, drill/app and drill/db (a second run reuses what exists)."""
    images_mod.check_mode(base)
    clock = doors().clock
    started = clock.now()
    from doors.engine import DockerEngine  # building needs the engine itself, not only the runtime door

    built = images_mod.build_images(DockerEngine.connect(), base, progress, force=force)
    typer.echo(f"images ready in {clock.now() - started:.1f}s: {', '.join(built.values())}")


def up(
    replicas: int = typer.Option(3, "--replicas", "-n", help="Number of app replicas behind the balancer."),
    port: int = typer.Option(None, "--port", help="Balancer port on 127.0.0.1 (default: a free one Docker picks)."),
    as_json: bool = typer.Option(False, "--json", help="Print run id and URLs as JSON."),
) -> None:
    """Start a reference stack (balancer, replicas, database) and wait until it serves."""
    spec = StackSpec(replicas=replicas, lb_port=port)
    clock = doors().clock
    started = clock.now()
    record = provision.up(doors(), spec, progress)
    summary = record.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"run {record.run_id} up in {clock.now() - started:.1f}s: {replicas} replicas serving")
    for key in ("url", "stats_url", "runtime_api"):
        typer.echo(f"  {key:<12} {summary[key]}")
    typer.echo(f"  {'traffic':<12} {record.extra.get('traffic', '')}")
    typer.echo(f"take it down with: drill down {record.run_id}")


def status(
    run_id: str = typer.Argument(None, help="A run id; all runs if omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    db: Path = DB,
) -> None:
    """Show the runs on this machine, their stacks, and for drills: elapsed time and alerts firing."""
    wanted = check_run_id(run_id) if run_id else None
    rows = provision.status(doors(), wanted)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows]))
        return
    if not rows:
        typer.echo("no runs")
        return
    timeline = store_if_any(db)
    drills = {row.run_id: row for row in timeline.runs() if row.active} if timeline else {}
    for r in rows:
        summary = r.record.summary() if r.record else {}
        typer.echo(f"{r.run_id}  {r.running}/{r.containers} running  {r.state}  {summary.get('url', '')}")
        if r.run_id in drills:
            assert timeline is not None
            typer.echo("  " + session.describe_active(timeline, drills[r.run_id]))
            config = RunDir(r.run_id).lb_config_dir / "haproxy.cfg"
            typer.echo(
                f"  stats {summary.get('stats_url', '')}  runtime API {summary.get('runtime_api', '')}  config {config}"
            )


def down(
    run_id: str = typer.Argument(None, help="The run to remove."),
    all_runs: bool = typer.Option(False, "--all", help="Remove every run of this DRILL_HOME."),
    machine_wide: bool = typer.Option(
        False, "--machine-wide", help="With --all: every drill run on this machine, whoever started it (after a crash)."
    ),
    db: Path = DB,
) -> None:
    """Remove a run's containers, network and volumes (found by label, also after a crash)."""
    if bool(run_id) == all_runs:
        raise UsageError("give a RUN_ID or --all (one of them)")
    if machine_wide and not all_runs:
        raise UsageError("--machine-wide goes with --all: drill down --all --machine-wide")
    wanted = check_run_id(run_id) if run_id else None
    for line in teardown.down_runs(doors(), wanted, machine_wide, store_if_any(db)):
        typer.echo(line)


def load(
    url: str = typer.Option(None, "--url", help="Target http(s) URL, e.g. https://staging.example.com (TLS verified)."),
    run_id: str = typer.Option(None, "--run", help="A run whose balancer to load (also reads the balancer's counts)."),
    rps: float = typer.Option(100.0, "--rps", help="Target arrival rate, requests per second."),
    duration: float = typer.Option(10.0, "--duration", help="Seconds of load."),
    users: int = typer.Option(50, "--users", help="Simulated viewers, each on a browse-then-stream journey."),
    model: str = typer.Option("constant", "--model", help="Arrivals: constant or poisson."),
    path: str = typer.Option(None, "--path", help="GET this path every time instead of the viewers' journeys."),
    slo_ms: float = typer.Option(400.0, "--slo-ms", help="A request slower than this hurts its viewer."),
    webhook: str = typer.Option(None, "--webhook", help="Also post alerts (Slack JSON) to this http(s) URL."),
    metrics_port: int = typer.Option(None, "--metrics-port", help="Serve the SLIs for Prometheus on 127.0.0.1."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    ca_file: str = typer.Option(None, "--ca-file", help="Also trust this CA (PEM) for --url and --webhook."),
    insecure: bool = typer.Option(
        False, "--insecure", help="--url only: do not verify its certificate (encrypted, but to anyone)."
    ),
) -> None:
    """Drive simulated viewers at a target rate (open model) and report latency, errors, shares."""
    if (url is None) == (run_id is None):
        raise UsageError("give --url URL or --run RUN_ID (one of them)")
    stack = open_stack(doors(), run_id) if run_id else None
    result = traffic_load.load_command(
        url, stack, rps, duration, users, model, path, slo_ms, webhook, metrics_port, progress, Trust(ca_file, insecure)
    )
    typer.echo(json.dumps(result.as_dict()) if as_json else traffic_load.format_result(result))


EXAMPLES: dict[str, tuple[Callable[..., None], str]] = {
    "up": (up, "drill up --replicas 3 --json"),
    "status": (status, "drill status 3fa2c1"),
    "down": (down, "drill down 3fa2c1   or   drill down --all"),
    "load": (load, "drill load --run 3fa2c1 --rps 200 --duration 30"),
}


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
    for name, (function, example) in EXAMPLES.items():
        app.command(name, epilog=f"Example: {example}")(function)


app = typer_app()
register(app)
