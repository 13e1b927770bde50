"""Sliding-window SLIs from the client's side: pure, fed samples and told the time.

A sample belongs to the window by its completion time (when the client learnt the
outcome). Replicas the balancer should use but that got no traffic count with share 0:
a starved replica is the point of the drill.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from traffic.sample import LATE_AFTER_S, Sample, percentile


@dataclass(frozen=True)
class Slis:
    at: float
    window_s: float
    requests: int
    rate: float
    error_rate: float
    late_sends: int
    p50_latency_ms: float
    p95_latency_ms: float
    p99_latency_ms: float
    max_latency_ms: float
    shares: dict[str, float]
    expected_shares: dict[str, float]
    max_share_skew: float
    fairness: float
    users_active: int
    audience_affected: float

    def value(self, sli: str) -> float:
        figure = getattr(self, sli)
        if not isinstance(figure, int | float):
            raise KeyError(sli)
        return float(figure)


def expected_from_weights(weights: dict[str, int]) -> dict[str, float]:
    """Each server's expected share from the balancer's weights (roundrobin: weight / total)."""
    total = sum(w for w in weights.values() if w > 0)
    return {name: (w / total if total and w > 0 else 0.0) for name, w in sorted(weights.items())}


def jain(values: list[float]) -> float:
    """Jain's fairness index: 1.0 when all equal, 1/n when one takes everything."""
    if not values or not any(values):
        return 1.0
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


class Window:
    def __init__(self, span_s: float, slo_ms: float, expected_shares: dict[str, float] | None = None) -> None:
        self.span_s = span_s
        self.slo_ms = slo_ms
        self.expected_shares = dict(expected_shares or {})
        self._samples: deque[Sample] = deque()

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)

    def _evict(self, now: float) -> None:
        while self._samples and self._samples[0].completed <= now - self.span_s:
            self._samples.popleft()

    def slis(self, now: float, in_flight: Iterable[tuple[float, int]] = ()) -> Slis:
        """SLIs at `now`. `in_flight` (scheduled offset, user) of unanswered requests: those older
        than the SLO count as slow already, with their age so far as a lower bound on latency, so
        a replica that stalls shows up before its requests time out."""
        return self.slis_of(self.snapshot(now), now, in_flight)

    def snapshot(self, now: float) -> list[Sample]:
        """The window's samples at `now`, copied (one C-level copy): `slis_of` them off the loop."""
        self._evict(now)
        return list(self._samples)

    def slis_of(self, samples: Iterable[Sample], now: float, in_flight: Iterable[tuple[float, int]] = ()) -> Slis:
        """SLIs from a `snapshot`: touches nothing the loop changes, so it may run in a thread."""
        # Sample's properties inlined: at thousands of samples a tick, a call per sample is most of the cost.
        slo_ms = self.slo_ms
        rows = [s for s in samples if s.scheduled + s.latency <= now]  # s.completed
        failed = [s for s in rows if not 200 <= s.status < 400]  # s.failed
        overdue = [(now - at, user) for at, user in in_flight if (now - at) * 1000 > slo_ms]
        latencies = sorted([s.latency * 1000 for s in rows] + [age * 1000 for age, _ in overdue])
        served = Counter(s.replica for s in rows if s.replica)
        total_served = sum(served.values())
        names = sorted(set(served) | set(self.expected_shares))
        shares = {n: (served[n] / total_served if total_served else 0.0) for n in names}
        skew, fairness = self._balance(shares, served)
        users = {s.user for s in rows} | {user for _, user in overdue}
        hurt = {s.user for s in rows if s.latency * 1000 > slo_ms} | {s.user for s in failed}
        hurt |= {user for _, user in overdue}
        return Slis(
            at=now,
            window_s=self.span_s,
            requests=len(rows),
            rate=len(rows) / self.span_s,
            error_rate=(len(failed) / len(rows)) if rows else 0.0,
            late_sends=sum(1 for s in rows if s.send_delay > LATE_AFTER_S),  # s.late
            p50_latency_ms=percentile(latencies, 50),
            p95_latency_ms=percentile(latencies, 95),
            p99_latency_ms=percentile(latencies, 99),
            max_latency_ms=latencies[-1] if latencies else 0.0,
            shares=shares,
            expected_shares=dict(self.expected_shares),
            max_share_skew=skew,
            fairness=fairness,
            users_active=len(users),
            audience_affected=len(hurt) / len(users) if users else 0.0,
        )

    def _balance(self, shares: dict[str, float], served: Counter[str]) -> tuple[float, float]:
        if not served:
            return 0.0, 1.0
        if not self.expected_shares:
            return 0.0, jain([float(n) for n in served.values()])
        skew = max(abs(shares.get(n, 0.0) - e) for n, e in self.expected_shares.items())
        normalized = [served[n] / e for n, e in self.expected_shares.items() if e > 0]
        return skew, jain(normalized)
