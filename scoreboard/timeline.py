"""The timeline: every event of a run, in order. Pure: the store makes Events, this reads them.

Milestones are the first of each kind that counts (an alert before the fault, say, does
not count as detection). Scores, the postmortem and the report are all computed from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

EVENTS = (
    "stack_ready",
    "baseline_ok",
    "fault_injected",
    "alert_fired",
    "alert_cleared",
    "acknowledged",
    "hypothesis",
    "diagnosed",
    "hint",
    "note",
    "mitigated",
    "relapsed",
    "resolved",
    "premature_resolve",
    "resolve_requested",
    "resolve_declared",
    "abort_requested",
    "extend_requested",
    "extended",
    "timeout",
    "aborted",
    "balancer_restarted",
    "fault_reverted",
)
OUTCOMES = ("resolved", "timeout", "aborted")


@dataclass(frozen=True)
class Event:
    id: int
    event: str
    at: str  # UTC, ISO 8601
    offset_s: float  # seconds since the run started
    by: str
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))  # shared by every subscriber: read-only

    def as_dict(self) -> dict[str, Any]:
        fields = {"event": self.event, "at": self.at, "offset_s": self.offset_s, "by": self.by, "detail": self.detail}
        return {**fields, "data": json.loads(json.dumps(dict(self.data)))}

    @property
    def clock(self) -> str:
        return datetime.fromisoformat(self.at).strftime("%H:%M:%S")


@dataclass(frozen=True)
class Milestones:
    """Offsets (seconds since run start) of each milestone, None when it never happened."""

    fault_injected: float | None
    alert_fired: float | None
    acknowledged: float | None
    diagnosed: float | None
    mitigated: float | None
    resolved: float | None

    def since_fault(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        if value is None or self.fault_injected is None:
            return None
        return round(value - self.fault_injected, 1)


def ordered(events: list[Event]) -> list[Event]:
    """By time, then by the order they were appended (ids), so ties keep their causal order."""
    return sorted(events, key=lambda e: (e.offset_s, e.id))


def first(events: list[Event], name: str, after: float | None = None) -> Event | None:
    for event in ordered(events):
        if event.event == name and (after is None or event.offset_s >= after):
            return event
    return None


def milestones(events: list[Event]) -> Milestones:
    injected = first(events, "fault_injected")
    start = injected.offset_s if injected else None

    def at(name: str) -> float | None:
        if start is None:
            return None
        found = first(events, name, after=start)
        return found.offset_s if found else None

    return Milestones(start, at("alert_fired"), at("acknowledged"), at("diagnosed"), at("mitigated"), at("resolved"))


def count(events: list[Event], name: str) -> int:
    return sum(e.event == name for e in events)


def outcome(events: list[Event]) -> str | None:
    final = [e.event for e in events if e.event in OUTCOMES]
    return final[-1] if final else None


def line(event: Event) -> str:
    """One event in the reference postmortem's form."""
    who = f" ({event.by})" if event.by and event.by not in ("drill", "monitor") else ""
    text = event.detail or event.event.replace("_", " ")
    return f"- **{event.clock} (UTC):** {event.event.replace('_', ' ')}{who}: {text}"


PUBLIC = {e for e in EVENTS if e not in ("resolve_requested", "abort_requested", "extend_requested")}


def public(events: list[Event]) -> list[Event]:
    """The events worth a line in a timeline (requests that the controller answered are not)."""
    return [e for e in ordered(events) if e.event in PUBLIC]
