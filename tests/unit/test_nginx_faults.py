"""nginx faults as config patches: each is flagged by the nginx audit, reads as in effect from
the running config, reverts byte for byte, and the autopilot's nginx repair clears it."""

from __future__ import annotations

import pytest

from chaos import nginx_faults
from chaos.audit_nginx import audit_nginx
from chaos.findings import at_or_above
from chaos.plan import Scope
from drills.errors import UsageError
from playbooks.repair_nginx import repair_nginx
from stack.nginx import nginx_template, render_nginx_config

SCOPE = Scope("abc123", ("app1", "app2", "app3"), ("app1", "app2", "app3", "db", "lb"))
REFERENCE = render_nginx_config(nginx_template(), 3)


def test_the_reference_nginx_config_is_clean_and_no_fault_is_in_effect() -> None:
    assert audit_nginx(REFERENCE, "nginx.conf") == []
    assert all(not nginx_faults.in_effect(name, REFERENCE)[0] for name in nginx_faults.BUILDERS)


@pytest.mark.parametrize("name", sorted(nginx_faults.BUILDERS))
def test_each_nginx_fault_is_flagged_in_effect_reverted_and_repaired(name: str) -> None:
    plan = nginx_faults.plan(name, REFERENCE, {}, SCOPE)
    faulted = plan.patch.apply(REFERENCE)
    assert faulted != REFERENCE and plan.patch.inverse().apply(faulted) == REFERENCE
    effect, seen = nginx_faults.in_effect(name, faulted)
    assert effect, seen
    found = audit_nginx(faulted, "nginx.conf")
    assert {f.rule for f in found} >= nginx_faults.RULES[name]
    assert repair_nginx(faulted, found) == REFERENCE


def test_weights_and_blast_radius() -> None:
    plan = nginx_faults.plan("nginx.weights-skew", REFERENCE, {"weight": "50"}, SCOPE)
    assert "server app1:8080 max_fails=3 fail_timeout=10s weight=50;" in plan.patch.apply(REFERENCE)
    assert at_or_above(audit_nginx(plan.patch.apply(REFERENCE), "x"), "warning")
    with pytest.raises(UsageError, match="'app9' is not a replica"):
        nginx_faults.plan("nginx.down", REFERENCE, {"servers": "app9"}, SCOPE)
    with pytest.raises(UsageError, match="not an nginx fault"):
        nginx_faults.plan("nginx.salsa", REFERENCE, {}, SCOPE)
