"""Viewers' players: segments fill a playback buffer, playback drains it in real time, a dry
buffer stalls (rebuffering), and a long stall makes the viewer give up and start again.

Pure and told the time: `segment(user, now, ok, latency)` when an answer arrives, `advance(now)`
on a tick. A real player fetches one segment at a time, so while it is below its buffer target
it gains a segment's media per fetch: D / L seconds of media a second for segments of D seconds
fetched in L seconds. The open-model audience sends a viewer's requests every `interval_s`
whatever the answers do, so each answer is credited D x min(1, interval / L): the same rate.
A viewer stalls when its fetches take longer than its segments last (L > D) for long enough
to drain its buffer (`buffer_segments` x D), or when fetches fail. Segment lengths are spread
over `segment_s` (players and renditions differ: short low-latency segments on a phone, long
ones on a TV), which is why the same fault stalls some viewers and not others.

Time is kept in buckets of `bucket_s` (as telemetry.windows does), so a sliding window adds up
whole buckets: played and stalled seconds, and who stalled or gave up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

STARTING, PLAYING, STALLED = 0, 1, 2


@dataclass(frozen=True)
class PlayerSpec:
    interval_s: float = 0.25  # how often each viewer's requests are due (the open model's pace)
    segment_s: tuple[float, float] = (0.3, 4.0)  # viewers' segment lengths, spread over this range
    buffer_segments: float = 1.2  # the buffer target, in segments; one segment starts (or resumes) play
    give_up_s: float = 8.0  # a stall (or a start) this long: the viewer leaves and starts over

    def __post_init__(self) -> None:
        low, high = self.segment_s
        if self.interval_s <= 0 or not 0 < low <= high or self.buffer_segments < 1 or self.give_up_s <= 0:
            raise ValueError("interval, segments and give-up time must be positive, a buffer at least a segment")


class _Viewer:
    __slots__ = ("at", "away", "buffer", "segment", "since", "state", "target")

    def __init__(self, segment: float, target: float) -> None:
        self.segment = segment
        self.target = target
        self.buffer = 0.0
        self.state = STARTING
        self.since = 0.0  # when the current state began
        self.at = 0.0  # how far this viewer has been advanced
        self.away = False  # not watching (a crowd's wave left): neither playing nor stalled


class _Slot:
    """One bucket's sums."""

    __slots__ = ("left", "played", "stalled", "stalled_s", "watched")

    def __init__(self) -> None:
        self.watched: set[int] = set()  # viewers who played or stalled in this bucket
        self.played = 0.0
        self.stalled_s = 0.0
        self.stalled: set[int] = set()
        self.left: set[int] = set()


@dataclass(frozen=True)
class Viewing:
    """A window's figures: seconds played and stalled, viewers who stalled, viewers who gave up,
    and every viewer who watched (played or stalled) in it."""

    played_s: float
    stalled_s: float
    stalled: frozenset[int]
    left: frozenset[int]
    watched: frozenset[int] = frozenset()

    @property
    def rebuffering_ratio(self) -> float:
        total = self.played_s + self.stalled_s
        return self.stalled_s / total if total else 0.0


class Playback:
    def __init__(
        self,
        spec: PlayerSpec,
        users: int,
        bucket_s: float = 1 / 16,
        watching: Callable[[int, float], bool] | None = None,
    ) -> None:
        """`watching(user, at)`: whether a viewer watches at a moment (traffic.crowd); a viewer
        who is not is neither playing nor stalled, and starts afresh when back."""
        low, high = spec.segment_s
        self.spec = spec
        self.bucket_s = bucket_s
        # spread evenly over the range, in a scrambled order (golden-ratio steps), so that
        # neighbouring user numbers do not all have short segments
        lengths = [low + (high - low) * ((i * 0.6180339887) % 1.0) for i in range(users)]
        self._viewers = [_Viewer(d, d * spec.buffer_segments) for d in lengths]
        self._slots: dict[int, _Slot] = {}
        self._watching = watching
        self.stalls = 0  # stalls begun
        self.gave_up = 0  # viewers who left after a long stall (or a start that never came)

    @property
    def users(self) -> int:
        return len(self._viewers)

    def target(self, user: int) -> float:
        return self._viewers[user].target

    def segment_length(self, user: int) -> float:
        return self._viewers[user].segment

    def state(self, user: int) -> str:
        return ("starting", "playing", "stalled")[self._viewers[user].state]

    def buffer(self, user: int) -> float:
        return self._viewers[user].buffer

    def segment(self, user: int, now: float, ok: bool, latency: float = 0.0) -> None:
        """An answer for `user` arrived at `now` after `latency`: media if `ok`, nothing if it failed."""
        if not 0 <= user < len(self._viewers):
            return
        v = self._viewers[user]
        self._advance(user, v, now)
        if not ok or v.away:
            return
        interval = self.spec.interval_s
        media = v.segment if latency <= interval else v.segment * interval / latency
        if v.state == PLAYING:
            v.buffer = min(v.target, v.buffer + media)
            return
        v.buffer += media
        if v.buffer >= v.segment:
            v.state, v.since = PLAYING, v.at

    def advance(self, now: float) -> None:
        for user, v in enumerate(self._viewers):
            self._advance(user, v, now)

    def _advance(self, user: int, v: _Viewer, now: float) -> None:
        start = v.at
        if now <= start:
            return
        v.at = now
        if self._watching is not None and self._away(v, user, now):
            return
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

    def _away(self, v: _Viewer, user: int, now: float) -> bool:
        """True while `user` is not watching; on coming back, a fresh start from `now`."""
        assert self._watching is not None
        if not self._watching(user, now):
            v.away, v.buffer, v.state, v.since = True, 0.0, STARTING, now
            return True
        if v.away:
            v.away, v.since = False, now
            return True
        return False

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
            slot.watched.add(user)
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
        watched: set[int] = set()
        for key, slot in self._slots.items():
            if first < key <= last:
                played += slot.played
                stalled_s += slot.stalled_s
                stalled |= slot.stalled
                left |= slot.left
                watched |= slot.watched
        return Viewing(played, stalled_s, frozenset(stalled), frozenset(left), frozenset(watched))
