"""Wait for conditions, never for time: poll a probe until it holds or a deadline passes.

A probe returns (holds, what_it_saw). The timeout names what was awaited and the last
thing seen, so a stack that never gets healthy says why.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from drills.errors import DrillError, StackTimeout

Probe = Callable[[], tuple[bool, str]]


def wait_for(what: str, probe: Probe, deadline_s: float, interval_s: float = 0.2) -> str:
    """Poll `probe` until it holds; return what it saw then, or raise StackTimeout."""
    seen = ["nothing yet"]

    def attempt() -> bool:
        try:
            holds, seen[0] = probe()
        except (DrillError, OSError) as exc:
            holds, seen[0] = False, str(exc)
        return holds

    try:
        Retrying(
            stop=stop_after_delay(deadline_s),
            wait=wait_fixed(interval_s),
            retry=retry_if_result(lambda holds: not holds),
        )(attempt)
    except RetryError:
        raise StackTimeout(f"timed out after {deadline_s:g}s waiting for {what}; last seen: {seen[0]}") from None
    return seen[0]
