"""`drill load`: simulated viewers against a run's balancer or any http(s) URL."""

from __future__ import annotations

import json
import os

import typer

from cli.common import doors, progress, typer_app
from doors.tls import Trust
from drills.errors import UsageError
from orchestration import load as traffic_load
from stack.handle import open_stack
from traffic.split import processes_from

app = typer_app()


@app.command("load", epilog="Example: drill load --run 3fa2c1 --rps 200 --duration 30")
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
    processes: str = typer.Option(
        "1",
        "--processes",
        help="Generator processes sharing the load, or 'auto' (one per 15,000 req/s, one per core at most).",
    ),
) -> None:
    """Drive simulated viewers at a target rate (open model) and report latency, errors, shares."""
    if (url is None) == (run_id is None):
        raise UsageError("give --url URL or --run RUN_ID (one of them)")
    count = processes_from(processes, len(os.sched_getaffinity(0)), rps)
    stack = open_stack(doors(), run_id) if run_id else None
    result = traffic_load.load_command(
        url,
        stack,
        rps,
        duration,
        users,
        model,
        path,
        slo_ms,
        webhook,
        metrics_port,
        progress,
        Trust(ca_file, insecure),
        count,
    )
    typer.echo(json.dumps(result.as_dict()) if as_json else traffic_load.format_result(result))
