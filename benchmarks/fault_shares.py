"""Shares of traffic per replica under each balancer fault, and after its revert.

Usage: .venv/bin/python benchmarks/fault_shares.py [REQUESTS]   (needs `make setup`)
Starts one stack, then for each fault and route: inject, count REQUESTS (default 300)
through the balancer by X-Served-By, revert, count again. Prints a Markdown table.
"""

from __future__ import annotations

import sys
import time

from chaos import faults, inject
from chaos.target import Target
from doors import kit
from doors.http import UrllibProbe
from orchestration import teardown
from stack import provision
from stack.handle import open_stack
from stack.spec import StackSpec


def shares(url: str, n: int) -> str:
    try:
        counts = UrllibProbe().served_by(url, n)
    except OSError as exc:
        return f"({exc})"
    total = sum(counts.values()) or 1
    return " / ".join(f"{counts.get(f'app{i}', 0) / total:.0%}" for i in (1, 2, 3)) + f" of {sum(counts.values())}"


def main(requests: int) -> None:
    doors = kit.real()
    record = provision.up(doors, StackSpec(replicas=3), progress=lambda line: None)
    assert record.endpoints is not None
    url = record.endpoints.url
    target = Target(open_stack(doors, record.run_id))
    print("| fault | route | shares app1/app2/app3 under the fault | after revert | apply s | revert s |")
    print("|---|---|---|---|---|---|")
    try:
        for fault in faults.CATALOGUE.values():
            if fault.kind != "balancer":
                continue
            for route in fault.routes:
                started = time.monotonic()
                inject.inject(target, inject.plan(target, fault.name, {"route": route}))
                applied = time.monotonic() - started
                under = shares(url, requests)
                started = time.monotonic()
                inject.revert(target)
                reverted = time.monotonic() - started
                print(
                    f"| {fault.name} | {route} | {under} | {shares(url, requests)} | {applied:.1f} | {reverted:.1f} |"
                )
    finally:
        teardown.down(doors, record.run_id)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
