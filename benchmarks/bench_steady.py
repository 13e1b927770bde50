"""A drill must not cry wolf (issue #15): false alerts over steady traffic, no fault.

Usage: .venv/bin/python -m benchmarks.bench_steady [RUNS]   (default 3; needs `make setup`)
STEADY_MINUTES (default 10) sets each run's length. One stack (traffic-tango's, as its file says)
is brought up once; each run is a `drill load --run RUN --rps 150 --users 40 --model poisson`
(traffic-tango's audience) with the default rules. Every alert fired is a
false one. Also printed per run: the times the load's own event loop was held up (`stalls`:
those windows are not judged, since they measured the machine, not the stack), late sends, p95
and max latency. The reference in the same run is the count the goal allows: 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from doors import kit
from drills.loader import builtin_files
from orchestration import teardown
from stack import provision
from stack.spec import AppSettings, StackSpec

DRILL = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
RPS, USERS, MODEL = DRILL["traffic"]["rps"], DRILL["traffic"]["users"], DRILL["traffic"]["model"]


def stack_spec() -> StackSpec:
    """traffic-tango's stack, as `drill run` brings it up."""
    s = DRILL["stack"]
    app = AppSettings(capacity=s["capacity"], service_ms=s["service_ms"], queue=s["queue"])
    return StackSpec(s["replicas"], app=app, monitoring=bool(s.get("monitoring", False)))


def steady(run_id: str, seconds: float) -> dict[str, object]:
    argv = [sys.executable, "-m", "cli.main", "load", "--run", run_id, "--rps", str(RPS), "--users", str(USERS)]
    argv += ["--model", MODEL, "--duration", f"{seconds:g}", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise SystemExit(f"drill load failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main(runs: int = 3) -> None:
    minutes = float(os.environ.get("STEADY_MINUTES", "10"))
    doors = kit.real()
    record = provision.up(doors, stack_spec(), progress=lambda line: None)
    total = 0
    try:
        print(f"steady load: {RPS} req/s from {USERS} viewers, {minutes:g} min a run, {runs} runs, no fault")
        for n in range(1, runs + 1):
            r = steady(record.run_id, minutes * 60)
            alerts = r["alerts"]
            assert isinstance(alerts, list)
            fired = [a for a in alerts if a["kind"] == "alert_fired"]
            total += len(fired)
            latency = r["latency_ms"]
            assert isinstance(latency, dict)
            print(
                f"  run {n}: false alerts {len(fired)}  stalls {r['stalls']}  late sends {r['late_sends']}  "
                f"errors {r['errors']}  p95 {latency['p95']:.1f} ms  max {latency['max']:.1f} ms"
                + "".join(f"\n    {a}" for a in fired)
            )
    finally:
        teardown.down(doors, record.run_id)
    print(f"false alerts over {runs} x {minutes:g} min of steady traffic: {total} (goal 0)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
