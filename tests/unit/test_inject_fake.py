"""Faults applied, fixed by hand and reverted on a fake balancer that reads its config file the
way HAProxy does: chaos.inject's whole path, no Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import faults, inject
from drills.errors import DrillError, UsageError
from tests.unit.fakestack import FakeStack, up

BALANCER_FAULTS = [
    (f.name, route)
    for f in faults.CATALOGUE.values()
    if f.kind == "balancer" and f.balancer == "haproxy"
    for route in f.routes
]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    return up(tmp_path, monkeypatch)


@pytest.mark.parametrize(("name", "route"), BALANCER_FAULTS)
def test_every_balancer_fault_shows_in_the_balancer_and_reverts_exactly(fake: FakeStack, name: str, route: str) -> None:
    target = fake.target
    before = target.config_path.read_bytes()
    plan = inject.plan(target, name, {"route": route})
    inject.inject(target, plan)
    effect, seen = inject.in_effect(target)
    assert effect, f"{name} by {route} not seen in the balancer: {seen}"
    assert (target.config_path.read_bytes() != before) == (route == "config")
    assert target.saved() is not None
    assert inject.revert(target).startswith(f"reverted {name}")
    assert target.config_path.read_bytes() == before, "the config comes back byte for byte"
    assert inject.in_effect(target) == (False, "no fault applied") and target.saved() is None


@pytest.mark.parametrize(
    ("name", "params", "fix"),
    [
        ("lb.weights-skew", {"route": "runtime"}, ["set weight app/app1 1"]),
        ("lb.health-check-broken", {}, ["disable health app/app2", "disable health app/app3"]),
        ("lb.drained", {"route": "runtime"}, ["set server app/app2 state ready", "set server app/app3 state ready"]),
        ("lb.maxconn-squeeze", {"route": "runtime"}, [f"set maxconn server app/app{i} 64" for i in (1, 2, 3)]),
    ],
)
def test_a_fix_through_the_runtime_api_clears_in_effect(
    fake: FakeStack, name: str, params: dict[str, str], fix: list[str]
) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, name, params))
    for command in fix:
        fake.stack.balancer.run(command)
    assert inject.in_effect(target)[0] is False, "a responder's runtime fix counts, whatever route it took"
    inject.revert(target)
    assert inject.in_effect(target)[0] is False


def test_a_config_edit_and_reload_clears_in_effect_and_revert_restores_the_saved_file(fake: FakeStack) -> None:
    target = fake.target
    original = target.config_path.read_text()
    inject.inject(target, inject.plan(target, "lb.source-hash", {}))
    target.config_path.write_text(target.config_path.read_text().replace("balance source", "balance leastconn"))
    fake.runtime.signal(fake.run_id, "lb", "SIGUSR2")  # docker kill -s USR2 <lb>
    assert inject.in_effect(target) == (False, "balance algorithm leastconn")
    inject.revert(target)
    assert target.config_path.read_text() == original


def test_restarting_the_balancer_drops_runtime_changes(fake: FakeStack) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, "lb.weights-skew", {"route": "runtime"}))
    fake.runtime.kill(fake.run_id, "lb")
    assert inject.in_effect(target)[0] is True, "a balancer that does not answer is not a fix"
    fake.runtime.restart(fake.run_id, "lb")
    assert inject.in_effect(target)[0] is False


def test_a_second_fault_is_refused_until_the_first_is_reverted(fake: FakeStack) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, "lb.drained", {}))
    with pytest.raises(UsageError, match="already has a fault applied"):
        inject.inject(target, inject.plan(target, "lb.weights-skew", {}))


def test_container_faults_through_the_runtime_door(fake: FakeStack) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, "container.pause", {}))
    assert inject.in_effect(target) == (True, "db is paused")
    fake.runtime.unpause(fake.run_id, "db")
    assert inject.in_effect(target) == (False, "db is running")
    inject.revert(target)
    inject.inject(target, inject.plan(target, "container.latency", {"route": "cpu"}))
    assert fake.runtime.inspect(fake.run_id, "app1").cpu_quota == 2000
    inject.revert(target)
    assert fake.runtime.inspect(fake.run_id, "app1").cpu_quota == 0


def test_netem_that_the_kernel_lacks_fails_and_leaves_nothing_applied(fake: FakeStack) -> None:
    target = fake.target
    fake.runtime.images["drill/base:bookworm"] = {}
    with pytest.raises(DrillError, match=r"this kernel has no sch_netem.*route=cpu"):
        inject.inject(target, inject.plan(target, "container.latency", {}))
    assert target.saved() is None, "a fault that could not be applied is reverted before the error surfaces"


def test_a_fix_that_breaks_the_stack_another_way_is_not_a_fix(fake: FakeStack) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, "lb.weights-skew", {"route": "runtime"}))
    assert inject.check(target, fake.doors.http)[0] is False
    for i in (1, 2, 3):  # the skew is gone... because nothing gets traffic any more
        fake.stack.balancer.run(f"set server app/app{i} state maint")
    fake.stack.balancer.run("set weight app/app1 1")
    fixed, seen = inject.check(target, fake.doors.http)
    assert not fixed and "the stack is not serving: GET /api/catalog -> 503" in seen
    for i in (1, 2, 3):
        fake.stack.balancer.run(f"set server app/app{i} state ready")
    assert inject.check(target, fake.doors.http) == (
        True,
        "not in effect: weights app1=1 app2=1 app3=1; the stack serves as before the fault",
    )
