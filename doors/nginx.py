"""The one door to a running nginx balancer (stack.balancer: nginx).

Open-source nginx has no runtime API: what it runs is the config it loaded at its last
(re)load, and what it did is in its access log. So this door reads, in one `docker exec`:
`nginx -T` (the config on disk, as nginx parses it), the file's modification time, and the
start time of the master's newest worker. A worker started after the last edit runs that
config; otherwise the file was edited and not (successfully) reloaded, and the running config
is the one last seen loaded by this door (or unknown). Per-replica counts come from the access
log on the host (`replica=` is the app's X-Served-By), read from where the last read stopped.

It answers the BalancerApi Protocol, so the monitor, faults and autopilot read nginx as they
read HAProxy; the runtime API's commands are refused with what to do instead.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from doors.balancer import ADMIN_CONFIG_MAINT, BACKEND, BalancerState, MasterStatus, ServerStat, ServerState
from drills.errors import DrillError

CONFIG = "/etc/drill-lb/nginx.conf"
# POSIX sh and /proc only: it runs in Debian's nginx and in the official image alike.
PROBE = (
    f"echo @mtime $(date -r {CONFIG} +%s.%N); echo @now $(date +%s.%N) $(cat /proc/uptime); "
    "echo @hz $(getconf CLK_TCK); "
    "echo @master $(cat /run/nginx.pid 2>/dev/null); "
    "for f in /proc/[0-9]*/stat; do echo @stat $(cat $f 2>/dev/null); done; "
    "echo @config; nginx -T 2>&1; echo @rc $?"
)
# `nginx: ...` on stderr, or the error_log's own format (the drill's config logs to stderr).
NGINX_SAYS = re.compile(r"nginx: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] ")
LOG_LINE = re.compile(r'" (\d{3}) .* replica=(\S+)')
# Start times are read in clock ticks (10 ms) against a boot time worked out from two clocks: an
# edit within this long after a reload counts as loaded (no person edits and reloads that fast).
SLACK_S = 0.05
NO_RUNTIME_API = "nginx has no runtime API: edit the config file and reload (`nginx -s reload`)"


@dataclass(frozen=True)
class NginxReading:
    """One look at the balancer: the config on disk as `nginx -T` prints it ("" when nginx
    refuses it, `error` says why), when the file last changed, and the workers' (pid, start)."""

    config: str
    error: str
    config_mtime: float
    workers: tuple[tuple[int, float], ...]

    @property
    def generation(self) -> float:
        """When the newest worker started: a reload that loaded a config makes a newer one."""
        return max((start for _, start in self.workers), default=0.0)

    @property
    def newest_worker(self) -> int:
        return max(self.workers, key=lambda w: w[1])[0] if self.workers else 0

    @property
    def loaded(self) -> bool:
        """Does the running nginx run the file on disk? (A reload after the last edit succeeded.)"""
        return bool(self.config) and bool(self.workers) and self.generation + SLACK_S >= self.config_mtime


class NginxProcess(Protocol):
    """Where a reading comes from: `docker exec` in the lb container (real) or a fake."""

    def read(self) -> NginxReading: ...
    def access_log(self, offset: int) -> tuple[bytes, int]: ...


def parse_probe(output: str) -> NginxReading:
    """PROBE's output, parsed. Pure."""
    head, _, tail = output.partition("@config\n")
    fields: dict[str, str] = {}
    stats = []
    for line in head.splitlines():
        key, _, value = line.partition(" ")
        if key == "@stat" and value:
            stats.append(value)
        elif key.startswith("@"):
            fields[key[1:]] = value.strip()
    body, _, code = tail.rpartition("@rc ")
    try:
        hz = float(fields.get("hz") or 100)
        now, uptime = (float(x) for x in fields.get("now", "0 0").split()[:2])
        boot = now - uptime  # the wall clock at boot, read now: /proc's btime is whole seconds and drifts
        mtime = float(fields.get("mtime") or 0)
    except ValueError:
        raise DrillError(f"nginx probe: unreadable answer {head[:80]!r}") from None
    master = fields.get("master", "")
    workers = []
    for stat in stats:
        pid, _, rest = stat.partition(" (")
        comm, _, after = rest.rpartition(") ")
        parts = after.split()
        if comm == "nginx" and len(parts) > 19 and parts[1] == master:
            workers.append((int(pid), boot + int(parts[19]) / hz))
    said = [line for line in body.splitlines() if NGINX_SAYS.match(line)]  # nginx's own messages, not the dump
    lines = [line for line in body.splitlines() if not NGINX_SAYS.match(line)]
    ok = code.strip() == "0"
    error = "" if ok else " ".join(line for line in said if "test failed" not in line)[:300] or "nginx -T failed"
    return NginxReading("\n".join(lines) + "\n" if ok else "", error, mtime, tuple(workers))


class ExecProcess:
    """The real reading: PROBE through the container runtime, the access log from the host."""

    def __init__(self, runtime: _Exec, run_id: str, log_file: Path) -> None:
        self.runtime, self.run_id, self.log_file = runtime, run_id, log_file

    def read(self) -> NginxReading:
        code, output = self.runtime.exec(self.run_id, "lb", ["sh", "-c", PROBE])
        if "@config" not in output:
            raise DrillError(f"nginx in run {self.run_id} did not answer the probe ({code}): {output.strip()[:200]}")
        return parse_probe(output)

    def access_log(self, offset: int) -> tuple[bytes, int]:
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                chunk = log.read()
        except OSError:
            return b"", offset
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line nginx is still writing waits for the next read
        return complete, offset + len(complete)


class _Exec(Protocol):
    def exec(self, run_id: str, service: str, argv: list[str]) -> tuple[int, str]: ...


@dataclass(frozen=True)
class Upstream:
    """Upstream `app` as the running config has it: the balancing method and each server."""

    method: str  # roundrobin, ip_hash, hash $remote_addr, least_conn ...
    servers: tuple[tuple[str, dict[str, str]], ...]  # (replica name, parameters; flags map to "")


def parse_upstream(config: str, name: str = BACKEND) -> Upstream:
    """The upstream block named `name` in nginx config text (as `nginx -T` prints it). Pure."""
    match = re.search(rf"^\s*upstream\s+{re.escape(name)}\s*\{{(.*?)^\s*\}}", config, re.M | re.S)
    if match is None:
        return Upstream("", ())
    method, servers = "roundrobin", []
    for raw in match.group(1).split(";"):
        words = re.sub(r"#.*", "", raw).split()
        if not words:
            continue
        if words[0] == "server" and len(words) > 1:
            host = words[1].split(":")[0]
            params = {k: v for k, _, v in (w.partition("=") for w in words[2:])}
            servers.append((host, params))
        elif words[0] in ("ip_hash", "hash", "least_conn", "random", "least_time"):
            method = " ".join(words)
    return Upstream(method, tuple(servers))


def _status(params: dict[str, str]) -> str:
    return "MAINT" if "down" in params else "UP backup" if "backup" in params else "UP"


def state_of(config: str, responses: dict[str, Counter[str]]) -> BalancerState:
    """The BalancerState that a config gives: weights, `down` as maintenance, backups. Pure."""
    found = parse_upstream(config)
    stats, servers = [], []
    for name, params in found.servers:
        weight = int(params.get("weight") or 1) if params.get("weight", "1").isdigit() else 1
        counts = responses.get(name, Counter())
        stats.append(ServerStat(BACKEND, name, _status(params), weight, sum(counts.values()), 0, 0, dict(counts)))
        admin = ADMIN_CONFIG_MAINT if "down" in params else 0
        servers.append(ServerState(name, 2, admin, weight, weight, 0, 0, 0, fqdn=name))
    return BalancerState(found.method, tuple(stats), tuple(servers), config=config)


class NginxBalancer:
    """BalancerApi over a running nginx. One per run (stack.handle), shared by threads."""

    def __init__(self, process: NginxProcess) -> None:
        self.process = process
        self._lock = threading.Lock()
        self._loaded: tuple[float, str] = (0.0, "")  # (worker generation, the config it runs)
        self._offset = 0
        self._responses: dict[str, Counter[str]] = {}

    def running(self) -> tuple[NginxReading, str]:
        """(the reading, the config the running nginx runs: "" when it cannot be known)."""
        reading = self.process.read()
        with self._lock:
            if reading.loaded:
                self._loaded = (reading.generation, reading.config)
            generation, config = self._loaded
        return reading, config if generation == reading.generation else ""

    def _count(self) -> dict[str, Counter[str]]:
        with self._lock:
            chunk, self._offset = self.process.access_log(self._offset)
            for line in chunk.decode(errors="replace").splitlines():
                match = LOG_LINE.search(line)
                if match and match.group(2) != "-":
                    status, replica = match.groups()
                    self._responses.setdefault(replica, Counter())[f"hrsp_{status[0]}xx"] += 1
            return {name: Counter(c) for name, c in self._responses.items()}

    def state(self, backend: str = BACKEND) -> BalancerState:
        reading, config = self.running()
        if not config:
            edited = "the config file changed after the last reload" if reading.config else reading.error
            return BalancerState(f"unknown ({edited or 'nginx has no worker running'})", (), ())
        return state_of(config, self._count())

    def servers(self, backend: str = BACKEND) -> list[ServerStat]:
        """Servers as last read (a reading is a `docker exec`: the monitor's tick only counts the log)."""
        with self._lock:
            config = self._loaded[1]
        if not config:
            return list(self.state(backend).stats)
        return list(state_of(config, self._count()).stats)

    def worker_pid(self) -> int:
        reading = self.process.read()
        if not reading.workers:
            raise DrillError("nginx has no worker process running")
        return reading.newest_worker

    def command(self, line: str) -> str:
        raise DrillError(NO_RUNTIME_API)

    def master(self) -> MasterStatus | None:
        return None  # no master CLI: a reload is seen by its new worker and its running config

    def run(self, line: str) -> None:
        raise DrillError(NO_RUNTIME_API)
