"""A whole `drill run` in fake time: the real controller, world, provisioning, injection, store
and scoring over the fake doors; the audience is a model that reads the fake balancer."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from chaos import audit
from chaos.target import Target
from doors.kit import Doors
from drills.definition import Drill
from orchestration import session
from orchestration.bus import Bus
from orchestration.world import RealWorld
from playbooks.repair import repair
from scoreboard.store import open_store
from scoreboard.timeline import milestones
from telemetry.rules import AlertEvent
from telemetry.windows import Slis
from tests.unit.fakestack import up


class ModelAudience:
    """Viewers as a model: balanced and healthy when every replica serves its equal share."""

    def __init__(self, clock_now: object) -> None:
        self.alerts: queue.Queue[AlertEvent] = queue.Queue()
        self.counting = False
        self.failure: BaseException | None = None
        self.target: Target | None = None
        self.fired = False

    def start(self, target: Target) -> None:
        self.target = target

    def stop(self) -> None:
        self.target = None

    @property
    def latest(self) -> Slis | None:
        if self.target is None:
            return None
        state = self.target.api.state()
        weights = {s.name: (s.weight if s.up else 0) for s in state.stats}
        if state.algo == "source":  # every viewer behind one address: one replica takes all
            weights = {name: int(name == "app1") for name in weights}
        total = sum(weights.values()) or 1
        shares = {name: w / total for name, w in weights.items()}
        skew = max(abs(share - 1 / len(shares)) for share in shares.values())
        squeezed = any(0 < s.limit < 4 for s in state.stats)
        bad = skew > 0.12 or squeezed
        if bad and not self.fired:
            self.fired = True
            self.alerts.put(AlertEvent("alert_fired", "errors", "error_rate > 0.02 for 3s", 0.0, 0.2, {}))
        p95, errors = (800.0, 0.2) if bad else (30.0, 0.0)
        return Slis(0.0, 5.0, 750, 150.0, errors, 0, 20.0, p95, p95, p95, shares, {}, skew, 1.0, 40, 0.4 if bad else 0)

    def impact(self) -> dict[str, float]:
        return {"requests": 1000, "error_share": 0.05, "audience_affected": 0.4}


def modelled_world(doors: Doors, drill: Drill, bus: Bus, seed: int, run_id: str) -> RealWorld:
    world = RealWorld(doors, drill, bus, seed, run_id)
    world.audience = ModelAudience(doors.clock.now)  # type: ignore[assignment]
    return world


@pytest.mark.parametrize("seed", [1, 5, 7, 11])  # source-hash, drained, health-check-broken, maxconn-squeeze
def test_a_whole_drill_run_resolves_on_the_fake_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    fake = up(tmp_path / "warmup", monkeypatch)  # fake doors with images; its own stack is not used
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    doors, runtime, clock = fake.doors, fake.runtime, fake.clock
    db = tmp_path / "drill.db"
    store = open_store(db, clock, create=True)
    written: list[str] = []

    def responder() -> None:  # a person who reads the audit and fixes the file by hand, 30 s after the alert
        active = [r for r in store.runs() if r.active]
        if not active or "alert_fired" not in [e.event for e in store.events(active[0].run_id)]:
            clock.at(clock.t + 1, responder)
            return
        config = tmp_path / "runs" / active[0].run_id / "lb" / "haproxy.cfg"
        findings = audit.at_or_above(audit.audit_haproxy(config.read_text(), "haproxy.cfg"), "warning")
        config.write_text(repair(config.read_text(), findings))
        runtime.signal(active[0].run_id, "lb", "SIGUSR2")

    clock.at(clock.t + 1, responder)
    options = session.Options("traffic-tango", team="blue", seed=seed, quiet=False)
    finished = session.run_drill(options, doors, db, written.append, lambda: True, modelled_world)
    assert finished.outcome == "resolved" and finished.row.outcome == "resolved"
    marks = milestones(store.events(finished.row.run_id))
    assert marks.fault_injected is not None and marks.mitigated is not None and marks.resolved is not None
    assert finished.card.points > 0 and finished.row.scores is not None
    mitigated = next(e for e in store.events(finished.row.run_id) if e.event == "mitigated")
    assert "the balancer config was edited" in mitigated.data["fix"]
    assert "reloaded gracefully" in mitigated.data["fix"], "the world tells a reload from a restart"
    injected = next(e for e in store.events(finished.row.run_id) if e.event == "fault_injected")
    assert injected.data["route"] == "config" and injected.data["audit"], "the faulted config's audit is on record"
    assert runtime.containers(finished.row.run_id) == [], "the stack is gone at the end"
    assert any("The dance floor is set" in line for line in written)
    assert len(store.slis(finished.row.run_id)) > 10
