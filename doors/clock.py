"""The clock, the one door to time, and waiting for conditions (never for time).

Everything that reads the time takes a Clock, so pure logic and the run's lifecycle run in
unit tests on doors.fakes.FakeClock without sleeping. `wait_for` polls a probe until it
holds or a deadline passes; the timeout names what was awaited and the last thing seen,
so a stack that never gets healthy says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from drills.errors import DrillError, StackTimeout

Probe = Callable[[], tuple[bool, str]]


class Clock(Protocol):
    def now(self) -> float: ...  # monotonic seconds
    def utc(self) -> datetime: ...  # wall time, for the timeline
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def utc(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def quarter(moment: datetime) -> str:
    """A game day's default label: the quarter of `moment`, e.g. 2026-Q4."""
    return f"{moment:%Y}-Q{(moment.month - 1) // 3 + 1}"


def wait_for(what: str, probe: Probe, deadline_s: float, interval_s: float = 0.2, clock: Clock = SYSTEM_CLOCK) -> str:
    """Poll `probe` until it holds; return what it saw then, or raise StackTimeout."""
    from tenacity import RetryCallState, RetryError, Retrying, retry_if_result, wait_fixed  # not at start-up

    seen = ["nothing yet"]
    started = clock.now()

    def attempt() -> bool:
        try:
            holds, seen[0] = probe()
        except (DrillError, OSError) as exc:
            holds, seen[0] = False, str(exc)
        return holds

    def past_deadline(state: RetryCallState) -> bool:
        return clock.now() - started >= deadline_s

    try:
        Retrying(
            stop=past_deadline, wait=wait_fixed(interval_s), sleep=clock.sleep, retry=retry_if_result(lambda ok: not ok)
        )(attempt)
    except RetryError:
        raise StackTimeout(f"timed out after {deadline_s:g}s waiting for {what}; last seen: {seen[0]}") from None
    return seen[0]
