"""The `drill` command line. Thin: parse options, call one function, print.

`DrillGroup.invoke` is the one place that turns domain errors into a one-line message and
an exit code, so the real console script and typer's CliRunner in the tests behave alike;
`--debug` (or DRILL_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import os
import signal
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from cli import chaos as cli_chaos
from cli import run as cli_run
from cli import scores as cli_scores
from cli import stack as cli_stack
from drills.errors import DrillError
from orchestration.controller import Terminated


class DrillGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except DrillError as exc:
            if (ctx.obj or {}).get("debug") or os.environ.get("DRILL_DEBUG") == "1":
                traceback.print_exc()
            typer.echo(f"drill: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=DrillGroup,
    help="Incident drills and chaos game days for a load-balanced web stack.",
    epilog="Example: drill up --replicas 3",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli_stack.register(app)
cli_chaos.register(app)
cli_run.register(app)
cli_scores.register(app)


DEBUG = typer.Option(False, "--debug", help="Show tracebacks for errors.")


@app.callback()
def _options(ctx: typer.Context, debug: bool = DEBUG) -> None:
    ctx.obj = {"debug": debug}


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does, so faults are reverted and stacks removed."""
    raise Terminated


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app()  # standalone: typer reports usage errors itself (exit 2)


if __name__ == "__main__":
    main()
