"""What happens in a run, as one stream of messages: the controller publishes, and the timeline
store, the facilitator's terminal and (next) a web view subscribe. Nothing below the
orchestration layer is handed `say` or `live` callbacks.

Who sees what is the subscriber's business: the store records everything; the terminal
hides the fault unless the facilitator asked for the reveal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from scoreboard.timeline import Event
from telemetry.windows import Slis


@dataclass(frozen=True)
class Happened:
    """Something the controller saw happen: it goes on the timeline as it happens."""

    event: str
    at: datetime
    by: str = "drill"
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Seen:
    """An event another process put on the timeline (a responder's command)."""

    event: Event


@dataclass(frozen=True)
class Notice:
    """A line for the facilitator: provisioning progress, where to find the stack."""

    text: str


@dataclass(frozen=True)
class Beat:
    """The run's pulse, every tick: phase, seconds since start, the latest SLIs, and the impact
    on the audience since the fault (kept with the SLIs, so a run whose controller dies is
    still scored on what it did to the viewers)."""

    phase: str
    elapsed: float
    slis: Slis | None
    impact: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


Message = Happened | Seen | Notice | Beat
Subscriber = Callable[[Message], None]


class Bus:
    """Synchronous publish/subscribe: a subscriber's error surfaces in the publisher (a record
    that could not be stored must not be lost silently)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, message: Message) -> None:
        for subscriber in list(self._subscribers):
            subscriber(message)

    def notice(self, text: str) -> None:
        self.publish(Notice(text))
