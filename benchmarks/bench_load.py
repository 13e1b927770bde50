"""Load generator and monitor benchmarks (issue #3). Run with `make bench`, not in tests.

Against one reference stack, in one run:
  1. reference: wrk (1 thread, 50 connections, pinned to the generator's core), /health via the balancer;
  2. generator: the highest rate held within 2% on one core (stepping up), as a ratio to wrk;
  3. accuracy: achieved vs target and late sends at 100, 500 and that highest rate;
  4. agreement: per-replica counts, generator vs the balancer's own counters;
  5. detection: one replica starved of CPU, seconds from then to the first alert (default rules);
False alerts over steady traffic: benchmarks/bench_steady.py (the drill's own audience, several runs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading

from doors import kit
from doors.balancer import RuntimeApi
from doors.runtime import ContainerRuntime
from orchestration import teardown
from orchestration.load import LoadResult, LoadSpec, run_load
from stack import provision
from stack.spec import StackSpec
from telemetry.windows import Slis

CORE = 0
RATES = (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000)


def wrk_rate(url: str, seconds: int = 8) -> float:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench does, as root on Debian)")
    argv = ["taskset", "-c", str(CORE), "wrk", "-t1", "-c50", f"-d{seconds}s", f"{url}/health"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


def held(result: LoadResult, rate: float) -> bool:
    """Within 2%: achieved rate (over the real send span), late sends, and no errors."""
    r = result.report
    return abs(r.achieved_rate - rate) <= 0.02 * rate and r.late <= 0.02 * r.requests and r.errors == 0


def line(label: str, result: LoadResult) -> str:
    r = result.report
    return (
        f"{label:<22} target {r.target_rate:6.0f}  achieved {r.achieved_rate:7.1f} "
        f"({r.achieved_rate / r.target_rate:6.1%})  late {r.late:5d} ({r.late / max(r.requests, 1):5.1%})  "
        f"p99 {r.p99_ms:6.1f} ms  errors {r.errors}"
    )


def detection(engine: ContainerRuntime, run_id: str, url: str, api: RuntimeApi) -> float | None:
    """Starve app1 of CPU at 5 s; return seconds to the first alert fired (default rules)."""
    slowed: list[float] = []

    def slow_at_5s(slis: Slis) -> None:
        if slis.at >= 5 and not slowed:
            slowed.append(slis.at)
            threading.Thread(target=engine.set_cpu_quota, args=(run_id, "app1", 100000, 1000)).start()

    try:
        result = run_load(LoadSpec(url, rps=200, duration_s=20), balancer=api, on_tick=slow_at_5s)
    finally:
        engine.set_cpu_quota(run_id, "app1", 100000, -1)
    fired = [e.at for e in result.events if e.kind == "alert_fired"]
    print("  alerts:", "; ".join(e.describe() for e in result.events) or "none")
    return (fired[0] - slowed[0]) if fired and slowed else None


def main() -> None:
    os.sched_setaffinity(0, {CORE})
    doors = kit.real()
    engine = doors.runtime
    record = provision.up(doors, StackSpec(replicas=3), progress=lambda s: None)
    assert record.endpoints is not None
    url, api = record.endpoints.url, RuntimeApi("127.0.0.1", record.endpoints.api_port)
    try:
        reference = wrk_rate(url)
        print(f"wrk reference (1 thread, 50 conns, core {CORE}): {reference:.0f} req/s on /health")
        best = None
        for rate in RATES:
            result = run_load(LoadSpec(url, rps=rate, duration_s=6, path="/health"))
            print(line(f"step {rate}/s /health", result))
            if not held(result, rate):
                break
            best = result
        if best is not None:
            top = best.report.target_rate
            print(f"highest rate held within 2% on one core: {top:.0f} req/s = {top / reference:.2f}x wrk")
        for rate in (100, 500):
            result = run_load(LoadSpec(url, rps=rate, duration_s=10), balancer=api)
            print(line(f"journeys {rate}/s", result))
            counts = result.balancer_counts or {}
            diffs = {n: (result.report.replicas.get(n, 0) - counts.get(n, 0)) for n in sorted(counts)}
            worst = max(abs(d) / max(counts[n], 1) for n, d in diffs.items())
            print(f"  agreement generator vs balancer: {diffs} (worst {worst:.2%})")
        seconds = detection(engine, record.run_id, url, api)
        print(f"detection, app1 starved of CPU: {'no alert' if seconds is None else f'{seconds:.1f} s'} to first alert")
    finally:
        teardown.down(doors, record.run_id)


if __name__ == "__main__":
    sys.exit(main())
