"""The replicas' load-feedback agent, which lb.tango turns on through the balancer config."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from stack.resources import images_dir

APP = images_dir() / "app"  # the replica's modules, as python3 /srv/app/server.py finds them


def server() -> ModuleType:
    """A fresh copy of the replica's server module (its metrics start at zero)."""
    if str(APP) not in sys.path:
        sys.path.append(str(APP))  # its siblings: replica_agent, replica_log, replica_metrics
    spec = importlib.util.spec_from_file_location("drill_app_server", APP / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def agent_weight(request: str, name: str, now: float) -> str:
    server()
    from replica_agent import agent_weight as weight  # type: ignore[import-not-found]

    return str(weight(request, name, now))


def test_agent_is_steady_unless_asked_to_tango() -> None:
    weight = agent_weight
    assert {weight("", "app2", t) for t in range(100)} == {"100%"}
    assert weight("tango period=oops", "app1", 0.0) == "100%"


def test_tango_hands_the_lead_to_each_replica_in_turn() -> None:
    weight = agent_weight
    request = "tango period=4 replicas=3"
    leaders = []
    for t in (0.0, 4.0, 8.0, 12.0):
        answers = {name: weight(request, name, t) for name in ("app1", "app2", "app3")}
        assert sorted(answers.values()) == ["100%", "5%", "5%"]
        leaders.append(next(n for n, a in answers.items() if a == "100%"))
    assert leaders == ["app1", "app2", "app3", "app1"]


def test_tango_with_calm_gives_everyone_the_same_weight_between_leads() -> None:
    weight = agent_weight
    request = "tango period=4 calm=8 replicas=3"
    leads = []
    for t in (1.0, 13.0, 25.0):  # inside each 12 s cycle's first 4 s: one lead
        answers = {name: weight(request, name, t) for name in ("app1", "app2", "app3")}
        leads.append(next(n for n, a in answers.items() if a == "100%"))
        assert sorted(answers.values()) == ["100%", "5%", "5%"]
        assert {weight(request, name, t + 5.0) for name in ("app1", "app2", "app3")} == {"100%"}  # calm
    assert leads == ["app1", "app2", "app3"]


def test_the_log_reports_queue_full_and_long_waits(capsys: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import random

    server()
    import replica_log  # type: ignore[import-not-found]
    from replica_metrics import Metrics  # type: ignore[import-not-found]

    monkeypatch.setattr(replica_log, "REPORT_S", 0.01)
    metrics = Metrics("app1", second_rejected=12, second_waits=[0.01, 1.4, 1.9])

    async def one_report() -> None:
        """Until the reporter has taken the second's figures (it logs them before it sleeps again)."""
        task = asyncio.create_task(replica_log.reporter(random.Random(1), metrics, "32 waiting, 8 in service"))
        for _ in range(1000):
            await asyncio.sleep(0.005)
            if metrics.second_rejected == 0:
                break
        task.cancel()

    asyncio.run(one_report())
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "app1 queue full (32 waiting, 8 in service): answered 503 to 12 requests" in out
    assert "upstream timeout risk: 2 of 3 requests waited over 1s" in out
