"""One stack on a real single-node swarm (`--runtime swarm`): it is a swarm stack (one dnsrr
service per replica, attachable overlays, labels everywhere, nothing published beyond 127.0.0.1),
every balancer fault shows, is recognised as fixed by a responder's route (runtime API, config
edit and reload, a service restart) and reverts exactly, and container faults work on swarm tasks.
Whole drills on swarm: test_swarm_drills.py."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from chaos import inject
from chaos.target import Target
from doors.clock import wait_for
from doors.runtime import LABEL_RUN
from doors.swarm import SwarmEngine
from stack import provision
from stack.handle import open_stack
from stack.rundir import RunDir, project_name
from stack.spec import StackSpec
from tests.integration.conftest import container, doors_of
from tests.integration.test_faults import (
    CASES,
    _not,
    background_traffic,
    even,
    restart_balancer,
    shares,
)


@pytest.fixture(scope="module")
def target(swarm: SwarmEngine) -> Iterator[Target]:
    record = provision.up(doors_of(swarm), StackSpec(replicas=3), progress=lambda line: None)
    with background_traffic(record):
        yield Target(open_stack(doors_of(swarm), record.run_id))
    provision.down(doors_of(swarm), record.run_id)
    assert_gone(swarm, record.run_id)


def assert_gone(engine: SwarmEngine, run_id: str) -> None:
    assert engine.leftovers(run_id) == [], "the run left services, containers, networks or volumes"
    assert not RunDir(run_id).exists(), "the run left its directory"


def test_the_stack_is_a_swarm_stack_published_on_loopback_only(target: Target, swarm: SwarmEngine) -> None:
    label = [f"{LABEL_RUN}={target.run_id}"]
    services = {s.name: s.attrs["Spec"] for s in swarm.client.services.list(filters={"label": label})}
    project = project_name(target.run_id)
    assert sorted(services) == sorted(f"{project}_{n}" for n in ("lb", "db", "app1", "app2", "app3"))
    for spec in services.values():
        assert spec["EndpointSpec"]["Mode"] == "dnsrr" and not spec["EndpointSpec"].get("Ports")
        assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
    networks = swarm.client.networks.list(filters={"label": label})
    assert sorted(n.name for n in networks) == [f"{project}_back", f"{project}_front"]
    assert all(n.attrs["Driver"] == "overlay" and n.attrs["Attachable"] for n in networks)
    bindings = [
        binding
        for c in swarm.client.containers.list(filters={"label": label})
        for bound in (c.attrs["NetworkSettings"]["Ports"] or {}).values()
        for binding in bound or []
    ]
    assert len(bindings) == 3 and {b["HostIp"] for b in bindings} == {"127.0.0.1"}, bindings
    servers = {s.name for s in target.api.servers()}
    assert servers == {"app1", "app2", "app3"}, "HAProxy must see each replica by its name"


def restart_service(service: str) -> Callable[[Target], None]:
    """A responder's restart on swarm: `docker service update --force` (a `docker restart` of a
    task's container orphans it from its network)."""

    def fix(t: Target) -> None:
        swarm = t.runtime
        assert isinstance(swarm, SwarmEngine)
        swarm.client.services.get(f"{project_name(t.run_id)}_{service}").force_update()

    return fix


# Every balancer fault once, each fix route (runtime API, config edit and reload, a service restart):
# the compose suite's cases, less the two that repeat a fault by a route already covered here.
SWARM_CASES = [
    (*case[:3], restart_service("lb")) if case[3] is restart_balancer else case
    for case in CASES
    if case[1] or case[0] not in ("lb.weights-skew", "lb.drained")
]


@pytest.mark.parametrize(
    ("name", "params", "predicted", "fix"), SWARM_CASES, ids=lambda c: c if isinstance(c, str) else ""
)
def test_balancer_fault_shows_is_fixed_by_another_route_and_reverts_exactly(
    target: Target,
    name: str,
    params: dict[str, str],
    predicted: Callable[[Target, str], None],
    fix: Callable[[Target], None],
) -> None:
    """As on compose (test_faults), but for the last step: the balancer's servers may take a
    health check or a DNS answer (a second) after the reload to be even again, so that is waited for."""
    assert target.stack.endpoints is not None
    url = target.stack.endpoints.url
    original = target.config_path.read_bytes()
    wait_for("even shares before the fault", lambda: (even(measured := shares(url)), str(measured)), 20)

    inject.inject(target, inject.plan(target, name, params))
    assert inject.in_effect(target)[0] is True
    predicted(target, url)

    fix(target)
    wait_for(f"{name} fixed by hand to show as not in effect", lambda: _not(inject.in_effect(target)), 30)

    assert "reverted" in inject.revert(target)
    assert target.config_path.read_bytes() == original
    assert target.saved() is None and inject.in_effect(target)[0] is False
    wait_for("even shares after the revert", lambda: (even(measured := shares(url)), str(measured)), 20)


@pytest.mark.parametrize(
    ("name", "params", "fix"),
    [
        ("container.pause", {}, lambda t, c: c.unpause()),
        ("container.kill", {}, lambda t, c: restart_service(c.labels["com.docker.compose.service"])(t)),
        ("container.latency", {"route": "cpu"}, lambda t, c: c.update(cpu_period=100000, cpu_quota=-1)),
    ],
)
def test_container_faults_on_swarm_tasks(
    target: Target, name: str, params: dict[str, str], fix: Callable[..., None]
) -> None:
    assert target.stack.endpoints is not None
    chosen = inject.plan(target, name, params)
    inject.inject(target, chosen)
    effect, seen = inject.in_effect(target)
    assert effect, seen
    assert isinstance(target.runtime, SwarmEngine)
    fix(target, container(target.runtime, target.run_id, chosen.params["target"]))
    wait_for(f"{name} fixed by hand", lambda: _not(inject.in_effect(target)), 30)
    inject.revert(target)
    wait_for("even shares again", lambda: (even(measured := shares(target.stack.endpoints.url)), str(measured)), 20)


@pytest.mark.parametrize("shape", ["{n:04d}e{d}", "0{n:04d}{d}"], ids=["like-a-float", "leading-zero"])
def test_a_run_id_that_reads_as_a_number_is_found_and_removed(swarm: SwarmEngine, shape: str) -> None:
    """`docker stack deploy` reads its file as YAML 1.2: an unquoted 557e30 label was 5.57e+32,
    045486 was 45486, so drill waited 90 s for containers it could not find, then left the stack."""
    rng = random.Random()
    run_id = next(
        i
        for i in (shape.format(n=rng.randrange(10_000), d=rng.randrange(8, 10)) for _ in range(99))
        if not provision.exists(doors_of(swarm), i)
    )
    record = provision.up(doors_of(swarm), StackSpec(replicas=2), progress=lambda line: None, run_id=run_id)
    try:
        labels = {
            c.attrs["Config"]["Labels"][LABEL_RUN]
            for c in swarm.client.containers.list(filters={"name": project_name(run_id)})
        }
        assert labels == {run_id}, f"containers of {project_name(run_id)} carry drill.run={labels}"
        assert record.state == "up"
    finally:
        provision.down(doors_of(swarm), run_id)
    assert_gone(swarm, run_id)
    assert swarm.client.services.list(filters={"name": project_name(run_id)}) == [], "the stack's services are left"
