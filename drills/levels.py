"""Difficulty levels: what a drill's `level:` changes. Pure data and one function.

A level takes the drill as written (the standard game) and adjusts it: the variant pool
(onboarding draws only the drill's first, headline variant), hint costs, narration (coaching
lines for newcomers; none for veterans), the time limit, and how much the facilitator's live
line shows (veterans see the phase and the clock only: their own tools tell them the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

from drills.definition import Drill, Hint
from drills.errors import UsageError

COACHING = MappingProxyType(
    {
        "stack_ready": "Onboarding: keep the playbook open (`drill hint` shows its next section, at half price).",
        "alert_fired": "An alert: `drill ack` first, then `drill status` for the stats page and config file.",
        "acknowledged": "Acknowledged. Rule out the database in a minute, then look at each replica.",
        "hypothesis": "A theory: check it with a real tool before you `drill diagnose` it.",
        "diagnosed": "Diagnosed. Fix the config and reload gracefully (`docker kill -s USR2 <lb>`).",
        "mitigated": "drill sees recovery. Hold on until it has lasted, then `drill resolve`.",
    }
)


@dataclass(frozen=True)
class Level:
    name: str
    variants: str  # "first" or "all"
    hint_factor: float
    time_factor: float
    narration: str  # "coached", "as written" or "none"
    live: str  # "full" (phase, clock, SLIs) or "clock" (phase and clock only)
    says: str  # one line for `drill show`

    def explain(self) -> str:
        pool = "the first fault variant only" if self.variants == "first" else "every fault variant"
        return (
            f"{self.name}: {pool}; hints cost x{self.hint_factor:g}; time limit x{self.time_factor:g}; "
            f"narration {self.narration}; live line {'phase and clock only' if self.live == 'clock' else 'with SLIs'}"
            f". {self.says}"
        )


LEVELS = MappingProxyType(
    {
        "onboarding": Level(
            "onboarding", "first", 0.5, 2.0, "coached", "full", "For a first drill: one known failure, time to learn."
        ),
        "standard": Level("standard", "all", 1.0, 1.0, "as written", "full", "The drill as written."),
        "veteran": Level(
            "veteran", "all", 2.0, 0.5, "none", "clock", "For seasoned on-call: no coaching, your own tools, half time."
        ),
    }
)
DEFAULT = "standard"
MIN_TIME_LIMIT_S = 60.0


def check(name: str, what: str = "--level") -> str:
    """`name` if it is a level, else a one-line UsageError naming the levels."""
    if name not in LEVELS:
        raise UsageError(f"{what} must be one of {', '.join(LEVELS)}, got {name!r}")
    return name


def apply(drill: Drill, level: str) -> Drill:
    """The drill as played at `level` (a name in LEVELS)."""
    spec = LEVELS[level]
    if level == DEFAULT:
        return replace(drill, level=level, live=spec.live)
    variants = drill.variants[:1] if spec.variants == "first" else drill.variants
    hints = tuple(Hint(round(h.cost * spec.hint_factor), h.section, h.text) for h in drill.hints)
    narration = (
        MappingProxyType({**drill.narration, **COACHING})
        if spec.narration == "coached"
        else MappingProxyType({})
        if spec.narration == "none"
        else drill.narration
    )
    return replace(
        drill,
        variants=variants,
        hints=hints,
        narration=narration,
        time_limit_s=max(MIN_TIME_LIMIT_S, drill.time_limit_s * spec.time_factor),
        level=level,
        live=spec.live,
    )
