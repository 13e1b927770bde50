"""The parent's side of several generator processes: their frames, one stream of samples. Pure.

Samples go to `on_sample` as they arrive, so the monitor and the report see every answer
of every process (counts, late sends, errors and percentiles from all of them, never an
average of per-process figures). Each process also says how many answers it recorded; `check`
compares that with what arrived.

In-flight requests (for the monitor: an unanswered request older than the SLO already counts
as slow) come from each process's latest report of its overdue ones; one whose answer has
arrived since is dropped at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from traffic import wire
from traffic.sample import Sample


@dataclass
class Part:
    """What the parent knows of one process from its frames."""

    decoder: wire.Decoder = field(default_factory=wire.Decoder)
    ready: bool = False
    counts: tuple[int, int] | None = None  # (sent, answered), from its last frame
    failure: str = ""
    received: int = 0
    in_flight: dict[float, int] = field(default_factory=dict)  # scheduled offset -> viewer


class Merge:
    def __init__(self, parts: int, on_sample: Callable[[Sample], None]) -> None:
        self.parts = [Part() for _ in range(parts)]
        self.on_sample = on_sample
        self.on_late_wake: Callable[[float], None] | None = None

    def feed(self, index: int, data: bytes) -> None:
        """Bytes from process `index`'s output, as the pipe gave them."""
        part = self.parts[index]
        decoder = part.decoder
        for kind, payload in decoder.feed(data):
            if kind == wire.SAMPLES:
                in_flight, on_sample = part.in_flight, self.on_sample
                for sample in decoder.samples(payload):
                    if in_flight:
                        in_flight.pop(sample.scheduled, None)
                    on_sample(sample)
                part.received += len(payload) // wire.RECORD.size
            elif kind == wire.IN_FLIGHT_NOW:
                part.in_flight = dict(decoder.in_flight(payload))
            elif kind == wire.LATE_WAKE:
                if self.on_late_wake is not None:
                    self.on_late_wake(decoder.lag(payload))
            elif kind == wire.READY:
                part.ready = True
            elif kind == wire.DONE:
                part.counts = decoder.done(payload)
            elif kind == wire.FAILED:
                part.failure = payload.decode(errors="replace")

    def in_flight(self) -> list[tuple[float, int]]:
        return [(at, user) for part in self.parts for at, user in part.in_flight.items()]

    @property
    def ready(self) -> bool:
        return all(part.ready for part in self.parts)

    def sent(self) -> int:
        """Requests sent by all, once each has finished; raises ValueError naming a process
        whose answers did not all arrive."""
        total = 0
        for index, part in enumerate(self.parts):
            if part.counts is None:
                raise ValueError(f"process {index + 1} did not finish")
            sent, answered = part.counts
            if answered != part.received or part.decoder.pending:
                raise ValueError(f"process {index + 1} recorded {answered} answers, {part.received} arrived")
            total += sent
        return total
