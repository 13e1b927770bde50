"""What a drill is, as frozen dataclasses. drills.loader makes them from YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from drills.rules import AlertRule


class FaultCatalogue(Protocol):
    """What the loader asks of the fault catalogue (chaos.faults.CHECKER answers), handed in by
    the caller so that this layer imports nothing of ours."""

    def param_names(self, fault: str) -> tuple[str, ...] | None: ...  # None: no such fault
    def problems(self, fault: str, params: Mapping[str, str], replicas: tuple[str, ...]) -> list[tuple[str, str]]: ...


class DrillChecks(FaultCatalogue, Protocol):
    """Everything the loader checks beyond the file itself (playbooks.checks.CHECKS answers):
    the fault catalogue, and whether the drill's playbook is where `drill hint` will look."""

    def playbook_problem(self, name: str, drill_file: str) -> str | None: ...  # None: found


MILESTONES = ("fault_injected", "alert_fired", "acknowledged", "diagnosed", "mitigated", "resolved")
# What a reference timeline (the original incident, HH:MM) may record.
REFERENCE_EVENTS = (*MILESTONES, "hypothesis", "note")


@dataclass(frozen=True)
class Variant:
    fault: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.fault}[{extra}]" if extra else self.fault


@dataclass(frozen=True)
class Hint:
    cost: int
    section: str
    text: str


@dataclass(frozen=True)
class Recovery:
    p95_ms: float = 300.0
    error_rate: float = 0.01
    max_share_skew: float = 0.12
    sustain_s: float = 10.0


@dataclass(frozen=True)
class PhaseScore:
    points: float
    full_s: float  # full points at or under this many seconds
    zero_s: float  # no points at or over this


@dataclass(frozen=True)
class Rubric:
    phases: Mapping[str, PhaseScore]
    red_herring_cost: float = 25.0
    premature_resolve_cost: float = 50.0
    impact_per_error_pct: float = 2.0
    impact_per_audience_pct: float = 1.0
    no_restart_bonus: float = 50.0


@dataclass(frozen=True)
class ReferenceEntry:
    at: str
    event: str
    text: str


@dataclass(frozen=True)
class OwnApp:
    """A team's own app image in place of the reference app (`stack.app` in a drill file).

    drill assumes of it only: HTTP/1.1 on `port`, 200 on GET `health` (the balancer's check),
    and 200 on GET of each of `paths` (what the audience asks for: `paths[0]` when a viewer
    arrives, then the rest in turn as the segments it plays; one path: every request)."""

    image: str
    port: int = 8080
    health: str = "/health"
    paths: tuple[str, ...] = ("/",)


# The waves audience (traffic.crowd): seconds from one title's start to the next. 15-17 s gives
# lb.tango 3-4 swings a minute (README, "The rollercoaster").
WAVES_EVERY_S = (15.0, 17.0)


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    summary: str
    replicas: int
    capacity: int
    service_ms: float
    rps: float
    users: int
    model: str
    baseline_s: float
    inject_window_s: tuple[float, float]
    time_limit_s: float
    variants: tuple[Variant, ...]
    rules: tuple[AlertRule, ...]
    root_cause: str
    accepted: tuple[str, ...]
    red_herrings: Mapping[str, str]  # category -> what checking it shows
    hints: tuple[Hint, ...]
    recovery: Recovery
    rubric: Rubric
    reference: tuple[ReferenceEntry, ...]
    narration: Mapping[str, str]
    playbook: str
    source: str
    level: str = "standard"  # drills.levels: onboarding, standard, veteran
    live: str = "full"  # the facilitator's live line: "full" (SLIs) or "clock" (phase and clock only)
    queue: int = 32  # requests each replica lets wait for a slot before it answers 503
    waves_every_s: tuple[float, float] = WAVES_EVERY_S  # the waves model: seconds between titles' starts
    monitoring: bool = False  # Prometheus in the stack (costs CPU: off by default)
    app: OwnApp | None = None  # a team's own app image instead of the reference app
    balancer: str = "haproxy"  # stack.balancer: haproxy or nginx


DEFAULT_PHASES: Mapping[str, PhaseScore] = MappingProxyType(
    {
        "detect": PhaseScore(100, 60, 600),
        "acknowledge": PhaseScore(100, 120, 900),
        "diagnose": PhaseScore(200, 300, 1800),
        "mitigate": PhaseScore(200, 600, 2700),
        "resolve": PhaseScore(100, 900, 3600),
    }
)
