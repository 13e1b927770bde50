"""What responders' commands do: append to the run's timeline.

`drill ack` and `note` are recorded at once by the command itself. `drill resolve` and
`drill abort` are requests: the run controller, which sees the live SLIs and the balancer,
answers them on the timeline, and the command waits for its answer. (Diagnoses and hints,
which need the drill's definition, are in playbooks.grading.)
"""

from __future__ import annotations

from doors.clock import wait_for
from drills.errors import DrillError, UsageError
from scoreboard.store import Store
from scoreboard.timeline import Event

ANSWER_DEADLINE_S = 30.0


def ack(store: Store, run_id: str | None, by: str) -> Event:
    row = store.active_run(run_id)
    return store.append(row.run_id, "acknowledged", by, "alert acknowledged")


def note(store: Store, run_id: str | None, by: str, text: str) -> Event:
    if not text.strip():
        raise UsageError("TEXT is empty: say what you saw or did, e.g. drill note 'db answers PING'")
    return store.append(store.active_run(run_id).run_id, "note", by, text.strip())


def request(store: Store, run_id: str | None, by: str, kind: str, answers: tuple[str, ...]) -> Event:
    """Append a request the controller answers (resolve, abort); wait for its answer."""
    row = store.active_run(run_id)
    asked = store.append(row.run_id, f"{kind}_requested", by, f"{kind} requested")

    def answered() -> tuple[bool, str]:
        found = [e for e in store.events(row.run_id, after=asked.id) if e.event in answers]
        return bool(found), found[0].event if found else "no answer yet"

    try:
        wait_for(f"the run controller to answer `drill {kind}`", answered, ANSWER_DEADLINE_S, 0.2, clock=store.clock)
    except DrillError as exc:
        raise DrillError(f"{exc}; is `drill run` for run {row.run_id} still running?") from None
    return next(e for e in store.events(row.run_id, after=asked.id) if e.event in answers)
