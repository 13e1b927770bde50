"""`drill chaos ...`: faults for facilitators, outside a drill. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from chaos import audit as audit_rules
from chaos import faults, inject
from chaos.target import Target
from cli.common import doors, typer_app
from drills.errors import Interrupted
from stack import gamedaylock
from stack.handle import open_stack
from stack.rundir import check_run_id

chaos_app = typer_app(help="Inject and revert faults on a running stack (for facilitators).", no_args_is_help=True)

RUN = typer.Option(..., "--run", help="The run whose stack to act on (`drill status` lists them).")
PARAM = typer.Option(None, "--param", "-p", help="key=value, repeatable (e.g. server=app2, route=runtime).")


def _target(run_id: str) -> Target:
    from cli.remote import given_token

    gamedaylock.check(check_run_id(run_id), given_token())
    return Target(open_stack(doors(), run_id))


def _checked(fault: str, run_id: str, param: list[str] | None) -> dict[str, str]:
    """Arguments checked before Docker is touched."""
    faults.get(fault)
    check_run_id(run_id)
    return faults.parse_params(param or [])


@chaos_app.command("list", epilog="Example: drill chaos list --json")
def list_faults(as_json: bool = typer.Option(False, "--json", help="Print as JSON (keys in the README).")) -> None:
    """The fault catalogue: names, what each breaks, routes and parameters."""
    if as_json:
        typer.echo(json.dumps([fault.as_dict() for fault in faults.CATALOGUE.values()]))
        return
    for fault in faults.CATALOGUE.values():
        params = ", ".join(f"{p.name}={p.default}" for p in fault.params) or "no parameters"
        typer.echo(f"{fault.name:<24} {fault.summary}")
        typer.echo(f"{'':<24} routes: {'/'.join(fault.routes)}; {params}")


@chaos_app.command("plan", epilog="Example: drill chaos plan lb.weights-skew --run 3fa2c1 -p weight=50")
def plan(
    fault: str = typer.Argument(..., help="A fault name from `drill chaos list`."),
    run_id: str = RUN,
    param: list[str] = PARAM,
) -> None:
    """Print exactly what injecting FAULT would change, and change nothing."""
    params = _checked(fault, run_id, param)
    target = _target(run_id)
    typer.echo(inject.describe(target, inject.plan(target, fault, params)))


@chaos_app.command("inject", epilog="Example: drill chaos inject lb.drained --run 3fa2c1 -p route=runtime")
def inject_fault(
    fault: str = typer.Argument(..., help="A fault name from `drill chaos list`."),
    run_id: str = RUN,
    param: list[str] = PARAM,
) -> None:
    """Apply FAULT and wait until the running stack shows it; it stays until `drill chaos revert`."""
    params = _checked(fault, run_id, param)
    target = _target(run_id)
    chosen = inject.plan(target, fault, params)
    typer.echo(inject.describe(target, chosen))
    try:
        inject.inject(target, chosen)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {fault} was reverted on run {run_id}") from None
    typer.echo(f"injected: {inject.in_effect(target)[1]}")
    typer.echo(f"undo with: drill chaos revert --run {run_id}")


@chaos_app.command("revert", epilog="Example: drill chaos revert --run 3fa2c1")
def revert(run_id: str = RUN) -> None:
    """Restore the config file and the balancer's runtime state exactly as before the fault."""
    typer.echo(inject.revert(_target(check_run_id(run_id))))


@chaos_app.command("check", epilog="Example: drill chaos check --run 3fa2c1")
def check(run_id: str = RUN) -> None:
    """Is the stack fixed, judged from the running stack: the fault no longer in effect and the
    stack serving? Exit 0 if so, 1 if the fault is in effect or the stack is broken another way."""
    fixed, seen = inject.check(_target(check_run_id(run_id)), doors().http)
    typer.echo(seen)
    raise typer.Exit(0 if fixed else 1)


def audit(
    paths: list[Path] = typer.Argument(None, help="HAProxy config files or nginx files with upstream blocks."),
    fmt: str = typer.Option("text", "--format", help="Output: text, json or sarif (for code scanning in CI)."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    fail_on: str = typer.Option("warning", "--fail-on", help="Exit 1 on findings at or above: info, warning, error."),
    validate: bool = typer.Option(False, "--validate", help="Also run haproxy -c / nginx -t and report what they say."),
    explain: str = typer.Option(None, "--explain", help="Print why a RULE matters and its fix, then exit."),
) -> None:
    """Audit balancer configs for skewed weights, hashing, odd health checks, drained servers...

    Exit 0 when clean, 1 with findings at or above --fail-on, 2 for a bad argument, an unreadable
    file or a template (render it first)."""
    if explain:
        typer.echo(audit_rules.explain(explain))
        return
    output, code = audit_rules.run(paths or [], "json" if as_json else fmt, fail_on, validate)
    typer.echo(output)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")
    app.command(epilog="Example: drill audit /etc/haproxy/haproxy.cfg --fail-on error")(audit)


app = typer_app()
register(app)
