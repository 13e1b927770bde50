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


def test_tango_with_calm_gives_everyone_the_same_weight_between_leads() -> None:
    weight = server().agent_weight
    request = "tango period=4 calm=8 replicas=3"
    leads = []
    for t in (1.0, 13.0, 25.0):  # inside each 12 s cycle's first 4 s: one lead
        answers = {name: weight(request, name, t) for name in ("app1", "app2", "app3")}
        leads.append(next(n for n, a in answers.items() if a == "100%"))
        assert sorted(answers.values()) == ["100%", "5%", "5%"]
        assert {weight(request, name, t + 5.0) for name in ("app1", "app2", "app3")} == {"100%"}  # calm
    assert leads == ["app1", "app2", "app3"]


def test_the_log_reports_queue_full_and_long_waits(capsys: object) -> None:
    import asyncio
    import random

    module = server()
    module.REPORT_S = 0.01
    module.METRICS.second_rejected = 12
    module.METRICS.second_waits = [0.01, 1.4, 1.9]

    async def one_report() -> None:
        """Until the reporter has taken the second's figures (it logs them before it sleeps again)."""
        task = asyncio.create_task(module.reporter(random.Random(1)))
        for _ in range(1000):
            await asyncio.sleep(0.005)
            if module.METRICS.second_rejected == 0:
                break
        task.cancel()

    asyncio.run(one_report())
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "queue full" in out and "answered 503 to 12 requests" in out
    assert "upstream timeout risk: 2 of 3 requests waited over 1s" in out
