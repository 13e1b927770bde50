"""Faults on a live stack under traffic: each changes shares or health as it predicts, a
responder's fix by another route clears `in_effect`, and revert restores even shares."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from chaos import inject
from chaos.target import Target
from doors.clock import wait_for
from doors.engine import DockerEngine
from drills.errors import DrillError
from stack.handle import open_stack
from stack.rundir import RunRecord
from tests.integration.conftest import container, doors_of, drill_cli, served_by, start, stop

Shares = dict[str, float]


def shares(url: str, requests: int = 90) -> Shares:
    counts = served_by(url, requests)
    total = sum(counts.values()) or 1
    return {name: counts.get(name, 0) / total for name in ("app1", "app2", "app3")}


def even(measured: Shares) -> bool:
    return all(abs(share - 1 / 3) <= 0.05 for share in measured.values())


@pytest.fixture(scope="module")
def target(engine: DockerEngine) -> Iterator[Target]:
    record = start(engine)
    with background_traffic(record):
        yield Target(open_stack(doors_of(engine), record.run_id))
    stop(engine, record.run_id)


class background_traffic:
    """Viewers keep requesting through the balancer while faults come and go (bounded: 10 min)."""

    def __init__(self, record: RunRecord) -> None:
        assert record.endpoints is not None
        self.url = record.endpoints.url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                served_by(self.url, 5)
            self.stop.wait(0.05)

    def __enter__(self) -> background_traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


# How a responder fixes it, by a route other than `drill chaos revert` ------------------


def runtime_api(*commands: str) -> Callable[[Target], None]:
    def fix(t: Target) -> None:
        for command in commands:
            t.api.run(command)

    return fix


def edit_config_and_reload(pattern: str, replacement: str) -> Callable[[Target], None]:
    def fix(t: Target) -> None:
        text = t.config_path.read_text()
        fixed = re.sub(pattern, replacement, text, flags=re.MULTILINE)
        assert fixed != text, f"the responder's edit found nothing to fix ({pattern!r})"
        # A careful responder sees each reload land (`docker logs`: "Loading success"): HAProxy
        # 2.6 drops a SIGUSR2 that comes while it is still reloading. master(): DrillError (not
        # yet) while it reloads, its reload count once it answers.
        before = wait_for("the master between reloads", lambda: (True, str(t.api.master())), 20)
        t.config_path.write_text(fixed)
        t.runtime.signal(t.run_id, "lb", "SIGUSR2")  # docker kill -s USR2 <lb>
        if before != "None":
            wait_for("the responder's reload to land", lambda: (str(t.api.master()) != before, before), 20)

    return fix


def restart_balancer(t: Target) -> None:
    container(t.runtime, t.run_id, "lb").restart(timeout=5)


# What each fault predicts ------------------------------------------------------------------


def favours(name: str, at_least: float) -> Callable[[Target, str], None]:
    def check(t: Target, url: str) -> None:
        assert shares(url)[name] >= at_least

    return check


def one_takes_all(t: Target, url: str) -> None:
    assert max(shares(url).values()) >= 0.95


def only(name: str) -> Callable[[Target, str], None]:
    def check(t: Target, url: str) -> None:
        assert shares(url)[name] == 1.0
        assert {s.name for s in t.api.servers() if s.up or s.status.startswith("DRAIN")} >= {name}

    return check


def squeezed(t: Target, url: str) -> None:
    assert {s.name: s.limit for s in t.api.servers()} == {"app1": 1, "app2": 1, "app3": 1}
    before = backend_queue_max(t)
    burst(url, 30)
    assert backend_queue_max(t) > before or backend_queue_max(t) > 0, "30 concurrent requests never queued"


def rotating(t: Target, url: str) -> None:
    leaders = []
    for _ in range(8):
        measured = shares(url, 40)
        leader = max(measured, key=lambda n: measured[n])
        leaders.append((leader, measured[leader]))
        time.sleep(0.8)  # sampling windows across the tango's 2 s periods, not a wait for a condition
    assert len({name for name, _ in leaders}) >= 2, leaders
    assert sum(share >= 0.6 for _, share in leaders) >= 4, leaders


def backend_queue_max(t: Target) -> int:
    for line in t.api.command("show stat").splitlines():
        fields = line.split(",")
        if fields[:2] == ["app", "BACKEND"]:
            return int(fields[3] or 0)
    return 0


def burst(url: str, n: int) -> None:
    threads = [threading.Thread(target=lambda: served_by(url, 2)) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


CASES = [
    ("lb.weights-skew", {}, favours("app1", 0.85), runtime_api("set weight app/app1 1")),
    ("lb.weights-skew", {"route": "runtime"}, favours("app1", 0.85), restart_balancer),
    ("lb.source-hash", {}, one_takes_all, edit_config_and_reload(r"balance source", "balance roundrobin")),
    ("lb.health-check-broken", {}, only("app1"), runtime_api("disable health app/app2", "disable health app/app3")),
    ("lb.maxconn-squeeze", {}, squeezed, runtime_api(*(f"set maxconn server app/app{i} 64" for i in (1, 2, 3)))),
    ("lb.drained", {}, only("app1"), edit_config_and_reload(r" weight 0$", "")),
    (
        "lb.drained",
        {"route": "runtime"},
        only("app1"),
        runtime_api("set server app/app2 state ready", "set server app/app3 state ready"),
    ),
    ("lb.tango", {"period": "2"}, rotating, edit_config_and_reload(r" weight 100 agent-check.*$", "")),
]


@pytest.mark.parametrize(("name", "params", "predicted", "fix"), CASES, ids=lambda c: c if isinstance(c, str) else "")
def test_fault_shows_is_fixed_by_another_route_and_reverts_exactly(
    target: Target,
    name: str,
    params: dict[str, str],
    predicted: Callable[[Target, str], None],
    fix: Callable[[Target], None],
) -> None:
    assert target.stack.endpoints is not None
    url = target.stack.endpoints.url
    original = target.config_path.read_bytes()
    # 90 requests interleaved with the background viewers' land within 5 points of a third each
    # most times, not every time: a sample that leans is taken again, bounded.
    wait_for("the stack to start balanced", lambda: (even(s := shares(url)), str(s)), 30)

    inject.inject(target, inject.plan(target, name, params))
    assert inject.in_effect(target)[0] is True
    predicted(target, url)

    fix(target)
    wait_for(f"{name} fixed by hand to show as not in effect", lambda: _not(inject.in_effect(target)), 30)

    assert "reverted" in inject.revert(target)
    assert target.config_path.read_bytes() == original
    assert target.saved() is None and inject.in_effect(target)[0] is False
    # Shares just after a revert can still lean (a reload's handover, a weight just restored).
    wait_for("even shares after the revert", lambda: (even(s := shares(url)), str(s)), 30)


def _not(result: tuple[bool, str]) -> tuple[bool, str]:
    return not result[0], result[1]


@pytest.mark.parametrize(
    ("name", "params", "fix"),
    [
        ("container.pause", {}, lambda c: c.unpause()),
        ("container.kill", {}, lambda c: c.start()),
        ("container.latency", {"route": "cpu"}, lambda c: c.update(cpu_period=100000, cpu_quota=-1)),
    ],
)
def test_container_faults(target: Target, name: str, params: dict[str, str], fix: Callable[..., None]) -> None:
    assert target.stack.endpoints is not None
    chosen = inject.plan(target, name, params)
    inject.inject(target, chosen)
    effect, seen = inject.in_effect(target)
    assert effect, seen
    fix(container(target.runtime, target.run_id, chosen.params["target"]))
    wait_for(f"{name} fixed by hand", lambda: _not(inject.in_effect(target)), 30)
    inject.revert(target)
    # As in every case above: a 90-request sample beside the background viewers can lean past
    # 5 points by itself (roundrobin's turns are shared), and a replica started again comes back
    # into rotation once HAProxy's checks pass (rise 2, 1 s apart). Even within 30 s, or what it saw.
    url = target.stack.endpoints.url
    wait_for("even shares after the revert", lambda: (even(s := shares(url)), str(s)), 30)


def test_netem_latency_applies_or_says_why_not(target: Target) -> None:
    before = {c.name for c in target.runtime.containers(target.run_id)}
    chosen = inject.plan(target, "container.latency", {"delay_ms": "200"})
    try:
        inject.inject(target, chosen)
    except DrillError as exc:  # kernels built without sch_netem (this VM's) refuse the qdisc
        assert "sch_netem" in str(exc) and "route=cpu" in str(exc)
    else:
        assert inject.in_effect(target)[0]
        inject.revert(target)
    assert target.saved() is None and inject.in_effect(target)[0] is False
    assert {c.name for c in target.runtime.containers(target.run_id)} == before, "helper containers left behind"


def test_blast_radius_refuses_containers_of_other_runs(target: Target) -> None:
    outsider = "drill-ffffff_db_1"
    done = drill_cli("chaos", "inject", "container.pause", "--run", target.run_id, "-p", f"target={outsider}")
    assert done.returncode == 2, done.stderr
    assert f"'{outsider}' is not part of run {target.run_id}" in done.stderr
    assert target.saved() is None


def test_sigkill_after_apply_then_drill_down_reverts_and_leaves_nothing(engine: DockerEngine) -> None:
    record = start(engine)
    script = (
        "import sys, time\nfrom chaos import inject\nfrom chaos.target import Target\nfrom doors import kit\n"
        "from stack.handle import open_stack\nt = Target(open_stack(kit.real(), sys.argv[1]))\n"
        "inject.inject(t, inject.plan(t, 'lb.weights-skew', {}))\nprint('applied', flush=True)\ntime.sleep(120)\n"
    )
    controller = subprocess.Popen(
        [sys.executable, "-c", script, record.run_id], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert controller.stdout is not None and controller.stdout.readline().strip() == "applied"
        controller.send_signal(signal.SIGKILL)
        controller.wait(timeout=10)
        t = Target(open_stack(doors_of(engine), record.run_id))
        assert t.saved() is not None and inject.in_effect(t)[0], "the fault must outlive its controller"
        done = drill_cli("down", record.run_id)
        assert done.returncode == 0, done.stderr
        assert f"reverted lb.weights-skew on run {record.run_id}" in done.stdout
        assert engine.leftovers(record.run_id) == []
    finally:
        controller.kill()
        stop(engine, record.run_id)


def test_audit_flags_the_live_faulted_config(target: Target) -> None:
    inject.inject(target, inject.plan(target, "lb.source-hash", {}))
    try:
        done = drill_cli("audit", str(target.config_path))
        assert done.returncode == 1 and "[hash-balance]" in done.stdout
    finally:
        inject.revert(target)
    assert drill_cli("audit", str(target.config_path)).returncode == 0


def test_drills_reload_right_after_a_responders_own_lands_too(target: Target) -> None:
    """HAProxy 2.6's master drops a SIGUSR2 that comes while it is still reloading: drill's
    reload, sent a moment after a responder's, waits that one out and is counted as well."""
    original = target.config_path.read_text()
    before = wait_for("the master between reloads", lambda: (True, str(target.api.master())), 20)
    try:
        target.runtime.signal(target.run_id, "lb", "SIGUSR2")  # the responder's, not waited for
        target.config_path.write_text(original.replace("balance roundrobin", "balance leastconn"))
        target.reload()
        now = target.api.master()
        assert now is not None and before == str(replace(now, reloads=now.reloads - 2)), (before, now)
        assert target.state().algo == "leastconn"
    finally:
        target.config_path.write_text(original)
        target.reload()
    assert target.state().algo == "roundrobin"
