"""The `drill` command line. Thin: parse options, call one function, print.

`DrillGroup.invoke` is the one place that turns domain errors into a one-line message and
an exit code, so the real console script and typer's CliRunner in the tests behave alike;
`--debug` (or DRILL_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import os
import signal
import traceback
from importlib import metadata
from typing import Any, NoReturn

import typer
from typer._click.exceptions import ClickException  # typer's own click (it vendors one)
from typer.core import TyperGroup

from cli import chaos as cli_chaos
from cli import drills as cli_drills
from cli import run as cli_run
from cli import scores as cli_scores
from cli import stack as cli_stack
from drills.errors import DrillError
from orchestration.controller import Terminated

EXIT_CODES = (
    "Exit codes: 0 done (a drill: resolved); 1 a drill timed out, a resolve was premature, `audit` found "
    "something, `chaos check` not fixed; 2 bad input (an argument, a file, a field); 3 no Docker engine; "
    "4 a wait timed out (the message says what was seen); 5 a drill's baseline did not hold; "
    "130 interrupted or aborted."
)


def _plain_help(command: Any) -> None:
    """Help shows a flag as a flag and a value by what it means (TEAM, FILE, N), never as a
    Python type name (`<bool>`, `<str>`)."""
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = lambda ctx: None  # its name already says what it is
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = param.name.upper()
    help_option = command.get_help_option

    def plain_help_option(ctx: Any) -> Any:
        option = help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = plain_help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class DrillGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as exc:  # `drill --bogus`: one line, like every other bad input
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except DrillError as exc:
            if (ctx.obj or {}).get("debug") or os.environ.get("DRILL_DEBUG") == "1":
                traceback.print_exc()
            typer.echo(f"drill: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except ClickException as exc:  # a sub-command's bad or missing argument
            _usage_error(exc)


def _usage_error(exc: Any) -> NoReturn:
    """Click's usage errors as drill's: one line naming the argument, then exit 2."""
    where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "drill"
    typer.echo(f"drill: error: {exc.format_message()} (see `{where} --help`)", err=True)
    raise typer.Exit(exc.exit_code)


app = typer.Typer(
    cls=DrillGroup,
    help="Incident drills and chaos game days for a load-balanced web stack.",
    epilog=f"Example: drill run traffic-tango --autopilot.  {EXIT_CODES}",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
cli_stack.register(app)
cli_chaos.register(app)
cli_drills.register(app)
cli_run.register(app)
cli_scores.register(app)


DEBUG = typer.Option(False, "--debug", help="Show tracebacks for errors.")


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"drill {metadata.version('drill')}")
        raise typer.Exit()


VERSION = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print drill's version and exit.")


@app.callback()
def _options(ctx: typer.Context, debug: bool = DEBUG, version: bool = VERSION) -> None:
    ctx.obj = {"debug": debug}


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does, so faults are reverted and stacks removed."""
    raise Terminated


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app()  # standalone: typer reports usage errors itself (exit 2)


if __name__ == "__main__":
    main()
