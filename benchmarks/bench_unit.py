"""`pytest tests/unit` wall time (issue #15), against its own CPU time in the same run.

Usage: .venv/bin/python -m benchmarks.bench_unit [ROUNDS]   (default 3; no Docker needed)
Two ways, alternating round by round so a busy moment hits both: one process (`pytest
tests/unit`), and two pytest-xdist workers as `make unit` runs it (`-n 2 --dist worksteal`: an idle
worker takes tests from a busy one, so the run does not wait on one worker's last few). The reference is the
CPU the run spends (user + system of pytest and its children): wall time above it is waiting
(loopback servers, timeouts, subprocesses) or a busy machine; wall time below it is the second
core at work. The PostgreSQL half of the store suite is left out (`-m "not postgres"`), as
`make unit` leaves it: it starts a database server, which is not unit-test time.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time

WAYS = {"one process": [], "make unit (-n 2)": ["-n", "2", "--dist", "worksteal"]}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def once(extra: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of the unit suite."""
    argv = [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider", "-m", "not postgres"]
    before, started = children_cpu(), time.monotonic()
    done = subprocess.run([*argv, *extra], capture_output=True, text=True)
    wall, cpu = time.monotonic() - started, children_cpu() - before
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:])
    return wall, cpu


def main(rounds: int = 3) -> None:
    figures: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way, extra in WAYS.items():
            figures[way].append(once(extra))
    for way, runs in figures.items():
        walls = [w for w, _ in runs]
        wall, cpu = statistics.median(walls), statistics.median(c for _, c in runs)
        print(
            f"pytest tests/unit, {way}: {min(walls):.1f} / {wall:.1f} / {max(walls):.1f} s wall "
            f"(min / median / max of {rounds}); CPU {cpu:.1f} s; wall / CPU {wall / cpu:.2f}x (goal: under 10 s wall)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
