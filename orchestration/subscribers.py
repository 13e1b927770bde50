"""The run's subscribers: the timeline store, and the facilitator's terminal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drills.definition import Drill
from orchestration.bus import Beat, Happened, Message, Notice, Seen
from scoreboard.store import Store
from telemetry.windows import Slis

SLIS_EVERY_S = 1.0
LIVE_EVERY_S = 2.0


@dataclass
class StoreWriter:
    """Appends every Happened to the run's timeline, and keeps the SLIs once a second."""

    store: Store
    run_id: str
    last_slis_at: float = -SLIS_EVERY_S

    def __call__(self, message: Message) -> None:
        if isinstance(message, Happened):
            self.store.append(self.run_id, message.event, message.by, message.detail, dict(message.data), message.at)
        elif isinstance(message, Beat) and message.slis is not None and self._due(message.elapsed):
            record = {**sli_record(message.slis), "impact": dict(message.impact)}
            self.store.add_slis(self.run_id, round(message.elapsed, 2), record)

    def _due(self, elapsed: float) -> bool:
        if elapsed - self.last_slis_at < SLIS_EVERY_S:
            return False
        self.last_slis_at = elapsed
        return True


def sli_record(slis: Slis) -> dict[str, object]:
    """What the report charts and the scoreboard keep of one second's SLIs."""
    return {
        "rate": slis.rate,
        "error_rate": slis.error_rate,
        "p50": slis.p50_latency_ms,
        "p95": slis.p95_latency_ms,
        "p99": slis.p99_latency_ms,
        "shares": slis.shares,
        "skew": slis.max_share_skew,
        "audience_affected": slis.audience_affected,
        "rebuffering": slis.rebuffering_ratio,
    }


@dataclass
class Narrator:
    """The facilitator's terminal: the drill's narration, responders' actions, a live line.

    Without the reveal it never says what the fault is or when it landed: the live line
    says "running" before and after, and fault_injected is not narrated."""

    drill: Drill
    write: Callable[[str], None]
    reveal: bool = False
    quiet: bool = False
    last_live_at: float = -LIVE_EVERY_S

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notice):
            self.write(message.text)
        elif isinstance(message, Happened):
            self._happened(message)
        elif isinstance(message, Seen):
            e = message.event
            if e.event not in ("alert_fired", "alert_cleared") and e.by not in ("drill", "monitor"):
                self.write(f"  {e.event} by {e.by}: {e.detail}")
        elif message.elapsed - self.last_live_at >= LIVE_EVERY_S:
            self.last_live_at = message.elapsed
            self.write(live_line(message, self.reveal, show_slis=self.drill.live != "clock"))

    def _happened(self, message: Happened) -> None:
        if message.event == "fault_injected":
            if self.reveal:
                self.write(f"  [reveal] {message.detail}")
            return
        if message.event == "stack_ready":
            where = message.data.get("endpoints") or {}
            self.write(
                f"  balancer {where.get('url')}  stats {where.get('stats_url')}"
                + (f"  runtime API {where['runtime_api']}" if where.get("runtime_api") else "  (nginx: no runtime API)")
                + (f"  prometheus {where['prometheus_url']}" if where.get("prometheus_url") else "")
            )
        narration = self.drill.narration.get(message.event)
        if narration and not self.quiet:
            self.write(f"  {narration}")


def live_line(beat: Beat, reveal: bool, show_slis: bool = True) -> str:
    """The live line; without SLIs (a veteran drill) only the phase and the clock."""
    phase = beat.phase if (reveal or beat.phase != "respond") else "running"
    clock = f"{int(beat.elapsed) // 60:02d}:{int(beat.elapsed) % 60:02d}"
    slis = beat.slis
    if not show_slis:
        return f"[{phase:<9} {clock}]"
    if slis is None:
        return f"[{phase:<9} {clock}] waiting for traffic"
    return (
        f"[{phase:<9} {clock}] {slis.rate:5.0f} req/s  p95 {slis.p95_latency_ms:5.0f} ms  "
        f"errors {slis.error_rate:5.1%}  skew {slis.max_share_skew:4.2f}"
    )
