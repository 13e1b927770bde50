"""One request's record, and the summary of many: pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

LATE_AFTER_S = 0.010  # a send more than 10 ms behind its schedule is late


class Sample(NamedTuple):
    """`scheduled` is seconds from the load's start; latency counts from the schedule, not the send.

    A named tuple, immutable like a frozen dataclass and made in a third of the time: one is
    made per answer (and again in the parent of several generator processes)."""

    scheduled: float
    send_delay: float
    latency: float
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    bytes: int
    replica: str
    user: int
    error: str = ""

    @property
    def completed(self) -> float:
        return self.scheduled + self.latency

    @property
    def failed(self) -> bool:
        return not 200 <= self.status < 400

    @property
    def late(self) -> bool:
        return self.send_delay > LATE_AFTER_S


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100); 0.0 for none."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100), at least 1
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True)
class LoadReport:
    target_rate: float
    duration_s: float
    requests: int
    late: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bytes: int
    replicas: dict[str, int]
    send_span_s: float = 0.0

    @property
    def achieved_rate(self) -> float:
        """Requests over the time it really took to send them: late sends stretch it."""
        span = max(self.duration_s, self.send_span_s)
        return self.requests / span if span else 0.0

    @property
    def shares(self) -> dict[str, float]:
        total = sum(self.replicas.values())
        return {name: n / total for name, n in sorted(self.replicas.items())} if total else {}


def summarize(samples: Iterable[Sample], target_rate: float, duration_s: float) -> LoadReport:
    rows = list(samples)
    latencies = sorted(s.latency * 1000 for s in rows)
    served = Counter(s.replica for s in rows if s.replica)
    return LoadReport(
        target_rate=target_rate,
        duration_s=duration_s,
        requests=len(rows),
        late=sum(s.late for s in rows),
        errors=sum(s.failed for s in rows),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
        bytes=sum(s.bytes for s in rows),
        replicas=dict(sorted(served.items())),
        send_span_s=max((s.scheduled + s.send_delay for s in rows), default=0.0) + 1 / target_rate,
    )
