"""The run controller: a drill's lifecycle as a declared sequence of phases.

provision -> baseline -> inject -> respond, then teardown always. The controller owns the
World (stack, traffic, monitor, fault: real in drills.world, fake in unit tests) and an
injected Clock, so the whole lifecycle runs in unit tests without sleeping. Everything that
happens goes on the timeline store as it happens; responders' requests (resolve, abort)
come back through the same store and are answered here, from what is observed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from drills.definition import Drill, Recovery, Variant
from drills.errors import DrillError
from scoreboard.store import Store
from telemetry.rules import AlertEvent
from telemetry.windows import Slis

TICK_S = 0.5


class Terminated(KeyboardInterrupt):
    """SIGTERM: abort at once, without asking."""


class BaselineFailed(DrillError):
    exit_code = 5


class Clock(Protocol):
    def now(self) -> float: ...
    def utc(self) -> datetime: ...
    def sleep(self, seconds: float) -> None: ...


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


@dataclass
class Run:
    drill: Drill
    run_id: str
    team: str
    seed: int
    store: Store
    world: World
    clock: Clock
    say: Callable[[str], None]  # narration and notices for the controller's terminal
    live: Callable[[str], None] = lambda line: None
    confirm_abort: Callable[[], bool] = lambda: True
    reveal: bool = False
    keep: bool = False
    on_ready: Callable[[Run], None] = lambda run: None  # e.g. start the autopilot
    phase: str = "provision"
    started: float = 0.0
    outcome: str | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    inject_due: float | None = None
    injected_at: float | None = None
    healthy_since: float | None = None
    mitigated: bool = False
    seen_events: int = 0
    fault_applied: bool = False
    last_slis_at: float = -1.0
    last_live_at: float = -1.0
    restart_seen: bool = False

    @property
    def elapsed(self) -> float:
        return self.clock.now() - self.started

    def record(self, event: str, by: str = "drill", detail: str = "", data: dict[str, Any] | None = None) -> None:
        self.store.append(self.run_id, event, by, detail, data, at=self.clock.utc())
        narration = self.drill.narration.get(event)
        if narration and (event != "fault_injected" or self.reveal):
            self.say(f"  {narration}")


def _provision(run: Run) -> None:
    run.endpoints = run.world.provision()
    run.record("stack_ready", detail=f"{run.drill.replicas} replicas behind the balancer at {run.endpoints.get('url')}")
    run.world.start_traffic()
    run.on_ready(run)


def _baseline(run: Run) -> None:
    run.phase = "baseline"
    end = run.clock.now() + run.drill.baseline_s
    judged_from = run.clock.now() + run.drill.baseline_s / 2  # the window needs time to fill
    while run.clock.now() < end:
        _tick(run)
        ok, seen = healthy(run.world.latest(), run.drill.recovery)
        if run.clock.now() >= judged_from and not ok:
            raise BaselineFailed(f"the steady state did not hold during the baseline ({seen}); nothing was injected")
        run.clock.sleep(TICK_S)
    run.record("baseline_ok", detail=healthy(run.world.latest(), run.drill.recovery)[1])


def _inject(run: Run) -> None:
    """Wait for the drawn moment, then inject. Safe to re-enter after a Ctrl-C answered "no"."""
    chosen = draw(run.drill, run.seed)
    run.phase = "running"
    if run.inject_due is None:
        run.inject_due = run.clock.now() + chosen.inject_after_s
    while run.clock.now() < run.inject_due and run.outcome is None:
        _tick(run)
        run.clock.sleep(TICK_S)
    if run.outcome is not None:
        return
    if run.fault_applied:  # re-entered: the Ctrl-C landed while the fault was being applied
        if run.injected_at is None:
            _finish(run, "aborted", "interrupted while the fault was being applied")
        return
    run.fault_applied = True
    summary = run.world.inject(chosen.variant)
    run.injected_at = run.clock.now()
    data = {"fault": chosen.variant.label, "summary": summary, **run.world.fault_facts()}
    run.record("fault_injected", detail=f"{chosen.variant.label}: {summary}", data=data)
    if run.reveal:
        run.say(f"  [reveal] {chosen.variant.label}: {summary}")


def _respond(run: Run) -> None:
    assert run.injected_at is not None
    deadline = run.injected_at + run.drill.time_limit_s
    while run.outcome is None:
        _tick(run)
        _judge_recovery(run)
        if run.outcome is None and run.clock.now() >= deadline:
            _finish(run, "timeout", f"time limit of {run.drill.time_limit_s:g}s reached")
        run.clock.sleep(TICK_S)


PHASES: list[tuple[str, Callable[[Run], None]]] = [
    ("provision", _provision),
    ("baseline", _baseline),
    ("inject", _inject),
    ("respond", _respond),
]


def _tick(run: Run) -> None:
    """One beat: alerts to the timeline, responders' requests answered, SLIs kept, live view."""
    for alert in run.world.alerts():
        run.record(
            alert.kind,
            by="monitor",
            detail=f"{alert.rule}: {alert.expression} (now {alert.value:.3g})",
            data={"rule": alert.rule, "value": alert.value},
        )
    for event in run.store.events(run.run_id, after=run.seen_events):
        run.seen_events = event.id
        if event.event == "resolve_requested":
            _answer_resolve(run, event.by)
        elif event.event == "abort_requested":
            _finish(run, "aborted", f"aborted by {event.by}")
        elif event.event not in ("alert_fired", "alert_cleared") and event.by not in ("drill", "monitor"):
            run.say(f"  {event.event} by {event.by}: {event.detail}")
    if not run.restart_seen and run.phase == "running" and run.world.balancer_restarted():
        run.restart_seen = True
        run.record("balancer_restarted", detail="the balancer container was restarted: connections dropped")
    _keep_slis(run)


def _keep_slis(run: Run) -> None:
    slis = run.world.latest()
    now = run.elapsed
    if slis is not None and now - run.last_slis_at >= 1.0:
        run.last_slis_at = now
        run.store.add_slis(
            run.run_id,
            round(now, 2),
            {
                "rate": slis.rate,
                "error_rate": slis.error_rate,
                "p50": slis.p50_latency_ms,
                "p95": slis.p95_latency_ms,
                "p99": slis.p99_latency_ms,
                "shares": slis.shares,
                "skew": slis.max_share_skew,
                "audience_affected": slis.audience_affected,
            },
        )
    if now - run.last_live_at >= 2.0:
        run.last_live_at = now
        run.live(live_line(run, slis))


def live_line(run: Run, slis: Slis | None) -> str:
    phase = run.phase if (run.reveal or run.phase != "respond") else "running"
    if slis is None:
        return f"[{phase:<9} {_mmss(run.elapsed)}] waiting for traffic"
    return (
        f"[{phase:<9} {_mmss(run.elapsed)}] {slis.rate:5.0f} req/s  p95 {slis.p95_latency_ms:5.0f} ms  "
        f"errors {slis.error_rate:5.1%}  skew {slis.max_share_skew:4.2f}"
    )


def _mmss(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def _judge_recovery(run: Run) -> None:
    ok, seen = _observed(run)
    now = run.clock.now()
    if ok and run.healthy_since is None:
        run.healthy_since = now
        run.mitigated = True
        run.record("mitigated", detail=f"observed: {seen}", data={"fix": run.world.fix_evidence()})
    elif not ok and run.healthy_since is not None:
        run.healthy_since = None
        run.record("relapsed", detail=f"observed: {seen}")
    if run.healthy_since is not None and now - run.healthy_since >= run.drill.recovery.sustain_s:
        _finish(run, "resolved", f"recovery held for {run.drill.recovery.sustain_s:g}s ({seen})")


def _observed(run: Run) -> tuple[bool, str]:
    ok, seen = healthy(run.world.latest(), run.drill.recovery)
    effect, why = run.world.fault_in_effect()
    if effect:
        return False, f"{seen}; the fault is still in effect"
    return ok, seen if ok else f"{seen} ({why})"


def _answer_resolve(run: Run, by: str) -> None:
    if run.injected_at is None:
        run.record("premature_resolve", by, "nothing to resolve yet")
        return
    ok, seen = _observed(run)
    if ok and run.healthy_since is None:
        _judge_recovery(run)  # recovered since the last beat: record mitigated before answering
    if ok and run.healthy_since is not None:
        run.record(
            "resolve_declared", by, f"accepted: {seen}; resolved once it has held {run.drill.recovery.sustain_s:g}s"
        )
    else:
        run.record("premature_resolve", by, f"not recovered: {seen}")


def _finish(run: Run, outcome: str, detail: str) -> None:
    if run.outcome is not None:
        return
    run.outcome = outcome
    data: dict[str, Any] = dict(run.world.impact())
    if outcome != "resolved" and run.fault_applied:
        detail += f"; the fault was {run.world.revert()}"
        run.fault_applied = False
    run.record(outcome, detail=detail, data=data)


def execute(run: Run) -> str:
    """Run the phases; always revert and tear down. Returns the outcome."""
    run.started = run.clock.now()
    try:
        for name, phase in PHASES:
            run.phase = name if name != "inject" else run.phase
            while True:
                try:
                    phase(run)
                    break
                except Terminated:
                    _finish(run, "aborted", "terminated (SIGTERM)")
                    break
                except KeyboardInterrupt:
                    # Before injection there is nothing to save: stop. After, ask (a stray Ctrl-C
                    # should not end a game day); a "no" resumes the phase where it was.
                    if name in ("provision", "baseline") or run.confirm_abort():
                        _finish(run, "aborted", "aborted by the facilitator (Ctrl-C)")
                        break
            if run.outcome is not None:
                break
    except BaseException as exc:
        _finish(run, "aborted", f"aborted: {exc}" if str(exc) else f"aborted: {type(exc).__name__}")
        raise
    finally:
        _teardown(run)
    return run.outcome or "aborted"


def _teardown(run: Run) -> None:
    if run.fault_applied:
        run.fault_applied = False
        run.record("fault_reverted", detail=run.world.revert())
    run.world.teardown(run.keep)
