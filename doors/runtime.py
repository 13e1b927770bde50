"""The container runtime as the layers above see it: a Protocol returning plain values.

The real one is doors.docker (Docker SDK plus the compose CLI); doors.fakes.FakeRuntime
stands in for it in unit tests. Everything drill creates carries the labels
drill.managed=true and drill.run=<id>, so it can be found and reaped by label even after
a crash, as testcontainers does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

LABEL_MANAGED = "drill.managed"
LABEL_RUN = "drill.run"
LABEL_HOME = "drill.home"  # a digest of the DRILL_HOME whose run it is
SERVICE_LABEL = "com.docker.compose.service"


@dataclass(frozen=True)
class ContainerInfo:
    """One container of a run, as inspected now."""

    name: str
    service: str
    run_id: str
    status: str  # running, paused, exited, created, ...
    health: str | None
    ports: tuple[tuple[str, int], ...]  # (private port/proto, host port on 127.0.0.1)
    started_at: str = ""
    cpu_quota: int = 0
    addresses: tuple[tuple[str, str], ...] = ()  # (network name, IP address) on each network it is on

    @property
    def running(self) -> bool:
        return self.status == "running"

    def port(self, private: str) -> int | None:
        return next((host for name, host in self.ports if name == private), None)

    def address(self, network_suffix: str) -> str:
        """Its IP on the network whose name ends with `network_suffix` ('' if none)."""
        return next((ip for name, ip in self.addresses if name.endswith(network_suffix)), "")


@dataclass(frozen=True)
class Reaped:
    containers: int
    networks: int
    volumes: int


class ContainerRuntime(Protocol):
    """What drill asks of a container runtime, by run id and compose service name."""

    def containers(self, run_id: str | None = None) -> list[ContainerInfo]: ...
    def inspect(self, run_id: str, service: str) -> ContainerInfo: ...
    def exec(self, run_id: str, service: str, argv: list[str]) -> tuple[int, str]: ...
    def signal(self, run_id: str, service: str, signal: str) -> None: ...
    def start(self, run_id: str, service: str) -> None: ...
    def pause(self, run_id: str, service: str) -> None: ...
    def unpause(self, run_id: str, service: str) -> None: ...
    def kill(self, run_id: str, service: str) -> None: ...
    def set_cpu_quota(self, run_id: str, service: str, period_us: int, quota_us: int) -> None: ...
    def run_in_netns(self, run_id: str, service: str, image: str, argv: list[str]) -> tuple[int, str]: ...
    def run_ids(self, home: str | None = None) -> set[str]: ...  # home: only runs labelled with it
    def leftovers(self, run_id: str | None = None) -> list[str]: ...
    def reap(self, run_id: str | None) -> Reaped: ...
    def image_labels(self, tag: str) -> dict[str, str] | None: ...
    def compose_up(self, project: str, compose_file: Path) -> None: ...


class ImageBuilder(Protocol):
    """Building images: only `drill images build` needs it."""

    def image_labels(self, tag: str) -> dict[str, str] | None: ...
    def pull(self, reference: str) -> bool: ...
    def build(self, context: str, tag: str, buildargs: dict[str, str], labels: dict[str, str]) -> Iterator[str]: ...
    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None: ...
