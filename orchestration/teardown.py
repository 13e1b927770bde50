"""Taking a run's stack down, fault first: also after its controller was killed.

An applied fault's saved state (runs/<id>/fault/) says what to restore, so `drill down`
after a crash reverts it before the stack goes, and closes the run on the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from chaos import inject
from chaos.target import Target
from doors.kit import Doors
from doors.runtime import Reaped
from drills import loader
from drills.errors import DrillError, UsageError
from playbooks.checks import CHECKS
from scoreboard.scoring import score
from scoreboard.store import Store
from stack import gamedaylock, provision
from stack.handle import open_stack
from stack.rundir import RunDir


def revert_fault(doors: Doors, run_id: str) -> str | None:
    """Revert the run's applied fault if it has one; say what happened (None: there was none)."""
    if not (RunDir(run_id).path / "fault" / "fault.json").is_file():
        return None
    if not any(c.running for c in doors.runtime.containers(run_id)):
        return f"run {run_id} had a fault applied; its stack is no longer running, so removing it is the revert"
    try:
        return inject.revert(Target(open_stack(doors, run_id)))
    except DrillError as exc:  # the stack goes anyway; say so loudly
        return f"warning: {exc}"


def down(doors: Doors, run_id: str) -> tuple[Reaped, str | None]:
    message = revert_fault(doors, run_id)
    reaped = provision.down(doors, run_id)
    return reaped, message


def down_runs(doors: Doors, run_id: str | None, machine_wide: bool, store: Store | None) -> Iterator[str]:
    """`drill down RUN_ID` or `--all` (this DRILL_HOME's runs; machine_wide: every drill run here).
    Yields what happened, a line each; a run that was never here is an error, not a success."""
    if run_id is not None and not provision.exists(doors, run_id):
        raise UsageError(f"run {run_id}: no such run on this machine (`drill status` lists them)")
    ids = [run_id] if run_id else provision.known_run_ids(doors, machine_wide)
    for rid in ids:
        started = doors.clock.now()
        reaped, message = down(doors, rid)
        gamedaylock.unlock(rid)  # a game day killed mid-run leaves its team's lock: gone with the stack
        if message:
            yield message
        yield (
            f"run {rid} down in {doors.clock.now() - started:.1f}s "
            f"({reaped.containers} containers, {reaped.networks} networks, {reaped.volumes} volumes removed)"
        )
        closed = abandon(store, rid) if store else None
        if closed:
            yield closed
    if not ids:
        yield "no runs to remove"


def abandon(store: Store, run_id: str) -> str | None:
    """After `drill down` of a run whose controller died: close its timeline as aborted."""
    try:
        row = store.run(run_id)
    except UsageError:
        return None
    if not row.active:
        return None
    kept = store.slis(run_id)
    impact = dict(kept[-1][1].get("impact") or {}) if kept else {}  # what the viewers felt, to the last second kept
    detail = "the run's controller was lost; `drill down` removed the stack"
    store.append(run_id, "aborted", "drill", detail, impact)
    try:
        rubric = loader.load_file(Path(row.drill_file), CHECKS).rubric
        scores = score(store.events(run_id), rubric).as_dict()
    except DrillError:
        scores = {}
    store.end_run(run_id, "aborted", scores)
    return f"run {run_id} recorded as aborted on the timeline"
