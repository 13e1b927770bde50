"""Alert rules as a drill file writes them, parsed into data: `p95_latency_ms > 400 for 10s`.

A rule fires when its condition has held at every evaluation for its hold time, and clears
only when the clear condition (by default the opposite, optionally a band such as
`< 320 for 10s`) has held for its own hold time. telemetry.rules evaluates them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

# The SLIs a rule may name (telemetry.windows.Slis computes them).
SLI_NAMES = (
    "rate",
    "error_rate",
    "late_sends",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "max_latency_ms",
    "max_share_skew",
    "fairness",
    "audience_affected",
    "rebuffering_ratio",
)

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"  # 400, 0.02, .5: never 4.0.0, so float() always reads it
CONDITION = re.compile(
    rf"^\s*(?:(?P<sli>[a-z_0-9]+)\s+)?(?P<op>>=|<=|>|<)\s*(?P<value>-?(?:{NUMBER}))\s+for\s+(?P<hold>{NUMBER})s\s*$"
)

DEFAULT_RULES = (
    ("high-latency", "p95_latency_ms > 400 for 3s", "< 300 for 5s"),
    ("errors", "error_rate > 0.02 for 3s", "< 0.01 for 5s"),
    ("share-skew", "max_share_skew > 0.2 for 5s", "< 0.1 for 5s"),
)


class RuleError(ValueError):
    """A rule that cannot be read; the message says what the right form is."""


@dataclass(frozen=True)
class AlertRule:
    name: str
    sli: str
    op: str
    threshold: float
    hold_s: float
    clear_op: str
    clear_threshold: float
    clear_hold_s: float
    min_requests: int = 10

    @property
    def expression(self) -> str:
        return f"{self.sli} {self.op} {self.threshold:g} for {self.hold_s:g}s"

    def breached(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def recovered(self, value: float) -> bool:
        return OPS[self.clear_op](value, self.clear_threshold)


def parse_rule(name: str, when: str, clear: str | None = None, min_requests: int = 10) -> AlertRule:
    match = CONDITION.match(when)
    if not match or not match["sli"]:
        raise RuleError(
            f"rule {name!r}: {when!r} is not '<sli> <op> <number> for <seconds>s', e.g. 'p95_latency_ms > 400 for 10s'"
        )
    sli = match["sli"]
    if sli not in SLI_NAMES:
        raise RuleError(f"rule {name!r}: unknown SLI {sli!r}; known: {', '.join(SLI_NAMES)}")
    op, threshold, hold = match["op"], float(match["value"]), float(match["hold"])
    clear_op, clear_threshold, clear_hold = OPPOSITE[op], threshold, hold
    if clear is not None:
        band = CONDITION.match(clear)
        if not band or band["sli"] not in (None, sli):
            raise RuleError(
                f"rule {name!r}: clear {clear!r} is not '<op> <number> for <seconds>s', e.g. '< 300 for 10s'"
            )
        clear_op, clear_threshold, clear_hold = band["op"], float(band["value"]), float(band["hold"])
        if OPS[op](clear_threshold, threshold) or (
            OPS[clear_op](threshold, clear_threshold) and clear_threshold != threshold
        ):
            raise RuleError(f"rule {name!r}: clear {clear!r} overlaps the firing condition {when!r}")
    return AlertRule(name, sli, op, threshold, hold, clear_op, clear_threshold, clear_hold, min_requests)


def default_rules() -> list[AlertRule]:
    return [parse_rule(name, when, clear) for name, when, clear in DEFAULT_RULES]
