"""Sliding-window SLIs from the client's side: pure, fed samples and told the time.

A sample belongs to the window by its completion time (when the client learnt the
outcome). Replicas the balancer should use but that got no traffic count with share 0:
a starved replica is the point of the drill.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from traffic.playback import Playback
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
    # The load's own side was held up (its event loop paused) within the window: latency and
    # errors then measure this machine, not the stack, and alert rules do not judge them.
    held_up: bool = False
    # With a streaming audience (a Playback): stalled seconds over watched seconds in the
    # window, and audience_affected is the share of viewers who stalled or gave up in it.
    rebuffering_ratio: float = 0.0

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


BUCKET_S = 1 / 16  # a power of two: a sample's bucket is exact in floating point


class _Bucket:
    """The samples that completed in one BUCKET_S, and their sums kept as they arrive."""

    __slots__ = ("failed", "hurt", "late", "latencies", "samples", "served", "sorted", "users")

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.latencies: list[float] = []  # ms
        self.sorted = True
        self.failed = 0
        self.late = 0
        self.served: Counter[str] = Counter()
        self.users: set[int] = set()
        self.hurt: set[int] = set()  # users with a failed or slow answer

    def add(self, s: Sample, latency_ms: float, slo_ms: float) -> None:
        self.samples.append(s)
        self.latencies.append(latency_ms)
        self.sorted = False
        self.users.add(s.user)
        if not 200 <= s.status < 400:  # s.failed, inlined: this runs for every answer
            self.failed += 1
            self.hurt.add(s.user)
        elif latency_ms > slo_ms:
            self.hurt.add(s.user)
        if s.send_delay > LATE_AFTER_S:  # s.late
            self.late += 1
        if s.replica:
            self.served[s.replica] += 1


class _Sums:
    """A window's totals, added up bucket by bucket (latencies as sorted runs, merged later)."""

    __slots__ = ("errors", "hurt", "late", "latencies", "requests", "served", "users")

    def __init__(self) -> None:
        self.requests = self.errors = self.late = 0
        self.served: Counter[str] = Counter()
        self.users: set[int] = set()
        self.hurt: set[int] = set()
        self.latencies: list[float] = []

    def take(self, bucket: _Bucket) -> None:
        self.requests += len(bucket.samples)
        self.errors += bucket.failed
        self.late += bucket.late
        self.served.update(bucket.served)
        self.users |= bucket.users
        self.hurt |= bucket.hurt
        self.latencies += bucket.latencies


class Window:
    """Samples kept in buckets by completion time, each with its sums: a tick adds up whole
    buckets and looks at single samples only in the two at the window's edges, so it costs
    about the same at 20,000 answers a second as at 20 (it runs on the generator's loop)."""

    def __init__(
        self,
        span_s: float,
        slo_ms: float,
        expected_shares: dict[str, float] | None = None,
        playback: Playback | None = None,
    ) -> None:
        self.span_s = span_s
        self.slo_ms = slo_ms
        self.expected_shares = dict(expected_shares or {})
        self.playback = playback
        self._buckets: dict[int, _Bucket] = {}

    def add(self, sample: Sample) -> None:
        key = math.floor((sample.scheduled + sample.latency) / BUCKET_S)  # by sample.completed
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        bucket.add(sample, sample.latency * 1000, self.slo_ms)
        if self.playback is not None:
            ok = 200 <= sample.status < 400
            self.playback.segment(sample.user, sample.scheduled + sample.latency, ok, sample.latency)

    def slis(self, now: float, in_flight: Iterable[tuple[float, int]] = (), held_up: bool = False) -> Slis:
        """SLIs at `now`. `in_flight` (scheduled offset, user) of unanswered requests: those older
        than the SLO count as slow already, with their age so far as a lower bound on latency, so
        a replica that stalls shows up before its requests time out."""
        since = now - self.span_s  # the window: completed in (since, now]
        sums = self._gather(since, now)
        overdue = [(now - at, user) for at, user in in_flight if (now - at) * 1000 > self.slo_ms]
        latencies = sorted(sums.latencies + [age * 1000 for age, _ in overdue])
        waiting = {user for _, user in overdue}
        users, hurt, rebuffering = sums.users | waiting, sums.hurt | waiting, 0.0
        if self.playback is not None:  # a viewer is affected when playback stalled or gave up
            self.playback.advance(now)
            viewing = self.playback.window(since, now)
            hurt = set(viewing.stalled | viewing.left)
            users |= hurt | viewing.watched  # everyone who watched in the window, answered or not
            rebuffering = viewing.rebuffering_ratio
        shares, skew, fairness = self._balance(sums.served)
        return Slis(
            at=now,
            window_s=self.span_s,
            requests=sums.requests,
            rate=sums.requests / self.span_s,
            error_rate=(sums.errors / sums.requests) if sums.requests else 0.0,
            late_sends=sums.late,
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
            held_up=held_up,
            rebuffering_ratio=rebuffering,
        )

    def _gather(self, since: float, now: float) -> _Sums:
        """The answers completed in (since, now]: whole buckets' sums, and single samples only
        in the two buckets at the window's edges. Older buckets are dropped."""
        first, last = math.floor(since / BUCKET_S), math.floor(now / BUCKET_S)
        for key in [key for key in self._buckets if key < first]:
            del self._buckets[key]
        sums, edge = _Sums(), _Bucket()
        for key, bucket in self._buckets.items():
            if first < key < last:  # wholly inside
                if not bucket.sorted:
                    bucket.latencies.sort()
                    bucket.sorted = True
                sums.take(bucket)
            elif key in (first, last):
                for s in bucket.samples:
                    if since < s.scheduled + s.latency <= now:  # s.completed
                        edge.add(s, s.latency * 1000, self.slo_ms)
        sums.take(edge)
        return sums

    def _balance(self, served: Counter[str]) -> tuple[dict[str, float], float, float]:
        """Each replica's share of the answers, the largest gap to its expected share, and
        Jain's fairness (of the shares over the expected ones, when there are expected ones)."""
        total = sum(served.values())
        names = sorted(set(served) | set(self.expected_shares))
        shares = {n: (served[n] / total if total else 0.0) for n in names}
        if not served:
            return shares, 0.0, 1.0
        if not self.expected_shares:
            return shares, 0.0, jain([float(n) for n in served.values()])
        skew = max(abs(shares.get(n, 0.0) - e) for n, e in self.expected_shares.items())
        normalized = [served[n] / e for n, e in self.expected_shares.items() if e > 0]
        return shares, skew, jain(normalized)
