"""The run controller: a drill's lifecycle as a declared sequence of phases.

provision -> baseline -> inject -> respond, then teardown always. The controller owns the
World (stack, traffic, monitor, fault: real in orchestration.world, fake in unit tests) and
an injected Clock, so the whole lifecycle runs in unit tests without sleeping. Everything
that happens is published on the run's Bus as it happens (the store subscribes);
responders' requests (resolve, abort) come back through the store and are answered here,
from what is observed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from doors.clock import Clock
from drills.definition import Drill, Recovery, Variant
from drills.errors import DrillError, Terminated
from orchestration.bus import Beat, Bus, Happened, Seen
from scoreboard.store import Store
from telemetry.rules import AlertEvent
from telemetry.windows import Slis

TICK_S = 0.5


class BaselineFailed(DrillError):
    exit_code = 5


class World(Protocol):
    """The side-effecting half of a run."""

    def provision(self) -> dict[str, str]: ...
    def start_traffic(self) -> None: ...
    def latest(self) -> Slis | None: ...
    def alerts(self) -> list[AlertEvent]: ...
    def inject(self, variant: Variant) -> str: ...
    def fault_in_effect(self) -> tuple[bool, str]: ...
    def revert(self) -> str: ...
    def balancer_restarted(self) -> bool: ...
    def fault_facts(self) -> dict[str, Any]: ...
    def fix_evidence(self) -> str: ...
    def impact(self) -> dict[str, float]: ...
    def teardown(self, keep: bool) -> None: ...


def healthy(slis: Slis | None, recovery: Recovery) -> tuple[bool, str]:
    """Do the SLOs and the balance hold in this window? Pure."""
    if slis is None or slis.requests == 0:
        return False, "no traffic answered yet"
    seen = f"p95 {slis.p95_latency_ms:.0f} ms, errors {slis.error_rate:.1%}, share skew {slis.max_share_skew:.2f}"
    ok = (
        slis.p95_latency_ms <= recovery.p95_ms
        and slis.error_rate <= recovery.error_rate
        and slis.max_share_skew <= recovery.max_share_skew
    )
    return ok, seen


@dataclass(frozen=True)
class Draw:
    """What a seed decides: the fault variant and when it lands after the baseline."""

    variant: Variant
    inject_after_s: float


def draw(drill: Drill, seed: int) -> Draw:
    rng = random.Random(seed)
    variant = rng.choice(drill.variants)
    return Draw(variant, round(rng.uniform(*drill.inject_window_s), 1))


@dataclass(frozen=True)
class RunPlan:
    """What a run is, fixed before it starts."""

    drill: Drill
    run_id: str
    team: str
    seed: int
    keep: bool = False
    draw: Draw | None = None  # a game day's shared draw; None: drawn from the seed

    @property
    def chosen(self) -> Draw:
        return self.draw or draw(self.drill, self.seed)


@dataclass
class RunState:
    """Where a run is: the controller's only mutable state."""

    phase: str = "provision"
    started: float = 0.0
    outcome: str | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    inject_due: float | None = None
    injected_at: float | None = None
    fault_applied: bool = False
    healthy_since: float | None = None
    seen_events: int = 0
    restart_seen: bool = False
    extra_s: float = 0.0  # time added to the limit by the facilitator (extend_requested)


@dataclass
class Run:
    plan: RunPlan
    world: World
    clock: Clock
    bus: Bus
    store: Store  # where responders' requests arrive (the bus's store subscriber writes our events)
    confirm_abort: Callable[[], bool] = lambda: True
    state: RunState = field(default_factory=RunState)

    @property
    def drill(self) -> Drill:
        return self.plan.drill

    @property
    def elapsed(self) -> float:
        return self.clock.now() - self.state.started

    def record(self, event: str, by: str = "drill", detail: str = "", data: Mapping[str, Any] | None = None) -> None:
        self.bus.publish(Happened(event, self.clock.utc(), by, detail, dict(data or {})))


def _provision(run: Run) -> None:
    run.state.endpoints = run.world.provision()
    detail = f"{run.drill.replicas} replicas behind the balancer at {run.state.endpoints.get('url')}"
    run.record("stack_ready", detail=detail, data={"endpoints": run.state.endpoints})
    run.world.start_traffic()


SETTLE_S = 90.0  # how long a stack may take to settle before its baseline counts as failed


def _baseline(run: Run) -> None:
    """The steady state must hold for the second half of baseline_s in a row (the first half fills
    the window). A stack still settling, from its own start or from other teams' stacks starting
    beside it on a game-day host, gets up to SETTLE_S more: the baseline waits for its stack, not
    for the machine, and fails only when the stack never settles."""
    started = run.clock.now()
    need = run.drill.baseline_s / 2
    held_since: float | None = None
    while True:
        _tick(run)
        now = run.clock.now()
        ok, seen = healthy(run.world.latest(), run.drill.recovery)
        held_since = (held_since or now) if ok and now >= started + need else None
        if held_since is not None and now - held_since >= need:
            break
        if now - started >= run.drill.baseline_s + SETTLE_S:
            waited = f"{run.drill.baseline_s + SETTLE_S:g}s"
            raise BaselineFailed(
                f"the steady state did not hold during the baseline ({seen}, after {waited}); nothing was injected"
            )
        run.clock.sleep(TICK_S)
    run.record("baseline_ok", detail=healthy(run.world.latest(), run.drill.recovery)[1])


def _inject(run: Run) -> None:
    """Wait for the drawn moment, then inject. Safe to re-enter after a Ctrl-C answered "no"."""
    chosen = run.plan.chosen
    state = run.state
    if state.inject_due is None:
        state.inject_due = run.clock.now() + chosen.inject_after_s
    while run.clock.now() < state.inject_due and state.outcome is None:
        _tick(run)
        run.clock.sleep(TICK_S)
    if state.outcome is not None:
        return
    if state.fault_applied:  # re-entered: the Ctrl-C landed while the fault was being applied
        if state.injected_at is None:
            _finish(run, "aborted", "interrupted while the fault was being applied")
        return
    state.fault_applied = True
    summary = run.world.inject(chosen.variant)
    state.injected_at = run.clock.now()
    data = {"fault": chosen.variant.label, "summary": summary, **run.world.fault_facts()}
    run.record("fault_injected", detail=f"{chosen.variant.label}: {summary}", data=data)


def _respond(run: Run) -> None:
    assert run.state.injected_at is not None
    while run.state.outcome is None:
        _tick(run)
        _judge_recovery(run)
        limit = run.drill.time_limit_s + run.state.extra_s
        if run.state.outcome is None and run.clock.now() >= run.state.injected_at + limit:
            _finish(run, "timeout", f"time limit of {limit:g}s reached")
        run.clock.sleep(TICK_S)


# The lifecycle, as data: (phase name, step). The inject phase shows as "running" to anyone
# without the reveal, before and after the fault lands.
PHASES: tuple[tuple[str, Callable[[Run], None]], ...] = (
    ("provision", _provision),
    ("baseline", _baseline),
    ("running", _inject),
    ("respond", _respond),
)


def _tick(run: Run) -> None:
    """One beat: alerts to the timeline, responders' requests answered, a restart noticed, the pulse."""
    for alert in run.world.alerts():
        detail = f"{alert.rule}: {alert.expression} (now {alert.value:.3g})"
        run.record(alert.kind, by="monitor", detail=detail, data={"rule": alert.rule, "value": alert.value})
    for event in run.store.events(run.plan.run_id, after=run.state.seen_events):
        run.state.seen_events = event.id
        if event.event == "resolve_requested":
            _answer_resolve(run, event.by)
        elif event.event == "abort_requested":
            _finish(run, "aborted", f"aborted by {event.by}")
        elif event.event == "extend_requested":
            run.state.extra_s += float(event.data.get("seconds", 0.0))
            run.record("extended", event.by, f"time limit extended by {event.data.get('seconds', 0):g}s")
        elif event.by not in ("drill", "monitor"):
            run.bus.publish(Seen(event))
    if not run.state.restart_seen and run.state.injected_at is not None and run.world.balancer_restarted():
        run.state.restart_seen = True
        run.record("balancer_restarted", detail="the balancer container was restarted: connections dropped")
    run.bus.publish(Beat(run.state.phase, run.elapsed, run.world.latest(), run.world.impact()))


def _judge_recovery(run: Run) -> None:
    ok, seen = _observed(run)
    state = run.state
    now = run.clock.now()
    if ok and state.healthy_since is None:
        state.healthy_since = now
        run.record("mitigated", detail=f"observed: {seen}", data={"fix": run.world.fix_evidence()})
    elif not ok and state.healthy_since is not None:
        state.healthy_since = None
        run.record("relapsed", detail=f"observed: {seen}")
    if state.healthy_since is not None and now - state.healthy_since >= run.drill.recovery.sustain_s:
        _finish(run, "resolved", f"recovery held for {run.drill.recovery.sustain_s:g}s ({seen})")


def _observed(run: Run) -> tuple[bool, str]:
    ok, seen = healthy(run.world.latest(), run.drill.recovery)
    effect, why = run.world.fault_in_effect()
    if effect:
        return False, f"{seen}; the fault is still in effect"
    return ok, seen if ok else f"{seen} ({why})"


def _answer_resolve(run: Run, by: str) -> None:
    if run.state.injected_at is None:
        run.record("premature_resolve", by, "nothing to resolve yet")
        return
    ok, seen = _observed(run)
    if ok and run.state.healthy_since is None:
        _judge_recovery(run)  # recovered since the last beat: record mitigated before answering
    if ok and run.state.healthy_since is not None:
        held = run.drill.recovery.sustain_s
        run.record("resolve_declared", by, f"accepted: {seen}; resolved once it has held {held:g}s")
    else:
        run.record("premature_resolve", by, f"not recovered: {seen}")


def _finish(run: Run, outcome: str, detail: str) -> None:
    if run.state.outcome is not None:
        return
    run.state.outcome = outcome
    data: dict[str, Any] = dict(run.world.impact())
    if outcome != "resolved" and run.state.fault_applied:
        detail += f"; the fault was {run.world.revert()}"
        run.state.fault_applied = False
    run.record(outcome, detail=detail, data=data)


def execute(run: Run) -> str:
    """Run the phases; always revert and tear down. Returns the outcome."""
    run.state.started = run.clock.now()
    try:
        for name, phase in PHASES:
            run.state.phase = name
            _run_phase(run, name, phase)
            if run.state.outcome is not None:
                break
    except BaseException as exc:
        _finish(run, "aborted", f"aborted: {exc}" if str(exc) else f"aborted: {type(exc).__name__}")
        raise
    finally:
        _teardown(run)
    return run.state.outcome or "aborted"


def _run_phase(run: Run, name: str, phase: Callable[[Run], None]) -> None:
    while True:
        try:
            phase(run)
            return
        except Terminated:
            _finish(run, "aborted", "terminated (SIGTERM)")
            return
        except KeyboardInterrupt:
            # Before injection there is nothing to save: stop. After, ask (a stray Ctrl-C
            # should not end a game day); a "no" resumes the phase where it was.
            if name in ("provision", "baseline") or run.confirm_abort():
                _finish(run, "aborted", "aborted by the facilitator (Ctrl-C)")
                return


def _teardown(run: Run) -> None:
    """Revert and take the stack down, even when recording it fails (the store lost mid-run)."""
    try:
        if run.state.fault_applied:
            run.state.fault_applied = False
            run.record("fault_reverted", detail=run.world.revert())
    finally:
        run.world.teardown(run.plan.keep)
