"""The replicas' load-feedback agent, which lb.tango turns on through the balancer config."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from stack.resources import images_dir


def server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drill_app_server", images_dir() / "app" / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_agent_is_steady_unless_asked_to_tango() -> None:
    weight = server().agent_weight
    assert {weight("", "app2", t) for t in range(100)} == {"100%"}
    assert weight("tango period=oops", "app1", 0.0) == "100%"


def test_tango_hands_the_lead_to_each_replica_in_turn() -> None:
    weight = server().agent_weight
    request = "tango period=4 replicas=3"
    leaders = []
    for t in (0.0, 4.0, 8.0, 12.0):
        answers = {name: weight(request, name, t) for name in ("app1", "app2", "app3")}
        assert sorted(answers.values()) == ["100%", "5%", "5%"]
        leaders.append(next(n for n, a in answers.items() if a == "100%"))
    assert leaders == ["app1", "app2", "app3", "app1"]
