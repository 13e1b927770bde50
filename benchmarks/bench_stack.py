"""Stack lifecycle times: `drill up` and `drill down`, min / median / max over N runs.

Run by hand or with `make bench`. The reference in the same run is `docker run --rm
drill/app true` (through the SDK), the floor for starting one container on this machine, so the figures
travel as ratios between noisy shared machines.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import docker


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return time.monotonic() - started, done.stdout


def main(rounds: int = 5) -> None:
    drill = [sys.executable, "-m", "cli.main"]
    client = docker.from_env()
    floor = []
    for _ in range(rounds):
        started = time.monotonic()
        client.containers.run("drill/app:latest", ["true"], remove=True, labels={"drill.managed": "true"})
        floor.append(time.monotonic() - started)
    ups, downs = [], []
    for _ in range(rounds):
        up_s, out = timed([*drill, "up", "--json"])
        down_s, _ = timed([*drill, "down", json.loads(out)["run_id"]])
        ups.append(up_s)
        downs.append(down_s)
    ref = statistics.median(floor)
    for name, values in (("docker run --rm (reference)", floor), ("drill up (3 replicas)", ups), ("drill down", downs)):
        lo, med, hi = min(values), statistics.median(values), max(values)
        print(f"{name:<30} {lo:6.2f} / {med:6.2f} / {hi:6.2f} s   {med / ref:5.1f}x reference")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
