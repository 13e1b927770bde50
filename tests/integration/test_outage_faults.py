"""The faults after public postmortems on a live stack: each shows as predicted, a
responder's fix by another route clears `in_effect`, and revert restores even shares."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chaos import inject
from chaos.target import Target
from doors.clock import wait_for
from tests.integration.conftest import served_by
from tests.integration.test_faults import edit_config_and_reload, even, only, shares, target

__all__ = ["target"]  # the module's live stack, shared by these tests


def every_server_down(t: Target, url: str) -> None:
    assert all(s.status.startswith("DOWN") for s in t.api.servers()), [s.status for s in t.api.servers()]
    assert sum(served_by(url, 10).values()) == 0, "with every server DOWN nothing is served"


def favours(name: str, at_least: float) -> Callable[[Target, str], None]:
    def check(t: Target, url: str) -> None:
        assert shares(url)[name] >= at_least and shares(url)["app3"] == 0

    return check


def undo_push(t: Target) -> None:
    edit_config_and_reload(r" disabled$", "")(t)
    edit_config_and_reload(r" weight 4$", "")(t)


CASES = [
    ("lb.check-heavy-page", {}, every_server_down, edit_config_and_reload(r"GET /api/catalog$", "GET /health")),
    (
        "lb.slots-exhausted",
        {},
        only("app1"),
        edit_config_and_reload(r"^    server (app[23]) app1:", r"    server \1 \1:"),
    ),
    ("lb.partial-push", {}, favours("app1", 0.6), undo_push),
]


@pytest.mark.parametrize(("name", "params", "predicted", "fix"), CASES, ids=lambda c: c if isinstance(c, str) else "")
def test_outage_fault_shows_is_fixed_by_hand_and_reverts_exactly(
    target: Target,
    name: str,
    params: dict[str, str],
    predicted: Callable[[Target, str], None],
    fix: Callable[[Target], None],
) -> None:
    assert target.stack.endpoints is not None
    url = target.stack.endpoints.url
    original = target.config_path.read_bytes()
    wait_for("the stack to start balanced", lambda: (even(s := shares(url)), str(s)), 30)

    inject.inject(target, inject.plan(target, name, params))
    assert inject.in_effect(target)[0] is True
    predicted(target, url)

    fix(target)
    wait_for(f"{name} fixed by hand to show as not in effect", lambda: _not(inject.in_effect(target)), 30)

    assert "reverted" in inject.revert(target)
    assert target.config_path.read_bytes() == original
    assert target.saved() is None and inject.in_effect(target)[0] is False
    wait_for("even shares after the revert", lambda: (even(s := shares(url)), str(s)), 30)


def _not(result: tuple[bool, str]) -> tuple[bool, str]:
    return not result[0], result[1]
