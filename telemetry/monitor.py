"""The run's monitor: client-side windows, the balancer's own counters, alert rules, sinks.

It ticks on the generator's event loop. The balancer is read through its runtime API in a
worker thread (a blocking socket call must not delay the senders), so a fault the client
cannot see, such as a server in maintenance, is still on record, and the two sources'
per-replica counts can be compared.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from doors.balancer import BalancerApi, ServerStat
from drills.errors import DrillError
from telemetry.exporter import MetricsServer
from telemetry.rules import AlertEvent, Alerting
from telemetry.sinks import Sink
from telemetry.windows import Slis, Window
from traffic.sample import Sample

STALL_S = 0.25  # a tick this late means the event loop was blocked, not that the stack is slow


def responses(servers: list[ServerStat]) -> dict[str, int]:
    return {s.name: sum(s.responses.values()) for s in servers}


@dataclass
class BalancerView:
    """The balancer's side: server states now, and responses counted since `start`."""

    api: BalancerApi
    start: dict[str, int] = field(default_factory=dict)
    latest: list[ServerStat] = field(default_factory=list)

    def weights(self) -> dict[str, int]:
        return {s.name: s.weight for s in self.api.servers()}

    def begin(self) -> None:
        self.latest = self.api.servers()
        self.start = responses(self.latest)

    def refresh(self) -> None:
        with contextlib.suppress(DrillError):  # keep the last reading; the client still sees the outage
            self.latest = self.api.servers()

    def counts_since_start(self) -> dict[str, int]:
        now = responses(self.latest)
        return {name: now[name] - self.start.get(name, 0) for name in sorted(now)}


@dataclass
class Monitor:
    window: Window
    alerting: Alerting
    sinks: list[Sink]
    balancer: BalancerView | None = None
    metrics: MetricsServer | None = None
    tick_s: float = 0.5
    events: list[AlertEvent] = field(default_factory=list)
    latest: Slis | None = None
    on_tick: Callable[[Slis], None] | None = None
    in_flight: Callable[[], Iterable[tuple[float, int]]] = tuple
    held_up_until: float = -1.0  # a stall of the load's own event loop taints the window until then
    stalls: int = 0
    _last_stall_end: float = field(default=-1.0, init=False, repr=False)

    def loop_lag(self, now: float, lag_s: float) -> None:
        """The monitor (or the generator's schedule loop, which wakes every few ms and so sees
        pauses between two ticks) woke `lag_s` late: the load's event loop was blocked. A stall
        of the client side, not the stack: no alert judges the window it falls in. Both may
        report one pause: it counts once."""
        if lag_s > STALL_S:
            if now - lag_s >= self._last_stall_end:
                self.stalls += 1
            self._last_stall_end = now
            self.held_up_until = max(self.held_up_until, now + self.window.span_s)

    def on_sample(self, sample: Sample) -> None:
        self.window.add(sample)
        if self.metrics is not None:
            self.metrics.observe(sample)

    def evaluate(self, now: float) -> list[AlertEvent]:
        """One tick of pure work: SLIs at `now`, rules, events to sinks."""
        self.latest = self.window.slis(now, list(self.in_flight()), held_up=now < self.held_up_until)
        fresh = self.alerting.evaluate(self.latest)
        for event in fresh:
            self.events.append(event)
            for sink in self.sinks:
                sink.send(event)
        if self.metrics is not None:
            self.metrics.latest, self.metrics.firing = self.latest, self.alerting.firing()
        if self.on_tick is not None:
            self.on_tick(self.latest)
        return fresh

    async def watch(self, elapsed: Callable[[], float], done: asyncio.Event) -> None:
        """Tick until `done` is set: read the balancer, evaluate the window."""
        while not done.is_set():
            if self.balancer is not None:
                await asyncio.to_thread(self.balancer.refresh)
            self.evaluate(elapsed())
            wake = elapsed() + self.tick_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.tick_s)
            if not done.is_set():
                self.loop_lag(elapsed(), elapsed() - wake)
        if self.balancer is not None:
            await asyncio.to_thread(self.balancer.refresh)
        self.evaluate(elapsed())
