"""The `drill` command line. Thin: parse options, call one function, print.

`DrillGroup.invoke` is the one place that turns domain errors into a one-line message and
an exit code, so the real console script and typer's CliRunner in the tests behave alike;
`--debug` (or DRILL_DEBUG=1) shows the traceback instead.

Commands load lazily: `drill ack` imports cli.respond and what it needs, not the stack, the
chaos catalogue or the Docker SDK, so a responder's command starts in about 0.1 s.
"""

from __future__ import annotations

import importlib
import os
import signal
import traceback
from typing import Any, NoReturn

import click
import typer
import typer.main
from click.exceptions import ClickException
from typer.core import TyperGroup

from drills.errors import DrillError, Terminated

# Each command and the cli module that defines it, in the order `drill --help` lists them.
COMMANDS = {
    "run": "run",
    "gameday": "gameday",
    "ack": "respond",
    "diagnose": "diagnose",
    "note": "respond",
    "hint": "diagnose",
    "resolve": "respond",
    "abort": "respond",
    "timeline": "respond",
    "status": "stack",
    "shell": "shell",
    "list": "drills",
    "show": "drills",
    "validate": "drills",
    "scores": "scores",
    "runs": "scores",
    "show-run": "scores",
    "postmortem": "scores",
    "report": "scores",
    "up": "stack",
    "down": "down",
    "load": "load",
    "images": "stack",
    "chaos": "chaos",
    "audit": "chaos",
}

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
    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        """The command, from its module imported now (and only now)."""
        if name not in COMMANDS:
            return None
        commands = typer.main.get_command(importlib.import_module(f"cli.{COMMANDS[name]}").app)
        command = commands.get_command(ctx, name) if hasattr(commands, "get_command") else commands
        if command is not None:
            _plain_help(command)
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as exc:  # `drill --bogus`: one line, like every other bad input
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
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
    rich_markup_mode=None,
)


DEBUG = typer.Option(False, "--debug", help="Show tracebacks for errors.")


def _version(asked: bool) -> None:
    if asked:
        from importlib import metadata  # 25 ms: only for --version

        typer.echo(f"drill {metadata.version('drill')}")
        raise typer.Exit()


VERSION = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print drill's version and exit.")


SERVER = typer.Option(
    None, "--server", envvar="DRILL_SERVER", help="A game day's facilitator server: responders act through it."
)
TOKEN = typer.Option(None, "--token", envvar="DRILL_TOKEN", help="Your join token (a game day's team or facilitator).")
RUNTIME = typer.Option(
    None,
    "--runtime",
    click_type=click.Choice(["compose", "swarm"]),
    help="Where stacks come up: compose (default) or swarm (a stack per team; or DRILL_RUNTIME).",
)


DB = typer.Option(None, "--db", help="Timeline database for every command: a file or postgresql://... URL.")


@app.callback()
def _options(
    ctx: typer.Context,
    debug: bool = DEBUG,
    version: bool = VERSION,
    server: str = SERVER,
    token: str = TOKEN,
    db: str = DB,
    runtime: str | None = RUNTIME,
) -> None:
    ctx.obj = {"debug": debug, "server": server, "token": token, "db": db}
    if runtime:
        os.environ["DRILL_RUNTIME"] = runtime  # read where the doors are made (doors.kit), and by child processes


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does, so faults are reverted and stacks removed."""
    raise Terminated


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app()  # standalone: typer reports usage errors itself (exit 2)


if __name__ == "__main__":
    main()
