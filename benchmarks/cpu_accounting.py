"""Where the CPU goes: per container (cgroup cpuacct), per host process, and the whole machine.

Used by the CPU and density benchmarks; Linux only (cgroup v1 cpuacct or cgroup v2 cpu.stat).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST_PROCESSES = ("docker-proxy", "dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2")


def container_cpu_s(container_id: str) -> float:
    """CPU seconds a container has used, from its cgroup."""
    for path in (
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/cpu,cpuacct/docker/{container_id}/cpuacct.usage"),
    ):
        if path.is_file():
            return int(path.read_text()) / 1e9
    for stat in (
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
        Path(f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"),
    ):
        if stat.is_file():
            fields = dict(line.split() for line in stat.read_text().splitlines())
            return int(fields["usage_usec"]) / 1e6
    return 0.0


def process_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def host_processes() -> dict[int, str]:
    """Docker's own host-side processes (docker-proxy for published ports, the daemons, shims)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name in HOST_PROCESSES:
                found[int(entry.name)] = name
    return found


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


@dataclass
class Snapshot:
    containers: dict[str, float]
    host: dict[str, float]
    machine: float
    me: float

    @classmethod
    def take(cls, containers: dict[str, str]) -> Snapshot:
        """containers: name -> id."""
        host: dict[str, float] = {}
        for pid, name in host_processes().items():
            host[name] = host.get(name, 0.0) + process_cpu_s(pid)
        return cls(
            {name: container_cpu_s(cid) for name, cid in containers.items()},
            host,
            machine_cpu_s(),
            process_cpu_s(os.getpid()),
        )

    def since(self, before: Snapshot) -> dict[str, float]:
        out = {f"container {n}": v - before.containers.get(n, 0.0) for n, v in self.containers.items()}
        out |= {f"host {n}": v - before.host.get(n, 0.0) for n, v in self.host.items()}
        out["generator and monitor (this process)"] = self.me - before.me
        out["whole machine"] = self.machine - before.machine
        return out
