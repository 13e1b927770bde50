"""Taking a run's stack down, fault first: also after its controller was killed.

An applied fault's saved state (runs/<id>/fault/) says what to restore, so `drill down`
after a crash reverts it before the stack goes, and closes the run on the timeline."""

from __future__ import annotations

from chaos import inject
from chaos.target import Target
from doors.kit import Doors
from doors.runtime import Reaped
from drills.errors import DrillError
from stack import provision
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
    return provision.down(doors, run_id), message
