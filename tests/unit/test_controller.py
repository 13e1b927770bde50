"""The run lifecycle with a fake World and a fake clock: no Docker, no sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from doors.fakes import FakeClock
from drills.definition import Drill, Variant
from drills.errors import DrillError
from drills.loader import builtin_files, load_file
from orchestration import controller
from orchestration.bus import Bus
from orchestration.subscribers import StoreWriter
from playbooks.checks import CHECKS
from scoreboard.scoring import score
from scoreboard.store import open_store
from scoreboard.timeline import milestones, outcome
from telemetry.rules import AlertEvent
from telemetry.windows import Slis


def slis(p95: float = 30.0, errors: float = 0.0, skew: float = 0.0) -> Slis:
    return Slis(0.0, 5.0, 500, 100.0, errors, 0, 20.0, p95, p95, p95, {}, {}, skew, 1.0, 40, 0.0)


@dataclass
class FakeWorld:
    clock: FakeClock
    baseline_ok: bool = True
    injected: float | None = None
    fixed: bool = False
    reverted: int = 0
    torn_down: bool = False
    fired: bool = False
    interrupt_at: list[float] = field(default_factory=list)
    restart_after: float | None = None  # seconds after the fault at which a responder restarts the balancer
    settles_at: float = 0.0  # clock time before which the stack is still settling (slow)

    def provision(self) -> dict[str, str]:
        return {"url": "http://127.0.0.1:1"}

    def start_traffic(self) -> None:
        pass

    def broken(self) -> bool:
        return self.injected is not None and not self.fixed

    def latest(self) -> Slis | None:
        if self.interrupt_at and self.clock.t >= self.interrupt_at[0]:
            self.interrupt_at.pop(0)
            raise KeyboardInterrupt
        if not self.baseline_ok or self.clock.t < self.settles_at:
            return slis(p95=900)
        return slis(p95=800, errors=0.2, skew=0.5) if self.broken() else slis()

    def alerts(self) -> list[AlertEvent]:
        if self.broken() and not self.fired and self.injected is not None and self.clock.t - self.injected >= 4:
            self.fired = True
            return [AlertEvent("alert_fired", "high-latency", "p95_latency_ms > 400 for 3s", self.clock.t, 800, {})]
        return []

    def inject(self, variant: Variant) -> str:
        self.injected = self.clock.t
        return f"{variant.fault} applied"

    def fault_in_effect(self) -> tuple[bool, str]:
        return self.broken(), "weights app1=100"

    def revert(self) -> str:
        self.reverted += 1
        self.fixed = True
        return "reverted"

    def balancer_restarted(self) -> bool:
        if self.restart_after is None or self.injected is None:
            return False
        return self.clock.t >= self.injected + self.restart_after

    def fault_facts(self) -> dict[str, object]:
        return {"route": "config", "audit": ["haproxy.cfg:36: error [weights-skew] ..."]}

    def fix_evidence(self) -> str:
        return "config edited; balancer reloaded"

    def impact(self) -> dict[str, float]:
        return {"requests": 1000, "error_share": 0.05, "audience_affected": 0.4}

    def teardown(self, keep: bool) -> None:
        self.torn_down = True


@pytest.fixture
def drill() -> Drill:
    return replace(load_file(builtin_files()["traffic-tango"], CHECKS), time_limit_s=120.0)


def make_run(drill: Drill, tmp_path: Path, world: FakeWorld | None = None, **kw: object) -> controller.Run:
    clock = world.clock if world else FakeClock()
    store = open_store(tmp_path / "drill.db", create=True)
    store.begin_run(
        "abc123", drill.name, drill.source, "blue", ["ana"], "2026-Q4", 7, "lb.weights-skew", started=clock.utc()
    )
    bus = Bus()
    bus.subscribe(StoreWriter(store, "abc123"))
    plan = controller.RunPlan(drill, "abc123", "blue", 7)
    return controller.Run(plan, world or FakeWorld(clock), clock, bus, store, **kw)  # type: ignore[arg-type]


def responder_at(
    run: controller.Run, offset_from_injection: float, event: str, detail: str = "", action: object = None
) -> None:
    world = run.world
    assert isinstance(world, FakeWorld)
    clock = run.clock
    assert isinstance(clock, FakeClock)

    def act() -> None:
        if world.injected is None:
            clock.at(clock.t + 1, act)
            return
        due = world.injected + offset_from_injection
        if clock.t < due:
            clock.at(due, act)
            return
        if event:
            run.store.append(run.plan.run_id, event, "ana", detail, at=clock.utc())
        if callable(action):
            action()

    clock.at(clock.t, act)


def test_a_run_that_is_fixed_resolves_with_milestones_in_order(drill: Drill, tmp_path: Path) -> None:
    run = make_run(drill, tmp_path)
    world = run.world
    assert isinstance(world, FakeWorld)
    responder_at(run, 6, "acknowledged")
    responder_at(run, 9, "diagnosed", "balancer")
    responder_at(run, 15, "", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    events = run.store.events("abc123")
    marks = milestones(events)
    order = [
        marks.fault_injected,
        marks.alert_fired,
        marks.acknowledged,
        marks.diagnosed,
        marks.mitigated,
        marks.resolved,
    ]
    assert None not in order and order == sorted(order)
    assert marks.resolved is not None and marks.mitigated is not None
    assert marks.resolved - marks.mitigated == pytest.approx(drill.recovery.sustain_s, abs=0.6)
    assert world.torn_down and world.reverted == 1, "the fault is reverted at teardown even after a fix"
    assert [e.event for e in events][:2] == ["stack_ready", "baseline_ok"]
    assert score(events, drill.rubric).points > 0


def test_nobody_responds_the_run_times_out_and_reverts(drill: Drill, tmp_path: Path) -> None:
    run = make_run(drill, tmp_path)
    assert controller.execute(run) == "timeout"
    events = run.store.events("abc123")
    assert outcome(events) == "timeout"
    timeout = next(e for e in events if e.event == "timeout")
    assert "the fault was reverted" in timeout.detail and timeout.data["error_share"] == 0.05
    marks = milestones(events)
    assert marks.fault_injected is not None
    assert timeout.offset_s - marks.fault_injected == pytest.approx(drill.time_limit_s, abs=0.6)
    assert isinstance(run.world, FakeWorld) and run.world.reverted == 1 and run.world.torn_down


def test_baseline_that_does_not_hold_injects_nothing(drill: Drill, tmp_path: Path) -> None:
    world = FakeWorld(FakeClock(), baseline_ok=False)
    run = make_run(drill, tmp_path, world)
    with pytest.raises(controller.BaselineFailed, match=r"steady state did not hold.*p95 900 ms"):
        controller.execute(run)
    assert world.injected is None and world.reverted == 0 and world.torn_down
    assert "fault_injected" not in [e.event for e in run.store.events("abc123")]


def test_resolve_before_recovery_is_premature_then_accepted(drill: Drill, tmp_path: Path) -> None:
    run = make_run(drill, tmp_path)
    world = run.world
    assert isinstance(world, FakeWorld)
    responder_at(run, 5, "resolve_requested")
    responder_at(run, 10, "", action=lambda: setattr(world, "fixed", True))
    responder_at(run, 18, "resolve_requested")
    assert controller.execute(run) == "resolved"
    answers = [e.event for e in run.store.events("abc123") if e.event in ("premature_resolve", "resolve_declared")]
    assert answers == ["premature_resolve", "resolve_declared"]


def test_ctrl_c_asks_and_a_no_carries_on_a_yes_aborts(drill: Drill, tmp_path: Path) -> None:
    clock = FakeClock()
    world = FakeWorld(clock)
    answers = iter([False, True])
    run = make_run(drill, tmp_path, world, confirm_abort=lambda: next(answers))
    world.interrupt_at = [clock.t + 40, clock.t + 60]  # both after the latest possible injection
    assert controller.execute(run) == "aborted"
    events = run.store.events("abc123")
    aborted = [e for e in events if e.event == "aborted"]
    assert len(aborted) == 1 and "Ctrl-C" in aborted[0].detail
    assert aborted[0].offset_s >= 59, "the first Ctrl-C, answered no, must not end the run"
    assert world.reverted == 1 and world.torn_down


def test_abort_request_ends_the_run(drill: Drill, tmp_path: Path) -> None:
    run = make_run(drill, tmp_path)
    responder_at(run, 3, "abort_requested")
    assert controller.execute(run) == "aborted"
    assert isinstance(run.world, FakeWorld) and run.world.reverted == 1


def test_the_seed_decides_variant_and_moment(drill: Drill) -> None:
    assert controller.draw(drill, 42) == controller.draw(drill, 42)
    draws = [controller.draw(drill, seed) for seed in range(200)]
    assert {d.variant.label for d in draws} == {v.label for v in drill.variants}
    low, high = drill.inject_window_s
    assert all(low <= d.inject_after_s <= high for d in draws)


def test_healthy_judges_each_slo() -> None:
    from drills.definition import Recovery

    rec = Recovery(p95_ms=300, error_rate=0.01, max_share_skew=0.1)
    assert controller.healthy(slis(), rec)[0]
    assert not controller.healthy(slis(p95=301), rec)[0]
    assert not controller.healthy(slis(errors=0.02), rec)[0]
    assert not controller.healthy(slis(skew=0.2), rec)[0]
    assert not controller.healthy(None, rec)[0]


def test_resolve_in_the_beat_recovery_is_first_seen_is_accepted(drill: Drill, tmp_path: Path) -> None:
    run = make_run(drill, tmp_path)
    world = run.world
    assert isinstance(world, FakeWorld)
    responder_at(run, 10, "resolve_requested", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    events = [e.event for e in run.store.events("abc123")]
    assert "premature_resolve" not in events
    assert events.index("mitigated") < events.index("resolve_declared") < events.index("resolved")


def test_a_no_to_ctrl_c_before_injection_keeps_the_drawn_moment(drill: Drill, tmp_path: Path) -> None:
    clock = FakeClock()
    world = FakeWorld(clock)
    run = make_run(drill, tmp_path, world, confirm_abort=lambda: False)
    world.interrupt_at = [clock.t + drill.baseline_s + 2]  # during the wait for the drawn moment
    responder_at(run, 5, "", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    assert world.injected is not None
    expected = 1000.0 + drill.baseline_s + controller.draw(drill, 7).inject_after_s
    assert world.injected == pytest.approx(expected, abs=controller.TICK_S + 0.01)


def test_a_balancer_restart_during_the_response_is_recorded_and_costs_the_bonus(drill: Drill, tmp_path: Path) -> None:
    """The restart check used to run only while the phase was named "running", but the response
    phase is "respond": a restart was never recorded and the no-downtime bonus always paid."""
    world = FakeWorld(FakeClock(), restart_after=8)
    run = make_run(drill, tmp_path, world)
    responder_at(run, 12, "", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    events = run.store.events("abc123")
    restarts = [e for e in events if e.event == "balancer_restarted"]
    assert len(restarts) == 1, "recorded once, however many beats see it"
    card = score(events, drill.rubric)
    assert any("balancer restarted" in line and "+0.0" in line for line in card.lines)


def test_the_controller_publishes_one_stream_the_store_and_the_terminal_share(drill: Drill, tmp_path: Path) -> None:
    from orchestration.subscribers import Narrator

    run = make_run(drill, tmp_path)
    world = run.world
    assert isinstance(world, FakeWorld)
    shown: list[str] = []
    run.bus.subscribe(Narrator(drill, shown.append, reveal=False))
    responder_at(run, 6, "acknowledged")
    responder_at(run, 10, "", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    stored = [e.event for e in run.store.events("abc123")]
    assert "fault_injected" in stored and "acknowledged" in stored
    text = "\n".join(shown)
    assert drill.narration["stack_ready"] in text and drill.narration["resolved"] in text
    assert "acknowledged by ana" in text
    assert "lb.weights-skew" not in text and "[reveal]" not in text, "no word of the fault without the reveal"
    assert "respond" not in text, "the live line says running before and after the fault"
    assert len(run.store.slis("abc123")) >= 20, "SLIs kept once a second through the same stream"


def test_a_stack_still_settling_gets_its_baseline_once_it_settles(drill: Drill, tmp_path: Path) -> None:
    """Eight teams starting at once keep the machine busy for a while: a baseline waits for its own
    stack to settle instead of failing on the first slow window."""
    clock = FakeClock()
    world = FakeWorld(clock, settles_at=clock.t + 40)
    run = make_run(drill, tmp_path, world)
    responder_at(run, 5, "", action=lambda: setattr(world, "fixed", True))
    assert controller.execute(run) == "resolved"
    baseline = next(e for e in run.store.events("abc123") if e.event == "baseline_ok")
    assert baseline.offset_s >= 40 + drill.baseline_s / 2, "judged only once the stack had settled and held"
    assert "p95 30 ms" in baseline.detail


def test_a_store_lost_mid_run_still_reverts_the_fault_and_tears_down(drill: Drill, tmp_path: Path) -> None:
    world = FakeWorld(FakeClock())
    run = make_run(drill, tmp_path, world)

    def lost(*args: object, **kwargs: object) -> None:
        raise DrillError("postgresql://db.example/drill: lost the drill database, cannot reconnect")

    responder_at(run, 10, "", action=lambda: setattr(run.store, "append", lost))
    with pytest.raises(DrillError, match="lost the drill database"):
        controller.execute(run)
    assert world.reverted == 1 and world.torn_down, "nothing left behind when the record cannot be written"
