"""What one team's stack costs on compose and on swarm (issue #17), for a 30-team estimate.

Usage: .venv/bin/python -m benchmarks.bench_runtime_cost [SECONDS] [RPS] [RUNTIMES]
(needs `make setup`, and for swarm an engine that is a swarm manager: `docker swarm init
--advertise-addr 127.0.0.1`). For each runtime (default "compose swarm"): `drill up` time, CPU
with the stack idle and under the drill's audience (RPS, default 150, for SECONDS, default 15)
per container, per Docker host process and for the whole machine, memory per container after the
load, and `drill down` time. The compose figures are the reference measured in the same run.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.bench_cpu import container_ids, report
from benchmarks.cpu_accounting import Snapshot
from doors import kit
from orchestration import teardown
from orchestration.load import LoadSpec, run_load
from stack import provision
from stack.handle import open_stack
from stack.spec import AppSettings, StackSpec


def memory_mib(engine: object, ids: dict[str, str]) -> dict[str, float]:
    client = engine.client  # type: ignore[attr-defined]
    out = {}
    for name, cid in ids.items():
        stats = client.containers.get(cid).stats(stream=False)["memory_stats"]
        cache = (stats.get("stats") or {}).get("inactive_file", 0) or (stats.get("stats") or {}).get("cache", 0)
        out[name] = (stats.get("usage", 0) - cache) / 2**20
    return out


def own(deltas: dict[str, float]) -> float:
    """CPU seconds the stack itself costs: its containers (the relay too) and the docker-proxy
    processes of its published ports. The whole machine's figure is not used: on a shared machine
    it is mostly other people's work; dockerd is shared by every stack and printed apart."""
    return sum(v for k, v in deltas.items() if k.startswith("container ") or k == "host docker-proxy")


def measure(runtime: str, seconds: float, rps: float) -> dict[str, float]:
    os.environ["DRILL_RUNTIME"] = runtime
    doors = kit.real()
    spec = StackSpec(3, app=AppSettings(capacity=2, service_ms=20))  # traffic-tango's stack
    started = time.monotonic()
    record = provision.up(doors, spec, progress=lambda line: None)
    up_s = time.monotonic() - started
    ids = container_ids(doors.runtime, record.run_id)
    stack = open_stack(doors, record.run_id)
    try:
        before = Snapshot.take(ids)
        time.sleep(seconds)  # a stretch of idle time to measure, not a wait for a condition
        idle = Snapshot.take(ids).since(before)
        report(f"[{runtime}] stack up, no traffic", idle, seconds)
        before, t0 = Snapshot.take(ids), time.monotonic()
        result = run_load(
            LoadSpec(stack.endpoints.audience_url, rps=rps, duration_s=seconds, users=40, model="poisson"),
            balancer=stack.balancer,
        )
        loaded, elapsed = Snapshot.take(ids).since(before), time.monotonic() - t0
        report(f"[{runtime}] {rps:g} req/s of viewers, {result.report.requests} requests", loaded, elapsed)
        memory = memory_mib(doors.runtime, ids)
        print(f"[{runtime}] memory after the load: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(memory.items())))
    finally:
        started = time.monotonic()
        teardown.down(doors, record.run_id)
        down_s = time.monotonic() - started
    figures = {
        "up_s": up_s,
        "down_s": down_s,
        "idle_cores": own(idle) / seconds,
        "loaded_cores": own(loaded) / elapsed,
        "generator_cores": loaded["generator and monitor (this process)"] / elapsed,
        "memory_mib": sum(memory.values()),
    }
    print(f"[{runtime}] " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return figures


def main(seconds: float = 15.0, rps: float = 150.0, runtimes: str = "compose swarm") -> None:
    results = {runtime: measure(runtime, seconds, rps) for runtime in runtimes.split()}
    if {"compose", "swarm"} <= set(results):
        ref, swarm = results["compose"], results["swarm"]
        print("swarm / compose: " + ", ".join(f"{k} {swarm[k] / max(ref[k], 1e-6):.2f}x" for k in ref))
    for runtime, figures in results.items():
        cores = 30 * (figures["loaded_cores"] + figures["generator_cores"])
        print(
            f"30 teams on {runtime}: about {cores:.1f} cores for the stacks and their audiences at {rps:g} req/s "
            f"each (plus dockerd), {30 * figures['memory_mib'] / 1024:.1f} GiB in the stacks' containers"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]) if args else 15.0, float(args[1]) if len(args) > 1 else 150.0, *args[2:3])
