"""The replica's Prometheus metrics (/metrics): requests by route and status, in flight, queue
depth, 503s and a latency histogram; and what the log reports each second."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Metrics:
    name: str
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    in_flight: int = 0
    queue_depth: int = 0
    rejected: int = 0
    bucket_counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))  # per bucket, not cumulative
    latency_sum: float = 0.0
    latency_count: int = 0
    # for the log, reset each second
    second_rejected: int = 0
    second_waits: list[float] = field(default_factory=list)
    second_slow_db: list[tuple[str, float]] = field(default_factory=list)
    connections: int = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency_sum += seconds
        self.latency_count += 1
        self.bucket_counts[bisect_left(BUCKETS_S, seconds)] += 1  # summed into `le` buckets when rendered

    def render(self) -> str:
        lines = [
            "# HELP app_requests_total Requests answered, by route and status.",
            "# TYPE app_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'app_requests_total{{replica="{self.name}",route="{route}",code="{status}"}} {n}')
        lines += [
            "# TYPE app_in_flight gauge",
            f'app_in_flight{{replica="{self.name}"}} {self.in_flight}',
            "# TYPE app_queue_depth gauge",
            f'app_queue_depth{{replica="{self.name}"}} {self.queue_depth}',
            "# TYPE app_rejected_total counter",
            f'app_rejected_total{{replica="{self.name}"}} {self.rejected}',
            "# TYPE app_request_duration_seconds histogram",
        ]
        for bound, n in zip(BUCKETS_S, accumulate(self.bucket_counts), strict=False):
            lines.append(f'app_request_duration_seconds_bucket{{replica="{self.name}",le="{bound}"}} {n}')
        lines += [
            f'app_request_duration_seconds_bucket{{replica="{self.name}",le="+Inf"}} {self.latency_count}',
            f'app_request_duration_seconds_sum{{replica="{self.name}"}} {self.latency_sum:.6f}',
            f'app_request_duration_seconds_count{{replica="{self.name}"}} {self.latency_count}',
        ]
        return "\n".join(lines) + "\n"
