"""The stack's commands: images build, up, status. Thin: parse, call, print."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer

from cli.common import DB, doors, progress, store_if_reachable, typer_app
from scoreboard import render
from stack import build as images_mod
from stack import provision
from stack.rundir import RunDir, check_run_id, project_name
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
    monitoring: bool = typer.Option(
        False, "--monitoring", help="Add Prometheus (scrapes the balancer and replicas; its UI on 127.0.0.1)."
    ),
    balancer: str = typer.Option("haproxy", "--balancer", help="haproxy or nginx."),
) -> None:
    """Start a reference stack (balancer, replicas, database) and wait until it serves."""
    spec = StackSpec(replicas=replicas, lb_port=port, monitoring=monitoring, balancer=balancer)
    clock = doors().clock
    started = clock.now()
    record = provision.up(doors(), spec, progress)
    summary = record.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"run {record.run_id} up in {clock.now() - started:.1f}s: {replicas} replicas serving")
    for key in ("balancer", "url", "stats_url", "runtime_api", "prometheus_url"):
        if key in summary:
            typer.echo(f"  {key:<12} {summary[key]}")
    typer.echo(f"  {'traffic':<12} {record.extra.get('traffic', '')}")
    typer.echo(f"take it down with: drill down {record.run_id}")


def status(
    run_id: str = typer.Argument(None, help="A run id; all runs if omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    db: str = DB,
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
    timeline = store_if_reachable(db)
    drills = {row.run_id: row for row in timeline.runs() if row.active} if timeline else {}
    for r in rows:
        summary = r.record.summary() if r.record else {}
        typer.echo(f"{r.run_id}  {r.running}/{r.containers} running  {r.state}  {summary.get('url', '')}")
        if summary.get("prometheus_url"):
            typer.echo(f"  prometheus {summary['prometheus_url']}  (alerts: {summary['prometheus_url']}/alerts)")
        if r.run_id in drills:
            assert timeline is not None
            typer.echo("  " + render.describe_active(timeline, drills[r.run_id]))
        if r.run_id in drills or summary.get("balancer") == "nginx":  # nginx: how to reload and read it
            typer.echo("  " + balancer_line(r.run_id, summary))


def balancer_line(run_id: str, summary: dict[str, object]) -> str:
    """Where a responder reads and fixes the balancer: HAProxy's stats and runtime API, or nginx's
    stub_status, config, reload and logs (it has no runtime API)."""
    lb = f"{project_name(run_id)}_lb_1"
    if summary.get("balancer") == "nginx":
        config = RunDir(run_id).lb_config_dir / "nginx.conf"
        return (
            f"nginx status {summary.get('stats_url', '')}  config {config}  "
            f"reload: docker exec {lb} nginx -s reload  logs: docker logs {lb}"
        )
    config = RunDir(run_id).lb_config_dir / "haproxy.cfg"
    return f"stats {summary.get('stats_url', '')}  runtime API {summary.get('runtime_api', '')}  config {config}"


EXAMPLES: dict[str, tuple[Callable[..., None], str]] = {
    "up": (up, "drill up --replicas 3 --json"),
    "status": (status, "drill status 3fa2c1"),
}


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
    for name, (function, example) in EXAMPLES.items():
        app.command(name, epilog=f"Example: {example}")(function)


app = typer_app()
register(app)
