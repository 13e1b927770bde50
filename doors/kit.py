"""The set of doors a command works through: real ones from `real()`, fakes in unit tests.

Built once per process at the top (the CLI), handed down, so there is one Docker client,
one clock and one HTTP probe per process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from drills.errors import UsageError

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
    balancer: Callable[[str, int, int], BalancerApi]  # (host, port, master CLI port or 0) -> a client

    @cached_property
    def runtime(self) -> ContainerRuntime:
        """The container runtime, connected on first use: commands that never touch it
        (a responder's `drill ack`) neither import the Docker SDK nor need an engine."""
        return self.connect_runtime()


RUNTIMES = ("compose", "swarm")


def runtime_name() -> str:
    """The runtime new stacks come up on: DRILL_RUNTIME (the global --runtime sets it), default compose.
    Only `up` differs: any runtime inspects, acts on and tears down a stack of either kind."""
    name = os.environ.get("DRILL_RUNTIME") or "compose"
    if name not in RUNTIMES:
        raise UsageError(f"DRILL_RUNTIME={name!r}: expected one of {', '.join(RUNTIMES)}")
    return name


def _docker() -> ContainerRuntime:
    # The Docker SDK takes a while to import: only when needed.
    if runtime_name() == "swarm":
        from doors.swarm import SwarmEngine

        return SwarmEngine.connect()
    from doors.engine import DockerEngine

    return DockerEngine.connect()


def real() -> Doors:
    from doors.balancer import RuntimeApi
    from doors.clock import SYSTEM_CLOCK
    from doors.http import UrllibProbe

    return Doors(_docker, SYSTEM_CLOCK, UrllibProbe(), RuntimeApi)
