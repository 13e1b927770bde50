"""CPU of one stack under the drill's load (issue #15): where it goes, and the whole machine's.

Usage: [CPU_RUNS=5] .venv/bin/python -m benchmarks.bench_cpu [SECONDS] [RPS] [MODEL] [monitoring]   (needs `make setup`)
Measures the machine without the stack first (the reference: what this shared machine spends
anyway), brings one stack up (Prometheus in it with `monitoring`), measures an idle stretch (the
stack up, no traffic), then drives the drill's audience through it CPU_RUNS times (default 5;
this VM's figures move by up to 25% from one minute to the next with its host's load, so the
median is the one to quote, printed with the lowest and highest) for
SECONDS (default 15) at RPS (default 150, traffic-tango's rate) with arrivals MODEL (poisson,
default; waves is traffic-tango's crowd), and prints CPU seconds per container, per Docker host
process, for the generator, and for the whole machine, as fractions of one core. "this stack"
adds the stack's containers and the generator: the host processes (dockerd, containerd, shims,
docker-proxy) are machine-wide, so on a shared machine they also count other people's stacks;
"what the stack adds" is the whole machine under the load minus the machine without the stack.
"""

from __future__ import annotations

import os
import sys
import time
from statistics import median

from benchmarks.cpu_accounting import Snapshot
from doors import kit
from orchestration import teardown
from orchestration.load import LoadSpec, run_load
from stack import provision
from stack.handle import RunStack, open_stack
from stack.spec import AppSettings, StackSpec


def container_ids(engine: object, run_id: str) -> dict[str, str]:
    client = engine.client  # type: ignore[attr-defined]
    found = client.containers.list(filters={"label": f"drill.run={run_id}"})
    return {c.labels.get("com.docker.compose.service", c.name): c.id for c in found}


def report(title: str, deltas: dict[str, float], seconds: float) -> None:
    print(f"{title} ({seconds:.0f} s):")
    for name, cpu in sorted(deltas.items(), key=lambda kv: -kv[1]):
        if cpu > 0.005:
            print(f"  {name:<40} {cpu:6.2f} CPU-s  {cpu / seconds:5.3f} of a core")


def main(
    seconds: float = 15.0, rps: float = 150.0, model: str = "poisson", monitoring: bool = False, runs: int = 5
) -> None:
    doors = kit.real()
    before = Snapshot.take({})  # the reference: this machine without the stack, in this run
    time.sleep(seconds)
    bare = Snapshot.take({}).since(before)["whole machine"] / seconds
    print(f"machine without the stack ({seconds:.0f} s): {bare:.3f} of a core")
    stack_spec = StackSpec(3, app=AppSettings(capacity=2, service_ms=20), monitoring=monitoring)  # traffic-tango's
    record = provision.up(doors, stack_spec, progress=lambda line: None)
    stack = open_stack(doors, record.run_id)
    ids = container_ids(doors.runtime, record.run_id)
    try:
        before = Snapshot.take(ids)
        time.sleep(seconds)
        idle_cpu = Snapshot.take(ids).since(before)
        report("stack up, no traffic", idle_cpu, seconds)
        idle = idle_cpu["whole machine"] / seconds
        figures = [
            loaded(stack, ids, LoadSpec(stack.endpoints.audience_url, rps, seconds, 40, model)) for _ in range(runs)
        ]
    finally:
        teardown.down(doors, record.run_id)
    owns, machines = [f[0] for f in figures], [f[1] for f in figures]
    own, machine = median(owns), median(machines)
    print(
        f"median of {runs} loads: this stack (its containers and the generator) {own:.3f} of a core "
        f"({spread(owns)}); whole machine {machine:.3f} ({spread(machines)}; "
        f"{machine / max(idle, 1e-6):.1f}x the idle stack); "
        f"what the stack adds to the machine without it: {machine - bare:.3f} of a core"
    )


def spread(values: list[float]) -> str:
    return f"lowest {min(values):.3f}, highest {max(values):.3f}"


def loaded(stack: RunStack, ids: dict[str, str], spec: LoadSpec) -> tuple[float, float]:
    """One load of the drill's audience: its CPU by process printed; (this stack, whole machine)."""
    before = Snapshot.take(ids)
    started = time.monotonic()
    result = run_load(spec, balancer=stack.balancer)
    loads = Snapshot.take(ids).since(before)
    elapsed = time.monotonic() - started
    report(f"{spec.rps:g} req/s of viewers, {result.report.requests} requests", loads, elapsed)
    own = sum(v for k, v in loads.items() if k.startswith(("container ", "generator"))) / elapsed
    print(
        f"this stack (its containers and the generator): {own:.3f} of a core, "
        f"{own * elapsed / max(result.report.requests, 1) * 1e6:.0f} us per request"
    )
    return own, loads["whole machine"] / elapsed


def runs_from_environment() -> int:
    """CPU_RUNS, checked before anything starts: a whole number of loads, at least one."""
    value = os.environ.get("CPU_RUNS", "5")
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"bench_cpu: CPU_RUNS must be a whole number of loads, at least 1, got {value!r}")
    return int(value)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        float(args[0]) if args else 15.0,
        float(args[1]) if len(args) > 1 else 150.0,
        args[2] if len(args) > 2 else "poisson",
        "monitoring" in args[3:],
        runs_from_environment(),
    )
