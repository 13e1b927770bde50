"""One load sent by several generator processes: who sends what. Pure.

A generator process holds about 15,000-35,000 requests a second on one core (benchmarks/
bench_generator.py); wrk gets further on the same cores with threads. `drill load
--processes N` splits a load between N child processes, and the parent merges their answers
into one stream of samples, so counts, late sends, errors and percentiles come from every
sample, never from averaged figures.

The split is by viewer. The single-process schedule gives arrival i to viewer i % users
(`traffic.schedule.Audience` hands requests to viewers in turn); process k of N owns the
viewers v with v % N == k, walks the same seeded arrivals and sends only its own viewers'
(`Audience(part=k, parts=N)`). So every arrival is sent by exactly one process, at the
time and for the viewer the single-process load would, and each viewer's journey stays in
one process. The rate splits as the viewers do: 50 viewers in 2 processes, half each.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from drills.definition import WAVES_EVERY_S
from drills.errors import UsageError

AUTO = "auto"
AUTO_RATE = 15_000  # req/s one process holds with room to spare on a core of its own
MAX_PROCESSES = 64


def processes_from(text: str, cores: int, rate: float) -> int:
    """`--processes`: a whole number from 1, or `auto`: one process per AUTO_RATE of `rate`, at
    most one per core this process may use. Below that a single process is the cheaper one:
    each process pays its event loop's wake-ups for fewer answers (benchmarks/bench_generator.py:
    two processes at 6,000 req/s spend about 1.8x the CPU of one), and on a machine shared with
    the stack it loads, that CPU is the stack's."""
    if text.strip().lower() == AUTO:
        return max(1, min(cores, MAX_PROCESSES, math.ceil(rate / AUTO_RATE)))
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_PROCESSES:
        raise UsageError(f"--processes must be a whole number from 1 to {MAX_PROCESSES} or '{AUTO}', got {text!r}")
    return count


def viewers(part: int, parts: int, users: int) -> range:
    """The viewers process `part` of `parts` sends for (global viewer numbers)."""
    return range(part, users, parts)


def rate_share(part: int, parts: int, users: int, rate: float) -> float:
    """The arrival rate process `part` carries: its viewers' share of the whole."""
    return rate * len(viewers(part, parts, users)) / users


@dataclass(frozen=True)
class LoadShare:
    """What one child process is told (one JSON line on its stdin): the whole load's
    schedule and audience, and which part of the viewers is its own."""

    url: str
    rate: float
    duration_s: float
    users: int
    model: str
    seed: int
    path: str | None
    journey: tuple[str, ...]
    waves: bool  # the audience comes and goes (traffic.crowd.Crowd over all `users`)
    ca_file: str | None
    insecure: bool
    part: int
    parts: int
    overdue_after_s: float  # in-flight requests older than this are reported to the parent
    waves_every_s: tuple[float, float] = WAVES_EVERY_S  # the crowd's rhythm (traffic.crowd.WaveSpec)

    def __post_init__(self) -> None:
        if not 0 <= self.part < self.parts:
            raise ValueError(f"part {self.part} of {self.parts}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> LoadShare:
        fields = json.loads(line)
        fields["journey"] = tuple(fields["journey"])
        fields["waves_every_s"] = tuple(fields.get("waves_every_s", WAVES_EVERY_S))
        return cls(**fields)

    def of(self, part: int) -> LoadShare:
        """The same load, another process's part."""
        return LoadShare(**{**asdict(self), "journey": self.journey, "waves_every_s": self.waves_every_s, "part": part})
