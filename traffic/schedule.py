"""When requests are due and who sends them: pure, seeded, no clock.

Open model: the schedule is fixed before the first response arrives, so a slow server
cannot slow the senders down and hide its own slowness (no coordinated omission).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from traffic.crowd import Crowd

MODELS = ("constant", "poisson", "waves")  # waves: poisson sends, a crowd that comes and goes
# The app's catalog (stack/images/app/server.py); a journey streams segments of one title.
TITLES = ("ocean-drift", "night-shift", "city-lights", "the-long-tango", "mountain-echo")


@dataclass(frozen=True)
class Arrivals:
    """Send offsets (seconds from the start) at `rate` per second for `duration_s`."""

    rate: float
    duration_s: float
    model: str = "constant"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration_s <= 0:
            raise ValueError("rate and duration must be positive")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}")

    @property
    def expected(self) -> int:
        return int(self.rate * self.duration_s)

    def offsets(self) -> Iterator[float]:
        if self.model == "constant":  # waves thin poisson by who watches (Audience.next)
            for i in range(self.expected):
                yield i / self.rate
            return
        rng = random.Random(self.seed)  # poisson, and waves' full audience
        at = rng.expovariate(self.rate)
        cap = 2 * self.expected + 100  # bounded in count even for an unlucky draw
        while at < self.duration_s and cap > 0:
            yield at
            at += rng.expovariate(self.rate)
            cap -= 1


@dataclass(frozen=True)
class Step:
    user: int
    path: str


class Audience:
    """`users` viewers, each on a journey: browse the catalog, stream `segments` of a title, repeat.

    Requests go to users in turn, so every user is active all through a load (or, with a
    `crowd`, while watching) and the share of the audience affected in a window means what it says.

    `journey` (a team's own app, `stack.app.paths`) replaces the reference app's pages: a viewer
    arriving asks for journey[0] (as it browses the catalog), then for the rest in turn as its
    segments (journey[0] again when there is no other); every answer feeds its player alike.

    `part` of `parts` (traffic.split): one of several processes sending one load. The turns run
    over all `users` as in one process, and this one sends only for viewers v with
    v % parts == part (None for the others' turns)."""

    def __init__(
        self,
        users: int,
        segments: int = 20,
        seed: int = 0,
        fixed_path: str | None = None,
        journey: tuple[str, ...] = (),
        crowd: Crowd | None = None,
        part: int = 0,
        parts: int = 1,
    ) -> None:
        if users < 1:
            raise ValueError("an audience needs at least one user")
        if not 0 <= part < parts:
            raise ValueError(f"part {part} of {parts}")
        self.users = users
        self._segments = segments
        self._fixed = fixed_path
        self._journey = journey
        self._rng = random.Random(seed)
        self._position = [0] * users  # 0: browse next; k >= 1: stream segment k next
        self._title = [self._rng.choice(TITLES) for _ in range(users)]
        self._turn = 0
        self.crowd = crowd
        self._part, self._parts = part, parts

    def next(self, at: float = 0.0) -> Step | None:
        """The request due `at` seconds in: the next viewer's in turn, or None when that
        viewer is not watching then (a crowd's wave has left): nothing is sent."""
        user = self._turn % self.users
        self._turn += 1
        if user % self._parts != self._part:  # another process's viewer
            return None
        if self.crowd is not None and not self.crowd.watching(user, at):
            return None
        if self._fixed is not None:
            return Step(user, self._fixed)
        position = self._position[user]
        if position == 0:
            self._title[user] = self._rng.choice(TITLES)
            self._position[user] = 1
            return Step(user, self._journey[0] if self._journey else "/api/catalog")
        self._position[user] = 0 if position >= self._segments else position + 1
        if self._journey:
            rest = self._journey[1:] or self._journey
            return Step(user, rest[(position - 1) % len(rest)])
        return Step(user, f"/stream/{self._title[user]}/{position}")
