"""nginx faults through chaos.inject's whole path on a fake nginx (doors.fakes_nginx) that loads
its config file on SIGHUP: applied and seen in effect, still in effect after an edit that was not
reloaded, fixed by the edit plus a reload, reverted byte for byte; and the autopilot's nginx path
(audit the upstream, repair, SIGHUP) resolving each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chaos import faults, inject, nginx_faults
from chaos.target import Target
from doors.fakes import FakeClock, FakeRuntime
from doors.fakes_nginx import FakeNginx
from doors.kit import Doors
from doors.nginx import NginxBalancer
from doors.runtime import ContainerInfo
from drills.errors import UsageError
from playbooks.autopilot import Autopilot
from playbooks.repair_nginx import repair_nginx
from stack.handle import RunStack
from stack.nginx import nginx_template, render_nginx_config
from stack.rundir import Endpoints, RunDir, RunRecord
from tests.unit.fakestack import FakeStack
from tests.unit.test_autopilot_fake import begin, play_controller

NGINX_FAULTS = sorted(name for name, f in faults.CATALOGUE.items() if f.balancer == "nginx")
VARIANTS = [(name, {}) for name in NGINX_FAULTS] + [("nginx.ip-hash", {"by": "remote_addr"})]
RUN_ID = "abc123"


@dataclass
class NginxRuntime(FakeRuntime):
    """The fake runtime, with SIGHUP to lb reloading the fake nginx (as tini passes it to the master)."""

    nginx: list[FakeNginx] = field(default_factory=list)

    def signal(self, run_id: str, service: str, signal: str) -> None:
        super().signal(run_id, service, signal)
        if service == "lb" and signal == "SIGHUP":
            self.nginx[0].reload()


class Http:
    def status(self, url: str, path: str = "/api/catalog") -> int:
        return 200

    def served_by(self, url: str, requests: int, path: str = "/api/catalog") -> Counter[str]:
        return Counter({"app1": requests})


@dataclass
class NginxStack:
    stack: RunStack
    runtime: NginxRuntime
    nginx: FakeNginx
    clock: FakeClock

    @property
    def target(self) -> Target:
        return Target(self.stack)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NginxStack:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    run = RunDir(RUN_ID)
    run.create()
    config = run.lb_config_dir / "nginx.conf"
    config.write_text(render_nginx_config(nginx_template(), 3))
    endpoints = Endpoints(18080, 18404, 0, "", 0, "/status")
    record = RunRecord(RUN_ID, "2026-11-30T12:00:00", 3, "up", endpoints, {"balancer": "nginx"})
    run.save(record)
    runtime, clock = NginxRuntime(), FakeClock()
    services = ("lb", "db", "app1", "app2", "app3")
    runtime.containers_by_run[RUN_ID] = {
        s: ContainerInfo(f"drill-{RUN_ID}_{s}_1", s, RUN_ID, "running", None, (), "t0") for s in services
    }
    runtime.exec_answers[("db", "redis-cli")] = (0, "PONG\n")
    nginx = FakeNginx(config)
    runtime.nginx.append(nginx)
    doors = Doors(lambda: runtime, clock, Http(), lambda host, port, master_port: NginxBalancer(nginx))
    return NginxStack(RunStack(doors, run, record, endpoints, NginxBalancer(nginx)), runtime, nginx, clock)


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v))
def test_each_nginx_fault_applies_fixes_by_edit_and_reload_and_reverts_exactly(
    fake: NginxStack, name: str, params: dict[str, str]
) -> None:
    target = fake.target
    before = target.config_path.read_bytes()
    inject.inject(target, inject.plan(target, name, params))
    assert "signal SIGHUP lb" in fake.runtime.actions, "applied by a graceful reload"
    effect, seen = inject.in_effect(target)
    assert effect, f"{name} not seen in the running nginx: {seen}"
    faulted = target.config_path.read_text()
    findings = nginx_faults.findings_in_upstream(faulted)
    target.config_path.write_text(repair_nginx(faulted, findings))
    assert inject.in_effect(target)[0], "an edit nginx has not loaded fixes nothing"
    fake.runtime.signal(RUN_ID, "lb", "SIGHUP")
    assert inject.in_effect(target)[0] is False, "the edit, reloaded, is the fix"
    assert target.config_path.read_bytes() == before, "the playbook's repair gives back the reference config"
    target.config_path.write_text(faulted)  # the responder's tree differs again: revert must still restore
    assert inject.revert(target).startswith(f"reverted {name}")
    assert target.config_path.read_bytes() == before and fake.nginx.loaded == before.decode()
    assert inject.in_effect(target) == (False, "no fault applied") and target.saved() is None


@pytest.mark.parametrize("name", NGINX_FAULTS)
def test_revert_right_after_apply_restores_file_and_running_config(fake: NginxStack, name: str) -> None:
    target = fake.target
    before = target.config_path.read_bytes()
    inject.inject(target, inject.plan(target, name, {}))
    assert fake.nginx.loaded != before.decode()
    inject.revert(target)
    assert target.config_path.read_bytes() == before and fake.nginx.loaded == before.decode()


def test_a_reload_nginx_refuses_leaves_the_fault_in_effect(fake: NginxStack) -> None:
    target = fake.target
    inject.inject(target, inject.plan(target, "nginx.ip-hash", {}))
    target.config_path.write_text(target.config_path.read_text().replace("    ip_hash;\n", "") + "}\n")
    fake.runtime.signal(RUN_ID, "lb", "SIGHUP")
    assert inject.in_effect(target)[0], "nginx refused the fixed file: the faulted config still runs"
    inject.revert(target)


def test_haproxy_faults_do_not_apply_to_an_nginx_run(fake: NginxStack) -> None:
    with pytest.raises(UsageError, match=r"lb.weights-skew is for haproxy, and run abc123's balancer is nginx"):
        inject.plan(fake.target, "lb.weights-skew", {})
    with pytest.raises(UsageError, match=r"not part of run abc123"):
        inject.plan(fake.target, "nginx.down", {"servers": "app9"})
    with pytest.raises(UsageError, match=r"--param by=sticky: expected one of ip_hash, remote_addr"):
        inject.plan(fake.target, "nginx.ip-hash", {"by": "sticky"})


@pytest.mark.parametrize("name", NGINX_FAULTS)
def test_autopilot_finds_and_fixes_each_nginx_fault(fake: NginxStack, tmp_path: Path, name: str) -> None:
    original = fake.stack.config_path.read_text()
    compat = FakeStack(fake.stack.doors, fake.runtime, fake.clock, fake.stack)
    store = begin(compat, tmp_path, name)
    inject.inject(fake.target, inject.plan(fake.target, name, {}))
    store.append(RUN_ID, "fault_injected", "drill", name, at=fake.clock.utc())
    store.append(RUN_ID, "alert_fired", "monitor", "high-latency", at=fake.clock.utc())
    play_controller(compat, store)
    Autopilot(fake.stack, store, 120).respond()
    events = [(e.event, e.by, e.detail) for e in store.events(RUN_ID)]
    mine = [event for event, by, _ in events if by == "autopilot"]
    assert mine[:4] == ["acknowledged", "note", "note", "diagnosed"] and mine[-1] == "resolve_declared"
    diagnosis = next(detail for event, _, detail in events if event == "diagnosed")
    assert any(rule in diagnosis for rule in nginx_faults.RULES[name]), diagnosis
    assert fake.stack.config_path.read_text() == original, "the repair gives back the reference config"
    assert "signal SIGHUP lb" in fake.runtime.actions and "signal SIGUSR2 lb" not in fake.runtime.actions
