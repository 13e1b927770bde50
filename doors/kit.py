"""The set of doors a command works through: real ones from `real()`, fakes in unit tests.

Built once per process at the top (the CLI), handed down, so there is one Docker client,
one clock and one HTTP probe per process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the real doors are imported by real(): a responder's command needs few of them
    from doors.balancer import BalancerApi
    from doors.clock import Clock
    from doors.http import HttpProbe
    from doors.runtime import ContainerRuntime


@dataclass(frozen=True)
class Doors:
    connect_runtime: Callable[[], ContainerRuntime]  # called once, on first use of `runtime`
    clock: Clock
    http: HttpProbe
    balancer: Callable[[str, int], BalancerApi]  # (host, port) of a runtime API -> its client

    @cached_property
    def runtime(self) -> ContainerRuntime:
        """The container runtime, connected on first use: commands that never touch it
        (a responder's `drill ack`) neither import the Docker SDK nor need an engine."""
        return self.connect_runtime()


def _docker() -> ContainerRuntime:
    from doors.engine import DockerEngine  # the Docker SDK takes a while to import: only when needed

    return DockerEngine.connect()


def real() -> Doors:
    from doors.balancer import RuntimeApi
    from doors.clock import SYSTEM_CLOCK
    from doors.http import UrllibProbe

    return Doors(_docker, SYSTEM_CLOCK, UrllibProbe(), RuntimeApi)
