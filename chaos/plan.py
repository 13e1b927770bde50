"""What a fault is made of, as data: its parameters, the stack it may touch, and the plan that
says exactly what applying it will do. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from chaos.hapconfig import Patch


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    help: str


@dataclass(frozen=True)
class Scope:
    """What a fault may touch: the run's own replicas and services, nothing else."""

    run_id: str
    replicas: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Exactly what applying a fault will do: a config patch, runtime commands, container actions."""

    fault: str
    route: str
    params: Mapping[str, str]
    summary: str
    patch: Patch = field(default_factory=Patch)
    commands: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # container fault steps, in words (chaos.inject runs them)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))  # read-only, as frozen means
