"""Viewers' players: segments fill a playback buffer, playback drains it in real time, a dry
buffer stalls (rebuffering), and a long stall makes the viewer give up and start again.

Pure and told the time: `segment(user, now, ok)` when an answer arrives, `advance(now)` on a
tick. Every answered request of a viewer carries `segment_s` of media; the caller sets it a
little above the viewer's request interval (a player fetches faster than it plays while it is
below its target), so in the steady state each buffer sits at its target and lost or late
segments eat into it. Targets are spread over `buffer_s` (a phone's low-latency player holds
little, a TV's a lot), which is why the same fault stalls some viewers and not others.

Time is kept in buckets of `bucket_s` (as telemetry.windows does), so a sliding window adds up
whole buckets: played and stalled seconds, and who stalled or gave up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STARTING, PLAYING, STALLED = 0, 1, 2


@dataclass(frozen=True)
class PlayerSpec:
    segment_s: float = 0.5  # media each answered segment adds
    buffer_s: tuple[float, float] = (0.5, 4.5)  # viewers' buffer targets, spread over this range
    start_s: float = 0.5  # media needed to start (and to resume after a stall), at most the target
    give_up_s: float = 6.0  # a stall (or a start) this long: the viewer leaves and starts over

    def __post_init__(self) -> None:
        low, high = self.buffer_s
        if self.segment_s <= 0 or not 0 < low <= high or self.start_s <= 0 or self.give_up_s <= 0:
            raise ValueError("segment, buffer, start and give-up times must be positive (buffer low <= high)")


class _Viewer:
    __slots__ = ("at", "buffer", "since", "state", "target")

    def __init__(self, target: float) -> None:
        self.target = target
        self.buffer = 0.0
        self.state = STARTING
        self.since = 0.0  # when the current state began
        self.at = 0.0  # how far this viewer has been advanced


class _Slot:
    """One bucket's sums."""

    __slots__ = ("left", "played", "stalled", "stalled_s")

    def __init__(self) -> None:
        self.played = 0.0
        self.stalled_s = 0.0
        self.stalled: set[int] = set()
        self.left: set[int] = set()


@dataclass(frozen=True)
class Viewing:
    """A window's figures: seconds played and stalled, viewers who stalled, viewers who gave up."""

    played_s: float
    stalled_s: float
    stalled: frozenset[int]
    left: frozenset[int]

    @property
    def rebuffering_ratio(self) -> float:
        total = self.played_s + self.stalled_s
        return self.stalled_s / total if total else 0.0


class Playback:
    def __init__(self, spec: PlayerSpec, users: int, bucket_s: float = 1 / 16) -> None:
        low, high = spec.buffer_s
        self.spec = spec
        self.bucket_s = bucket_s
        # spread evenly over the range, in a scrambled order (golden-ratio steps), so that
        # neighbouring user numbers do not all hold small buffers
        self._viewers = [_Viewer(low + (high - low) * ((i * 0.6180339887) % 1.0)) for i in range(users)]
        self._slots: dict[int, _Slot] = {}
        self.stalls = 0  # stalls begun
        self.gave_up = 0  # viewers who left after a long stall (or a start that never came)

    @property
    def users(self) -> int:
        return len(self._viewers)

    def target(self, user: int) -> float:
        return self._viewers[user].target

    def state(self, user: int) -> str:
        return ("starting", "playing", "stalled")[self._viewers[user].state]

    def buffer(self, user: int) -> float:
        return self._viewers[user].buffer

    def segment(self, user: int, now: float, ok: bool) -> None:
        """An answer for `user` arrived at `now`: media if `ok`, nothing if it failed."""
        if not 0 <= user < len(self._viewers):
            return
        v = self._viewers[user]
        self._advance(user, v, now)
        if not ok:
            return
        spec = self.spec
        if v.state == PLAYING:
            v.buffer = min(v.target, v.buffer + spec.segment_s)
            return
        v.buffer += spec.segment_s
        if v.buffer >= min(spec.start_s, v.target):
            v.state, v.since = PLAYING, v.at

    def advance(self, now: float) -> None:
        for user, v in enumerate(self._viewers):
            self._advance(user, v, now)

    def _advance(self, user: int, v: _Viewer, now: float) -> None:
        start = v.at
        if now <= start:
            return
        v.at = now
        if v.state == PLAYING:
            if v.buffer >= now - start:
                v.buffer -= now - start
                self._accrue(user, start, now, stalled=False)
                return
            dry = start + v.buffer
            self._accrue(user, start, dry, stalled=False)
            v.buffer, v.state, v.since = 0.0, STALLED, dry
            self.stalls += 1
            start = dry
        give_up = v.since + self.spec.give_up_s
        if v.state == STALLED:
            self._accrue(user, start, min(now, give_up), stalled=True)
        if now >= give_up:  # a stall or a start this long: the viewer leaves and starts over
            self.gave_up += 1
            self._slot(give_up).left.add(user)
            v.buffer, v.state, v.since = 0.0, STARTING, give_up

    def _slot(self, at: float) -> _Slot:
        key = math.floor(at / self.bucket_s)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        return slot

    def _accrue(self, user: int, start: float, end: float, stalled: bool) -> None:
        width = self.bucket_s
        key = math.floor(start / width)
        while start < end:
            edge = min(end, (key + 1) * width)
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            if stalled:
                slot.stalled_s += edge - start
                slot.stalled.add(user)
            else:
                slot.played += edge - start
            start, key = edge, key + 1

    def window(self, since: float, now: float) -> Viewing:
        """What happened in (since, now], by whole buckets; older buckets are dropped."""
        first, last = math.floor(since / self.bucket_s), math.floor(now / self.bucket_s)
        for key in [key for key in self._slots if key < first]:
            del self._slots[key]
        played = stalled_s = 0.0
        stalled: set[int] = set()
        left: set[int] = set()
        for key, slot in self._slots.items():
            if first < key <= last:
                played += slot.played
                stalled_s += slot.stalled_s
                stalled |= slot.stalled
                left |= slot.left
        return Viewing(played, stalled_s, frozenset(stalled), frozenset(left))
