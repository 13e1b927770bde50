"""`drill down`: a run's stack removed, its fault reverted first (also after a crash)."""

from __future__ import annotations

import typer

from cli.common import DB, doors, store_if_reachable, typer_app
from drills.errors import UsageError
from orchestration import teardown
from stack.rundir import check_run_id

app = typer_app()


@app.command("down", epilog="Example: drill down 3fa2c1   or   drill down --all")
def down(
    run_id: str = typer.Argument(None, help="The run to remove."),
    all_runs: bool = typer.Option(False, "--all", help="Remove every run of this DRILL_HOME."),
    machine_wide: bool = typer.Option(
        False, "--machine-wide", help="With --all: every drill run on this machine, whoever started it (after a crash)."
    ),
    db: str = DB,
) -> None:
    """Remove a run's containers, network and volumes (found by label, also after a crash)."""
    if bool(run_id) == all_runs:
        raise UsageError("give a RUN_ID or --all (one of them)")
    if machine_wide and not all_runs:
        raise UsageError("--machine-wide goes with --all: drill down --all --machine-wide")
    wanted = check_run_id(run_id) if run_id else None
    for line in teardown.down_runs(doors(), wanted, machine_wide, store_if_reachable(db)):
        typer.echo(line)
