"""`drill chaos ...`: faults for facilitators, outside a drill. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from chaos import audit as audit_rules
from chaos import faults, inject
from chaos.target import Target
from cli.common import doors
from drills.errors import Interrupted, UsageError
from stack.handle import open_stack
from stack.rundir import check_run_id

chaos_app = typer.Typer(help="Inject and revert faults on a running stack (for facilitators).", no_args_is_help=True)

RUN = typer.Option(..., "--run", help="The run whose stack to act on (`drill status` lists them).")
PARAM = typer.Option(None, "--param", "-p", help="key=value, repeatable (e.g. server=app2, route=runtime).")


def _target(run_id: str) -> Target:
    return Target(open_stack(doors(), run_id))


def _checked(fault: str, run_id: str, param: list[str] | None) -> dict[str, str]:
    """Arguments checked before Docker is touched."""
    faults.get(fault)
    check_run_id(run_id)
    return faults.parse_params(param or [])


@chaos_app.command("list", epilog="Example: drill chaos list")
def list_faults() -> None:
    """The fault catalogue: names, what each breaks, routes and parameters."""
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
    """Is the applied fault still in effect, judged from the running stack? Exit 1 if it is."""
    effect, seen = inject.in_effect(_target(check_run_id(run_id)))
    typer.echo(f"{'in effect' if effect else 'not in effect'}: {seen}")
    raise typer.Exit(1 if effect else 0)


def audit(
    paths: list[Path] = typer.Argument(..., help="HAProxy config files or nginx files with upstream blocks."),
    as_json: bool = typer.Option(False, "--json", help="Print findings as a JSON list."),
    fail_on: str = typer.Option("warning", "--fail-on", help="Exit 1 on findings at or above: info, warning, error."),
) -> None:
    """Audit balancer configs for skewed weights, hashing, odd health checks, drained servers...

    Exit 0 when clean, 1 with findings at or above --fail-on, 2 when a file cannot be read."""
    if fail_on not in audit_rules.SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(audit_rules.SEVERITIES)}, got {fail_on!r}")
    findings = []
    for path in paths:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read it as a config file ({exc.__class__.__name__}: {exc})") from None
        findings += audit_rules.audit_text(text, str(path))
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            typer.echo(str(finding))
        counts = {s: sum(f.severity == s for f in findings) for s in audit_rules.SEVERITIES}
        typer.echo(
            f"{len(findings)} finding(s): " + ", ".join(f"{n} {s}" for s, n in counts.items())
            if findings
            else f"clean: no findings in {', '.join(str(p) for p in paths)}"
        )
    raise typer.Exit(1 if audit_rules.at_or_above(findings, fail_on) else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")
    app.command(epilog="Example: drill audit /etc/haproxy/haproxy.cfg --fail-on error")(audit)
