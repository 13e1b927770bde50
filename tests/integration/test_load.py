"""`drill load` and the monitor against a real stack: shares, agreement, alerts that fire and clear."""

from __future__ import annotations

import json
import threading

from doors.balancer import RuntimeApi
from doors.engine import DockerEngine
from drills.rules import parse_rule
from orchestration.load import LoadSpec, run_load
from stack.rundir import RunRecord
from telemetry.windows import Slis

from .conftest import drill_cli


def test_drill_load_spreads_evenly_and_agrees_with_the_balancer(stack: RunRecord) -> None:
    done = drill_cli("load", "--run", stack.run_id, "--rps", "200", "--duration", "6", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["requests"] == 1200 and result["errors"] == 0
    replicas = result["replicas"]
    assert sorted(replicas) == ["app1", "app2", "app3"]
    for name, row in replicas.items():
        assert abs(row["share"] - 1 / 3) < 0.05, (name, row)
        assert row["expected_share"] == 1 / 3
        assert abs(row["balancer_responses"] - row["requests"]) <= 0.01 * row["requests"], (name, row)
    assert "p95" in result["latency_ms"] and result["late_sends"] <= 60  # 5%: a busy 2-core host lags now and then


def test_two_load_processes_send_the_asked_count_and_agree_with_the_balancer(stack: RunRecord) -> None:
    """The answers of two child processes, merged in the parent, add up to what the balancer
    itself counted per replica (its own counters, read over the runtime API)."""
    argv = ["load", "--run", stack.run_id, "--rps", "300", "--duration", "3", "--processes", "2", "--json"]
    done = drill_cli(*argv)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["requests"] == 900 and result["errors"] == 0
    replicas = result["replicas"]
    assert sorted(replicas) == ["app1", "app2", "app3"]
    assert sum(row["requests"] for row in replicas.values()) == 900
    for name, row in replicas.items():
        assert abs(row["balancer_responses"] - row["requests"]) <= 0.01 * row["requests"] + 1, (name, row)
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]


SUSTAINED_OVERLOAD = r"""
import asyncio, sys, time

async def worker(deadline):
    reader, writer = await asyncio.open_connection("app1", 8080)
    while time.monotonic() < deadline:
        writer.write(b"GET /api/catalog HTTP/1.1\r\nHost: app1\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
        await reader.readexactly(length)
        if b" 503 " in head.split(b"\r\n")[0] + b" ":
            await asyncio.sleep(0.01)
    writer.close()

async def main(workers, seconds):
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(worker(deadline) for _ in range(workers)))

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
"""


def test_overloading_one_replica_fires_the_latency_rule_and_clearing_it_clears(
    engine: DockerEngine, stack: RunRecord
) -> None:
    """36 keep-alive loops from app2 hold app1 at capacity (8) with 28 queued: whatever the balancer
    sends it waits about 90 ms. The rule sees p95 rise through the balancer and fall after."""
    assert stack.endpoints is not None
    rule = parse_rule("high-latency", "p95_latency_ms > 60 for 1s", "< 40 for 2s")
    overload = threading.Thread(
        target=engine.exec, args=(stack.run_id, "app2", ["python3", "-c", SUSTAINED_OVERLOAD, "36", "5"])
    )
    window: list[float] = []

    def start_overload_at_3s(slis: Slis) -> None:
        if slis.at >= 3 and not overload.is_alive() and not window:
            window.append(slis.at)
            overload.start()

    spec = LoadSpec(stack.endpoints.url, rps=100, duration_s=16, window_s=2, slo_ms=60)
    result = run_load(
        spec,
        rules=[rule],
        balancer=RuntimeApi("127.0.0.1", stack.endpoints.api_port),
        on_tick=start_overload_at_3s,
    )
    overload.join(timeout=30)
    kinds = [(e.kind, e.rule) for e in result.events]
    assert kinds == [("alert_fired", "high-latency"), ("alert_cleared", "high-latency")], result.events
    fired, cleared = result.events
    started = window[0]
    assert started < fired.at < started + 5, (started, fired.at)
    assert fired.value > 60 and cleared.value < 40
    assert cleared.at > started + 5, "cleared before the overload ended"
