"""The replica's log (stdout, `docker logs`), written like a service's: a line per notable
second (queue full and 503s, requests that waited long for a slot past the upstream's
patience, slow database calls) among routine noise (cache refreshes, connection churn, GC),
so reading it is real work."""

from __future__ import annotations

import asyncio
import random
import time

from replica_metrics import Metrics


def log(name: str, level: str, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp}.{int(time.time() * 1000) % 1000:03d}Z {level:<5} {name} {text}", flush=True)


NOISE = (
    ("INFO", "catalog cache refreshed: 5 titles, {ms:.1f} ms"),
    ("INFO", "segment cache: hit ratio {ratio:.2f}, {n} entries"),
    ("DEBUG", "gc: gen0 collected {objs} objects"),
    ("INFO", "keep-alive: {conns} client connections open"),
    ("INFO", "healthcheck ok from balancer"),
    ("WARN", "client closed connection before response (broken pipe)"),
    ("INFO", "title metadata lookup miss for 'ocean-drift-4k': falling back to 'ocean-drift'"),
)
UPSTREAM_PATIENCE_S = 1.0  # the balancer's viewers give up on a segment around here
REPORT_S = 1.0  # how often the log says what went wrong in the last while


async def reporter(rng: random.Random, m: Metrics, limits: str) -> None:
    """Once a second: what went wrong in it (if anything); now and then, routine noise.
    `limits` says the replica's queue and slots, e.g. "32 waiting, 8 in service"."""
    while True:
        await asyncio.sleep(REPORT_S)
        waits, rejected, slow_db = m.second_waits, m.second_rejected, m.second_slow_db
        m.second_waits, m.second_rejected, m.second_slow_db = [], 0, []
        if rejected:
            log(m.name, "ERROR", f"queue full ({limits}): answered 503 to {rejected} requests")
        late = [w for w in waits if w > UPSTREAM_PATIENCE_S]
        if late:
            log(
                m.name,
                "WARN",
                f"upstream timeout risk: {len(late)} of {len(waits)} requests waited over "
                f"{UPSTREAM_PATIENCE_S:g}s for a worker (longest {max(late):.2f}s, queue depth {m.queue_depth})",
            )
        elif waits and max(waits) > 0.25:
            log(m.name, "INFO", f"request queue: longest wait {max(waits) * 1000:.0f} ms, depth {m.queue_depth}")
        for command, took in slow_db[:2]:
            log(m.name, "WARN", f"slow redis call {command} took {took * 1000:.0f} ms")
        if rng.random() < 0.12:
            level, text = rng.choice(NOISE)
            log(
                m.name,
                level,
                text.format(
                    ms=rng.uniform(0.4, 3.0),
                    ratio=rng.uniform(0.93, 0.99),
                    n=rng.randint(180, 400),
                    objs=rng.randint(200, 900),
                    conns=m.connections,
                ),
            )
