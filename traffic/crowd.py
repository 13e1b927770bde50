"""Who is watching when: an audience that comes in waves. Pure and seeded, no clock.

A streaming service's demand is not flat: a title starts (a premiere, the next episode, the
match after the ads) and a crowd arrives at once; when it ends most of the crowd leaves, and a
few regulars keep watching until the next one. Each viewer's player fetches at its own steady
pace while it watches, so the request rate follows the crowd.

That is what makes a balancer fault intermittent, as the postmortem's was: a stack short of
capacity (one replica carrying everything, connection slots squeezed) holds the regulars,
tips over when the crowd arrives (its queue fills: latency, then refusals) and recovers when
the crowd leaves (the queue drains). Nothing switches the fault on and off; the demand moves.

Viewers are numbered; every k-th (a `regulars` share) always watches, the others watch from each
title's start, arriving over `arrive_s` and leaving over `leave_s` from `crowd_s` on (not
all in the same second). Titles start
at seeded, uneven intervals drawn from `every_s`.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from drills.definition import WAVES_EVERY_S


@dataclass(frozen=True)
class WaveSpec:
    every_s: tuple[float, float] = WAVES_EVERY_S  # time from one title's start to the next (a drill's setting)
    arrive_s: float = 2.0  # the crowd arrives over this long after a start
    crowd_s: float = 6.0  # from a start until the crowd begins to leave
    leave_s: float = 2.0  # the crowd leaves over this long, not all in one second
    regulars: float = 0.15  # share of viewers who watch between titles too

    def __post_init__(self) -> None:
        low, high = self.every_s
        if not 0 < low <= high or self.leave_s < 0 or not 0 <= self.arrive_s < self.crowd_s:
            raise ValueError("intervals must be positive, the crowd arrive before it leaves")
        if not 0 <= self.regulars <= 1:
            raise ValueError("regulars must be a share between 0 and 1")
        if self.crowd_s + self.leave_s >= low:
            raise ValueError("the crowd must have left before the next title starts")


class Crowd:
    """`watching(user, at)`: is viewer `user` watching `at` seconds into the load?"""

    def __init__(self, users: int, spec: WaveSpec | None = None, seed: int = 0) -> None:
        self.users = users
        self.spec = spec or WaveSpec()
        self._rng = random.Random(seed)
        self._starts = [0.0]  # the first title starts as the load does
        # every k-th viewer is a regular, so the regulars' players spread as the audience's do
        stride = max(1, round(1 / self.spec.regulars)) if self.spec.regulars > 0 else users + 1
        crowd = [u for u in range(users) if u % stride != stride // 2]
        self._place = {u: i / max(len(crowd), 1) for i, u in enumerate(crowd)}  # in [0, 1)

    def _start_before(self, at: float) -> float:
        """The latest title start at or before `at`."""
        while self._starts[-1] <= at:
            self._starts.append(self._starts[-1] + self._rng.uniform(*self.spec.every_s))
        return self._starts[bisect.bisect_right(self._starts, at) - 1]

    def starts(self, until: float) -> list[float]:
        """Title starts in [0, until]."""
        self._start_before(until)
        return [s for s in self._starts if s <= until]

    def watching(self, user: int, at: float) -> bool:
        place = self._place.get(user)
        if place is None or at < 0:  # a regular
            return True
        since = at - self._start_before(at)
        spec = self.spec
        return spec.arrive_s * place <= since < spec.crowd_s + spec.leave_s * place

    def size(self, at: float) -> int:
        """How many viewers watch at `at`."""
        return sum(self.watching(u, at) for u in range(self.users))
