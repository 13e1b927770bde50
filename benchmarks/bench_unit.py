"""`pytest tests/unit` wall time (issue #15), against its own CPU time in the same run.

Usage: .venv/bin/python -m benchmarks.bench_unit [ROUNDS]   (default 3; no Docker needed)
The reference is the CPU the run spends (user + system of pytest and its children): wall
time above it is waiting (loopback servers, timeouts, subprocesses) or a busy machine.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(rounds: int = 3) -> None:
    walls, cpus = [], []
    for _ in range(rounds):
        before, started = children_cpu(), time.monotonic()
        argv = [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"]
        done = subprocess.run(argv, capture_output=True, text=True)
        walls.append(time.monotonic() - started)
        cpus.append(children_cpu() - before)
        if done.returncode != 0:
            raise SystemExit(done.stdout[-2000:])
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"pytest tests/unit: {min(walls):.1f} / {wall:.1f} / {max(walls):.1f} s wall (min / median / max of {rounds}); "
        f"CPU {cpu:.1f} s; wall / CPU {wall / cpu:.2f}x (goal: under 10 s wall)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
