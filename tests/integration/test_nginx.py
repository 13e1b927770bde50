"""nginx as the balancer, real nginx in a real container (one stack for the module): it serves,
publishes stub_status on 127.0.0.1, logs each request with the replica that served it; every
nginx fault is applied by a config edit and a graceful reload and seen in effect in the running
nginx and in who serves; a responder's edit does nothing until `nginx -s reload`, then it is the
fix; revert gives the file back byte for byte."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from chaos import faults, inject, nginx_faults
from chaos.target import Target
from doors.clock import wait_for
from doors.engine import DockerEngine
from playbooks.repair_nginx import repair_nginx
from stack import provision
from stack.handle import open_stack
from stack.spec import StackSpec
from tests.integration.conftest import container, doors_of, drill_cli, served_by, stop

NGINX_FAULTS = sorted(name for name, f in faults.CATALOGUE.items() if f.balancer == "nginx")
VARIANTS = [(name, {}) for name in NGINX_FAULTS] + [("nginx.ip-hash", {"by": "remote_addr"})]
# Who serves while each fault runs (sequential requests from one address): the symptom, observed.
ALONE = {"nginx.ip-hash": 1, "nginx.weights-skew": 1, "nginx.down": 1, "nginx.backup": 1}


@pytest.fixture(scope="module")
def target(engine: DockerEngine) -> Iterator[Target]:
    spec = StackSpec(replicas=3, balancer="nginx")
    record = provision.up(doors_of(engine), spec, progress=lambda line: None)
    yield Target(open_stack(doors_of(engine), record.run_id))
    stop(engine, record.run_id)


def test_nginx_serves_shows_its_status_page_and_logs_who_served(engine: DockerEngine, target: Target) -> None:
    endpoints = target.stack.endpoints
    assert set(served_by(endpoints.url, 30)) == {"app1", "app2", "app3"}
    with urllib.request.urlopen(endpoints.stats_url, timeout=5) as answer:  # as a responder's curl
        status, body = answer.status, answer.read().decode()
    assert status == 200 and "Active connections" in body and endpoints.stats_url.startswith("http://127.0.0.1:")
    lb = container(engine, target.run_id, "lb")

    def logged() -> tuple[bool, str]:  # nginx flushes its log buffer within a second
        logs = lb.logs().decode()
        return "replica=app1" in logs and "replica=app3" in logs, logs[-300:]

    wait_for("docker logs to show who served each request", logged, 10)
    state = target.state()
    assert [s.name for s in state.stats] == ["app1", "app2", "app3"] and all(s.up for s in state.stats)
    assert sum(s.sessions_total for s in state.stats) >= 30, "counts come from the access log"
    shown = drill_cli("status", target.run_id)
    assert f"nginx status {endpoints.stats_url}" in shown.stdout and "nginx -s reload" in shown.stdout, shown


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v))
def test_each_nginx_fault_shows_then_a_responders_edit_and_reload_fixes_it(
    engine: DockerEngine, target: Target, name: str, params: dict[str, str]
) -> None:
    url = target.stack.endpoints.url
    before = target.config_path.read_bytes()
    inject.inject(target, inject.plan(target, name, params))
    effect, seen = inject.in_effect(target)
    assert effect, seen
    if name in ALONE:
        serving = {k for k, v in served_by(url, 30).items() if v}
        assert len(serving) == ALONE[name], f"{name}: served by {serving}"
    else:  # nginx.max-fails: loaded as the running config says (the cascade needs load: see the drill)
        assert "max_fails=1 fail_timeout=30s" in target.state().config
    faulted = target.config_path.read_text()
    target.config_path.write_text(repair_nginx(faulted, nginx_faults.findings_in_upstream(faulted)))
    assert inject.in_effect(target)[0], "edited, not reloaded: nginx still runs the fault"
    code, output = container(engine, target.run_id, "lb").exec_run(["nginx", "-s", "reload"])
    assert code == 0, output
    wait_for(f"{name} fixed by the reload", lambda: _fixed(target), 20)
    assert set(served_by(url, 30)) == {"app1", "app2", "app3"}
    target.config_path.write_text(faulted)  # revert restores whatever the tree holds now
    inject.revert(target)
    assert target.config_path.read_bytes() == before and inject.in_effect(target) == (False, "no fault applied")


def _fixed(target: Target) -> tuple[bool, str]:
    effect, seen = inject.in_effect(target)
    return not effect, seen
