from __future__ import annotations

import pytest

from chaos import audit, faults
from chaos.plan import Scope
from doors.balancer import BalancerState, ServerStat, ServerState
from drills.errors import UsageError
from stack.resources import haproxy_template
from stack.spec import render_config

SCOPE = Scope("abc123", ("app1", "app2", "app3"), ("app1", "app2", "app3", "db", "lb"))
REFERENCE = render_config(haproxy_template(), 3)
BALANCER = [f for f in faults.CATALOGUE.values() if f.kind == "balancer" and f.balancer == "haproxy"]
CONFIG_ROUTES = [(f, r) for f in BALANCER for r in f.routes if r == "config"]


def variants() -> list[str]:
    commented = REFERENCE.replace("    server app2 app2:8080", "    server app2 app2:8080  # canary, ask Dana")
    return [REFERENCE, REFERENCE.replace("\n", "\r\n"), commented, REFERENCE.rstrip("\n")]


@pytest.mark.parametrize(("fault", "route"), CONFIG_ROUTES, ids=lambda x: getattr(x, "name", x))
def test_config_fault_round_trips_byte_identical(fault: faults.Fault, route: str) -> None:
    for text in variants():
        plan = fault.plan(text, {"route": route}, SCOPE)
        faulted = plan.patch.apply(text)
        assert faulted != text, "a config fault must change the config"
        assert plan.patch.inverse().apply(faulted) == text


@pytest.mark.parametrize(("fault", "route"), CONFIG_ROUTES, ids=lambda x: getattr(x, "name", x))
def test_every_balancer_fault_config_is_flagged_by_the_audit(fault: faults.Fault, route: str) -> None:
    assert audit.audit_haproxy(REFERENCE, "ref.cfg") == []
    faulted = fault.plan(REFERENCE, {"route": route}, SCOPE).patch.apply(REFERENCE)
    assert audit.at_or_above(audit.audit_haproxy(faulted, "faulted.cfg"), "warning"), fault.name


def test_runtime_route_changes_no_file_and_names_commands() -> None:
    plan = faults.get("lb.drained").plan(REFERENCE, {"route": "runtime", "servers": "app3"}, SCOPE)
    assert not plan.patch and plan.commands == ("set server app/app3 state drain",)
    plan = faults.get("lb.weights-skew").plan(REFERENCE, {"route": "runtime", "weight": "50"}, SCOPE)
    assert plan.commands == ("set weight app/app1 50",)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("lb.weights-skew", {"server": "app9"}, "'app9' is not part of run abc123"),
        ("container.pause", {"target": "drill-ffffff_db_1"}, "not part of run abc123"),
        ("container.kill", {"target": "postgres"}, "may only touch app1, app2, app3, db, lb"),
        ("lb.weights-skew", {"colour": "red"}, "--param colour: lb.weights-skew takes"),
        ("lb.source-hash", {"route": "runtime"}, "can go by config"),
        ("lb.maxconn-squeeze", {"maxconn": "lots"}, "expected a non-negative number"),
    ],
)
def test_blast_radius_and_bad_params_are_refused(name: str, params: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        faults.get(name).plan(REFERENCE, params, SCOPE)


def test_unknown_fault_lists_the_catalogue() -> None:
    with pytest.raises(UsageError, match=r"lb\.tango"):
        faults.get("lb.cha-cha")


def test_parse_params() -> None:
    assert faults.parse_params(["server=app2", "route = runtime"]) == {"server": "app2", "route": "runtime"}
    with pytest.raises(UsageError, match="expected key=value"):
        faults.parse_params(["server"])


def state(algo: str = "roundrobin", **servers: dict[str, int]) -> BalancerState:
    def server(name: str, s: dict[str, int]) -> ServerState:
        return ServerState(
            name, s.get("op", 2), s.get("admin", 0), s.get("weight", 1), 1, s.get("check", 6), s.get("agent", 0), 0
        )

    def stat(name: str, s: dict[str, int]) -> ServerStat:
        return ServerStat("app", name, "UP", s.get("weight", 1), 0, 0, 0, {}, limit=s.get("limit", 0))

    names = servers or {n: {} for n in SCOPE.replicas}
    return BalancerState(
        algo, tuple(stat(n, s) for n, s in names.items()), tuple(server(n, s) for n, s in names.items())
    )


HEALTHY = state()


@pytest.mark.parametrize(
    ("name", "faulted"),
    [
        ("lb.weights-skew", state(app1={"weight": 100}, app2={}, app3={})),
        ("lb.source-hash", state(algo="source")),
        ("lb.health-check-broken", state(app1={}, app2={"op": 0}, app3={"op": 0})),
        ("lb.maxconn-squeeze", state(app1={"limit": 1}, app2={"limit": 1}, app3={})),
        ("lb.drained", state(app1={}, app2={"admin": 8}, app3={"weight": 0})),
        ("lb.tango", state(app1={"agent": 0x16, "weight": 100}, app2={"agent": 0x16, "weight": 5}, app3={})),
    ],
)
def test_in_effect_reads_the_running_state(name: str, faulted: BalancerState) -> None:
    fault = faults.get(name)
    assert fault.check is not None
    params = fault.resolve({}, SCOPE)[1]
    assert fault.check(faulted, params)[0] is True
    assert fault.check(HEALTHY, params)[0] is False


def test_health_check_fault_is_not_in_effect_once_checks_are_disabled() -> None:
    # `disable health` at run time: the server is UP and unchecked; a real fix.
    fault = faults.get("lb.health-check-broken")
    assert fault.check is not None
    fixed = state(app1={}, app2={"op": 2, "check": 2}, app3={"op": 2, "check": 2})
    assert fault.check(fixed, {})[0] is False
    assert fault.complete is not None
    assert fault.complete(state(app1={}, app2={"op": 0}, app3={}), {"servers": "app2,app3"}) is False
