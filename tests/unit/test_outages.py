"""The faults after public postmortems: what the audit says, what the autopilot's repair does,
how the running balancer shows them, and the drills that use them."""

from __future__ import annotations

import pytest

from chaos import audit, faults
from chaos.audit_checks import check_uri
from chaos.hapconfig import parse
from chaos.plan import Scope
from doors.balancer import BalancerState, ServerStat, ServerState
from drills import loader
from drills.loader import builtin_files
from playbooks.checks import CHECKS
from playbooks.repair import repair
from playbooks.repair_outages import repair_checks, restore_slots
from stack.resources import haproxy_template
from stack.spec import render_config

SCOPE = Scope("abc123", ("app1", "app2", "app3"), ("app1", "app2", "app3", "db", "lb"))
REFERENCE = render_config(haproxy_template(), 3)
RULES = {
    "lb.check-heavy-page": {"check-target", "check-timeout", "check-timing"},
    "lb.check-flap": {"check-target", "check-timeout", "check-flap", "check-timing"},
    "lb.slots-exhausted": {"duplicate-address"},
    "lb.partial-push": {"out-of-rotation", "weights-skew"},
}
DRILLS = {
    "heavy-health-check": "lb.check-heavy-page",
    "flapping-checks": "lb.check-flap",
    "missing-slots": "lb.slots-exhausted",
    "partial-push": "lb.partial-push",
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_the_audit_names_the_fault_and_the_repair_clears_it(name: str) -> None:
    faulted = faults.get(name).plan(REFERENCE, {}, SCOPE).patch.apply(REFERENCE)
    found = audit.at_or_above(audit.audit_haproxy(faulted, "x.cfg"), "warning")
    assert {f.rule for f in found} == RULES[name]
    fixed = repair_checks(repair(faulted, found), found)
    assert audit.audit_haproxy(fixed, "x.cfg") == []
    kept = [line for line in fixed.splitlines() if "timeout check" not in line and "default-server" not in line]
    assert kept == [line for line in REFERENCE.splitlines() if "default-server" not in line]
    assert "fall 1" not in fixed and "rise 1" not in fixed


def test_check_target_spares_health_endpoints_and_the_root() -> None:
    for uri, flagged in (("/health", False), ("/", False), ("/readyz", False), ("/api/catalog", True)):
        text = (
            f"backend b\n    option httpchk GET {uri}\n    server a 10.0.0.1:80 check\n    server b 10.0.0.2:80 check\n"
        )
        rules = {f.rule for f in audit.audit_haproxy("defaults\n    mode http\n" + text, "x")}
        assert ("check-target" in rules) is flagged, uri
    line = parse("backend b\n    option httpchk /ping\n").lines[1]
    assert check_uri(line) == "/ping"


def test_restore_slots_adds_a_server_line_like_the_others() -> None:
    without = REFERENCE.replace("    server app3 app3:8080\n", "")
    assert restore_slots(without, ["app3"]) == REFERENCE
    assert restore_slots(REFERENCE, []) == REFERENCE


def _state(*servers: tuple[str, str], status: str = "UP", check: str = "L7OK") -> BalancerState:
    stats = tuple(ServerStat("app", n, status, 1, 0, 0, 0, {}, 0, check) for n, _ in servers)
    states = tuple(ServerState(n, 2, 0, 1, 1, 1, 0, 0, a) for n, a in servers)
    return BalancerState("roundrobin", stats, states)


def test_in_effect_reads_the_running_balancer() -> None:
    slots, checks = faults.get("lb.slots-exhausted"), faults.get("lb.check-flap")
    assert slots.check is not None and checks.check is not None
    params = {"slots": "1", "servers": "app2,app3"}
    assert slots.check(_state(("app1", "10.0.0.2"), ("app2", "10.0.0.2"), ("app3", "10.0.0.2")), params)[0]
    assert not slots.check(_state(("app1", "10.0.0.2"), ("app2", "10.0.0.3"), ("app3", "10.0.0.4")), params)[0]
    assert slots.check(_state(("app1", "10.0.0.2")), params) == (
        True,
        "stale slots: no slot for app2, no slot for app3",
    )
    assert checks.check(_state(("app1", "a"), check="L7TOUT"), {})[0]
    assert checks.check(_state(("app1", "a"), status="DOWN", check="L7STS"), {})[0]
    assert not checks.check(_state(("app1", "a")), {})[0]


@pytest.mark.parametrize("name", sorted(DRILLS))
def test_the_outage_drills_load_and_draw_their_fault(name: str) -> None:
    path = builtin_files()[name]
    drill = loader.load_file(path, CHECKS)
    assert {v.fault for v in drill.variants} == {DRILLS[name]}
    assert drill.reference and drill.hints and drill.playbook == f"{name}.md"
    assert "https://" in path.read_text().split("\nname:")[0], "each outage drill cites its public source"
