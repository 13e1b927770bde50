"""Alert rules evaluated: pure (SLIs and times in, events out). drills.rules parses them.

Hysteresis in value and time (a rule clears only when its clear band has held for its own
hold time), so an alert does not flap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drills.rules import AlertRule
from telemetry.windows import Slis


@dataclass(frozen=True)
class AlertEvent:
    kind: str  # "alert_fired" or "alert_cleared"
    rule: str
    expression: str
    at: float
    value: float
    figures: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "rule": self.rule,
            "expression": self.expression,
            "at": self.at,
            "value": self.value,
            "figures": dict(self.figures),
        }

    def describe(self) -> str:
        verb = "FIRED" if self.kind == "alert_fired" else "cleared"
        return f"alert {self.rule} {verb} at {self.at:.1f}s: {self.expression} (now {self.value:.3g})"


@dataclass
class _State:
    firing: bool = False
    since: float | None = None


KEY_FIGURES = (
    "requests",
    "rate",
    "error_rate",
    "p95_latency_ms",
    "max_share_skew",
    "fairness",
    "audience_affected",
    "rebuffering_ratio",
)


@dataclass
class Alerting:
    """The state of every rule across evaluations."""

    rules: list[AlertRule]
    _states: dict[str, _State] = field(default_factory=dict)

    def firing(self) -> list[str]:
        return [name for name, state in self._states.items() if state.firing]

    def evaluate(self, slis: Slis) -> list[AlertEvent]:
        return [event for rule in self.rules if (event := self._step(rule, slis)) is not None]

    def _step(self, rule: AlertRule, slis: Slis) -> AlertEvent | None:
        state = self._states.setdefault(rule.name, _State())
        if slis.requests < rule.min_requests:
            return None  # too little traffic to judge: keep the state as it is
        if slis.held_up and rule.sli != "late_sends":
            return None  # the load itself was held up: the window measured the machine, not the stack
        value = slis.value(rule.sli)
        moving = rule.recovered(value) if state.firing else rule.breached(value)
        if not moving:
            state.since = None
            return None
        state.since = slis.at if state.since is None else state.since
        if slis.at - state.since < (rule.clear_hold_s if state.firing else rule.hold_s):
            return None
        state.firing, state.since = not state.firing, None
        figures = {k: float(getattr(slis, k)) for k in KEY_FIGURES}
        return AlertEvent(
            "alert_fired" if state.firing else "alert_cleared", rule.name, rule.expression, slis.at, value, figures
        )


def evaluate_all(alerting: Alerting, series: Iterable[Slis]) -> list[AlertEvent]:
    return [event for slis in series for event in alerting.evaluate(slis)]
