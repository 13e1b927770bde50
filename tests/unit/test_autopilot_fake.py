"""The autopilot against a fake stack: it finds the fault by real means (the balancer's state,
the config file's audit), fixes the file, reloads, and declares resolved once drill agrees."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from chaos import inject
from drills.loader import builtin_files
from playbooks.autopilot import Autopilot
from scoreboard.store import Store, open_store
from tests.unit.fakestack import FakeStack, every, up


def begin(fake: FakeStack, tmp_path: Path, fault: str) -> Store:
    store = open_store(tmp_path / "drill.db", fake.clock, create=True)
    drill_file = str(builtin_files()["traffic-tango"])
    store.begin_run(fake.run_id, "traffic-tango", drill_file, "blue", [], "2026-Q4", 1, fault, fake.clock.utc())
    return store


def play_controller(fake: FakeStack, store: Store) -> None:
    """What the run controller does that the autopilot waits on: see recovery, answer resolve."""

    def beat() -> None:
        events = store.events(fake.run_id)
        names = [e.event for e in events]
        if "mitigated" not in names and not inject.in_effect(fake.target)[0]:
            store.append(fake.run_id, "mitigated", "drill", "observed", at=fake.clock.utc())
        asked = names.count("resolve_requested")
        if asked > names.count("resolve_declared"):
            store.append(fake.run_id, "resolve_declared", "autopilot", "accepted", at=fake.clock.utc())

    every(fake.clock, 0.25, beat)


@pytest.mark.parametrize("fault", ["lb.weights-skew", "lb.source-hash", "lb.health-check-broken", "lb.tango"])
def test_autopilot_finds_fixes_reloads_and_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    fake = up(tmp_path, monkeypatch)
    original = fake.stack.config_path.read_text()
    store = begin(fake, tmp_path, fault)
    inject.inject(fake.target, inject.plan(fake.target, fault, {}))
    store.append(fake.run_id, "fault_injected", "drill", fault, at=fake.clock.utc())
    store.append(fake.run_id, "alert_fired", "monitor", "errors", at=fake.clock.utc())
    play_controller(fake, store)
    Autopilot(fake.stack, store, 120).respond()
    events = [(e.event, e.by, e.detail) for e in store.events(fake.run_id)]
    mine = [name for name, by, _ in events if by == "autopilot"]
    assert mine[:4] == ["acknowledged", "note", "note", "diagnosed"], "a right diagnosis, no red herring"
    assert mine[-2:] == ["resolve_requested", "resolve_declared"]
    notes = [detail for name, by, detail in events if name == "note"]
    assert "database innocent: redis-cli ping in db -> 'PONG'" in notes[0] and "-> 200" in notes[0]
    assert notes[-1].endswith("reloaded the balancer (SIGUSR2)")
    assert fake.stack.config_path.read_text() == original, "the repair gives back the reference config"
    assert "signal SIGUSR2 lb" in fake.runtime.actions and inject.in_effect(fake.target)[0] is False


def test_autopilot_giving_up_goes_on_the_timeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = up(tmp_path, monkeypatch)
    store = begin(fake, tmp_path, "lb.weights-skew")
    store.append(fake.run_id, "alert_fired", "monitor", "errors", at=fake.clock.utc())
    del fake.runtime.containers_by_run[fake.run_id]["db"]  # someone removed the database container
    pilot = Autopilot(fake.stack, store, 120)
    pilot._safely()
    gave_up = [e for e in store.events(fake.run_id) if e.data.get("gave_up")]
    assert (
        len(gave_up) == 1 and "autopilot gave up: run" in gave_up[0].detail and "no 'db' container" in gave_up[0].detail
    )


def test_autopilot_watches_the_graphs_on_the_stacks_clock_before_acting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = up(tmp_path, monkeypatch)
    store = begin(fake, tmp_path, "lb.weights-skew")
    inject.inject(fake.target, inject.plan(fake.target, "lb.weights-skew", {}))
    store.append(fake.run_id, "alert_fired", "monitor", "errors", at=fake.clock.utc())
    play_controller(fake, store)
    Autopilot(fake.stack, store, 300, watch_s=45).respond()
    mine = [(e.event, datetime.fromisoformat(e.at)) for e in store.events(fake.run_id) if e.by == "autopilot"]
    (acked, at_ack), (first_look, at_look) = mine[:2]
    assert (acked, first_look) == ("acknowledged", "note"), "acknowledged, then looked at the database"
    assert 45 <= (at_look - at_ack).total_seconds() < 50, "watched 45 s of the fake clock first, then went on"
    assert mine[-1][0] == "resolve_declared"


def test_a_look_that_finds_nothing_before_the_fault_is_not_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert before any fault (a blip as the stack starts): the autopilot looks, finds the
    balancer clean, and watches on. The fault's own alert later makes it look again, find and fix it."""
    fake = up(tmp_path, monkeypatch)
    original = fake.stack.config_path.read_text()
    store = begin(fake, tmp_path, "lb.weights-skew")
    store.append(fake.run_id, "alert_fired", "monitor", "high-latency", at=fake.clock.utc())

    def controller() -> None:
        names = [e.event for e in store.events(fake.run_id)]
        if "hypothesis" in names and "fault_injected" not in names:
            inject.inject(fake.target, inject.plan(fake.target, "lb.weights-skew", {}))
            store.append(fake.run_id, "fault_injected", "drill", "lb.weights-skew", at=fake.clock.utc())
            store.append(fake.run_id, "alert_fired", "monitor", "errors", at=fake.clock.utc())
        elif "fault_injected" in names and "mitigated" not in names and not inject.in_effect(fake.target)[0]:
            store.append(fake.run_id, "mitigated", "drill", "observed", at=fake.clock.utc())
        if names.count("resolve_requested") > names.count("resolve_declared"):
            store.append(fake.run_id, "resolve_declared", "autopilot", "accepted", at=fake.clock.utc())

    every(fake.clock, 0.25, controller)
    Autopilot(fake.stack, store, 120).respond()
    mine = [e.event for e in store.events(fake.run_id) if e.by == "autopilot"]
    assert mine.count("acknowledged") == 1 and mine.index("hypothesis") < mine.index("diagnosed")
    assert mine[-1] == "resolve_declared"
    notes = [e.detail for e in store.events(fake.run_id) if e.event == "note"]
    assert any(n.startswith("config clean") for n in notes) and any(n.startswith("repaired") for n in notes)
    assert fake.stack.config_path.read_text() == original and not inject.in_effect(fake.target)[0]
