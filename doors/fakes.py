"""Fakes behind the doors, for unit tests: a clock that only moves when told, a container
runtime that keeps containers in a dict, a balancer that reads its config file the way
HAProxy does on (re)load and keeps runtime-API changes until the next one, and an HTTP
probe that answers from that balancer.

They are small models, not mocks: `drill up`, a fault's apply and revert, a responder's
reload or restart all run against them and change what the next read shows.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from doors.balancer import (
    ADMIN_CONFIG_MAINT,
    ADMIN_FORCED_DRAIN,
    ADMIN_FORCED_MAINT,
    BACKEND,
    CHECK_ENABLED,
    BalancerState,
    MasterStatus,
    ServerStat,
    ServerState,
)
from doors.kit import Doors
from doors.runtime import ContainerInfo, Reaped
from drills.errors import DrillError

SERVICE_PORT = 8080


class FakeClock:
    """Time moves only in sleep(); actions hooked to a moment run when it is reached."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.start = start
        self.hooks: list[tuple[float, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def utc(self) -> datetime:
        return datetime(2026, 11, 24, 14, 30, tzinfo=UTC) + timedelta(seconds=self.t - self.start)

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        for due, action in list(self.hooks):
            if self.t >= due:
                self.hooks.remove((due, action))
                action()

    def at(self, moment: float, action: Callable[[], None]) -> None:
        self.hooks.append((moment, action))


@dataclass
class _Server:
    name: str
    weight: int = 1  # the user weight (`set weight`)
    admin: int = 0
    limit: int = 0
    checked: bool = False
    agent: bool = False
    check_port: int = 0
    address: str = ""
    check_page: bool = False  # the check requests a page that does real work (not /health)
    check_timeout_ms: int = 0  # `timeout check`; 0: none, `inter` is the whole check's time
    inter_ms: int = 2000

    @property
    def check_time_ms(self) -> int:
        return self.check_timeout_ms or self.inter_ms

    @property
    def check_slow(self) -> bool:
        """Under the drill's load, a working page answers in FAKE_PAGE_BUSY_MS: checks with less time out."""
        return self.checked and self.check_page and self.check_time_ms < FAKE_PAGE_BUSY_MS

    @property
    def up(self) -> bool:
        wrong_port = self.checked and self.check_port not in (0, SERVICE_PORT)
        too_slow = self.check_slow and self.check_time_ms < FAKE_PAGE_MS
        return not wrong_port and not too_slow and not self.admin & (ADMIN_FORCED_MAINT | ADMIN_CONFIG_MAINT)


FAKE_PAGE_MS = 20  # the reference app's service time: a check timeout below it always fails
FAKE_PAGE_BUSY_MS = 50  # ... and one below this fails under load


def _fake_ms(value: str) -> int:
    return int(value.removesuffix("ms")) if value.endswith("ms") else int(float(value.rstrip("s")) * 1000)


def _server_from(words: list[str], defaults: list[str]) -> _Server:
    server = _Server(words[1], address=words[2])
    options = defaults + words[3:]
    for i, word in enumerate(options):
        value = options[i + 1] if i + 1 < len(options) else ""
        if word == "weight":
            server.weight = int(value)
        elif word == "maxconn":
            server.limit = int(value)
        elif word == "port":
            server.check_port = int(value)
        elif word == "inter":
            server.inter_ms = _fake_ms(value)
        elif word == "check":
            server.checked = True
        elif word == "agent-check":
            server.agent = True
        elif word == "disabled":
            server.admin |= ADMIN_CONFIG_MAINT
    return server


def read_backend(text: str) -> tuple[str, list[_Server]]:
    """The `app` backend's algorithm and servers, as a (re)load of `text` would set them."""
    algo, servers, defaults, inside = "roundrobin", [], [], False
    page, timeout_ms = False, 0
    for raw in text.splitlines():
        words = shlex.split(raw.split("#", 1)[0])
        if not words:
            continue
        if not raw[:1].isspace():
            inside = words[:2] == ["backend", BACKEND]
        elif inside and words[0] == "balance":
            algo = words[1]
        elif inside and words[0] == "default-server":
            defaults = words[1:]
        elif inside and words[:2] == ["option", "httpchk"]:
            page = not any(w.startswith("/health") for w in words[2:])
        elif inside and words[:2] == ["timeout", "check"] and len(words) > 2:
            timeout_ms = (
                int(words[2].removesuffix("ms")) if words[2].endswith("ms") else int(words[2].rstrip("s")) * 1000
            )
        elif inside and words[0] == "server" and len(words) >= 3:
            servers.append(_server_from(words, defaults))
    for server in servers:
        server.check_page, server.check_timeout_ms = page, timeout_ms
    return algo, servers


class FakeBalancer:
    """doors.balancer.BalancerApi over a config file: reload() reads it, run() changes runtime state."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.pid = 100
        self.running = True
        self.reloads = 0
        self.failed = 0
        self.refuses = False  # the next reloads fail, as HAProxy's on a config it cannot load
        self.busy_polls = 0  # master() answers only after this many polls: a reload in progress
        self.dropped = 0
        self.commands: list[str] = []
        self.algo, self._servers = read_backend(config_path.read_text())

    def reload(self) -> None:
        if self.busy_polls:  # as HAProxy 2.6's master: a SIGUSR2 that comes mid-reload is dropped
            self.dropped += 1
            return
        if self.refuses:
            self.failed += 1
            return
        self.algo, self._servers = read_backend(self.config_path.read_text())
        self.pid += 1
        self.reloads += 1

    def master(self) -> MasterStatus | None:
        self._need_running()
        if self.busy_polls:
            self.busy_polls -= 1
            raise DrillError("HAProxy's master CLI at 127.0.0.1:9998 did not answer: reloading")
        return MasterStatus(self.reloads, self.failed)

    def _need_running(self) -> None:
        if not self.running:
            raise DrillError("HAProxy runtime API at 127.0.0.1 did not answer: connection refused")

    def command(self, line: str) -> str:
        self._need_running()
        return f"Pid: {self.pid}\n" if line == "show info" else ""

    def worker_pid(self) -> int:
        self._need_running()
        return self.pid

    def _server(self, name: str) -> _Server:
        found = next((s for s in self._servers if f"{BACKEND}/{s.name}" == name), None)
        if found is None:
            raise DrillError(f"HAProxy runtime API refused: no such server {name}")
        return found

    def run(self, line: str) -> None:
        self._need_running()
        self.commands.append(line)
        words = line.split()
        if words[:2] == ["set", "weight"]:
            self._server(words[2]).weight = int(words[3])
        elif words[:2] == ["set", "maxconn"]:
            self._server(words[3]).limit = int(words[4])
        elif words[:2] == ["set", "server"]:
            server = self._server(words[2])
            server.admin &= ~(ADMIN_FORCED_MAINT | ADMIN_FORCED_DRAIN)
            server.admin |= {"maint": ADMIN_FORCED_MAINT, "drain": ADMIN_FORCED_DRAIN}.get(words[4], 0)
        elif words[0] in ("enable", "disable") and words[1] in ("health", "agent"):
            setattr(self._server(words[2]), "checked" if words[1] == "health" else "agent", words[0] == "enable")
        else:
            raise DrillError(f"HAProxy runtime API refused `{line}`: Unknown command")

    def servers(self, backend: str = BACKEND) -> list[ServerStat]:
        self._need_running()
        return [self._stat(s) for s in self._servers]

    def _stat(self, s: _Server) -> ServerStat:
        effective = 0 if s.admin & ADMIN_FORCED_DRAIN else s.weight
        status = "MAINT" if s.admin & (ADMIN_FORCED_MAINT | ADMIN_CONFIG_MAINT) else "UP" if s.up else "DOWN"
        responses = {"hrsp_2xx": 0, "hrsp_4xx": 0, "hrsp_5xx": 0}
        check = ("L7TOUT" if s.check_slow else "L7OK") if s.checked else ""
        flaps = 1 if s.checked and s.check_slow else 0  # slow checks take a server DOWN now and then
        return ServerStat(
            BACKEND, s.name, status, effective, 0, 0, 0, responses, s.limit, check, "", flaps, 0 if flaps else 600
        )

    def state(self, backend: str = BACKEND) -> BalancerState:
        self._need_running()
        states = tuple(
            ServerState(
                s.name,
                2 if s.up else 0,
                s.admin,
                s.weight,
                s.weight,
                CHECK_ENABLED if s.checked else 0,
                CHECK_ENABLED if s.agent else 0,
                s.check_port,
                s.address,
                s.address.rpartition(":")[0] or s.address,
            )
            for s in self._servers
        )
        return BalancerState(self.algo, tuple(self.servers()), states)

    def serving(self) -> list[tuple[str, int]]:
        """(server, effective weight) of the servers that get traffic now."""
        return [(s.name, st.weight) for s, st in zip(self._servers, self.servers(), strict=True) if s.up and st.weight]


@dataclass
class FakeRuntime:
    """doors.runtime.ContainerRuntime over a dict: compose_up makes the compose file's services,
    with the ports its .env pins; the lb's SIGUSR2 reloads its FakeBalancer."""

    containers_by_run: dict[str, dict[str, ContainerInfo]] = field(default_factory=dict)
    balancers: dict[int, FakeBalancer] = field(default_factory=dict)  # by runtime API port
    exec_answers: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (service, argv0)
    images: dict[str, dict[str, str]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    starts: int = 0

    def compose_up(self, project: str, compose_file: Path) -> None:
        run_id = project.removeprefix("drill-")
        env = dict(line.split("=", 1) for line in (compose_file.parent / ".env").read_text().splitlines() if line)
        services = yaml.load(compose_file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["services"]
        found = {}
        for service in services:
            ports: tuple[tuple[str, int], ...] = ()
            if service == "lb":
                ports = tuple(
                    (f"{p}/tcp", int(env[k]))
                    for p, k in (("8080", "DRILL_LB_PORT"), ("8404", "DRILL_STATS_PORT"), ("9999", "DRILL_API_PORT"))
                )
                self.balancers[int(env["DRILL_API_PORT"])] = FakeBalancer(compose_file.parent / "lb" / "haproxy.cfg")
            found[service] = ContainerInfo(f"{project}_{service}_1", service, run_id, "running", None, ports, "t0")
        self.containers_by_run[run_id] = found
        self.actions.append(f"compose up {project}")

    def containers(self, run_id: str | None = None) -> list[ContainerInfo]:
        runs = [run_id] if run_id else list(self.containers_by_run)
        return sorted((c for r in runs for c in self.containers_by_run.get(r, {}).values()), key=lambda c: c.name)

    def inspect(self, run_id: str, service: str) -> ContainerInfo:
        try:
            return self.containers_by_run[run_id][service]
        except KeyError:
            raise DrillError(f"run {run_id} has no {service!r} container; is it up? (`drill status`)") from None

    def _set(self, run_id: str, service: str, **changes: object) -> None:
        self.containers_by_run[run_id][service] = replace(self.inspect(run_id, service), **changes)  # type: ignore[arg-type]

    def balancer_of(self, run_id: str) -> FakeBalancer:
        port = self.inspect(run_id, "lb").port("9999/tcp")
        assert port is not None
        return self.balancers[port]

    def exec(self, run_id: str, service: str, argv: list[str]) -> tuple[int, str]:
        self.inspect(run_id, service)
        self.actions.append(f"exec {service} {' '.join(argv)}")
        return self.exec_answers.get((service, argv[0]), (0, ""))

    def signal(self, run_id: str, service: str, signal: str) -> None:
        self.actions.append(f"signal {signal} {service}")
        if service == "lb" and signal == "SIGUSR2":
            self.balancer_of(run_id).reload()

    def start(self, run_id: str, service: str) -> None:
        self.starts += 1
        self._set(run_id, service, status="running", started_at=f"t{self.starts}")
        if service == "lb":
            balancer = self.balancer_of(run_id)
            balancer.running = True
            balancer.reload()

    def restart(self, run_id: str, service: str) -> None:
        """What `docker restart` does: not in the Protocol (drill never restarts), a responder might."""
        self.start(run_id, service)

    def pause(self, run_id: str, service: str) -> None:
        self._set(run_id, service, status="paused")

    def unpause(self, run_id: str, service: str) -> None:
        self._set(run_id, service, status="running")

    def kill(self, run_id: str, service: str) -> None:
        self._set(run_id, service, status="exited")
        if service == "lb":
            self.balancer_of(run_id).running = False

    def set_cpu_quota(self, run_id: str, service: str, period_us: int, quota_us: int) -> None:
        self._set(run_id, service, cpu_quota=max(quota_us, 0))

    def run_in_netns(self, run_id: str, service: str, image: str, argv: list[str]) -> tuple[int, str]:
        """As on a kernel without sch_netem: adding a netem qdisc fails, looking and deleting do not."""
        self.actions.append(f"netns {service} {argv[-1][:40]}")
        return (1, "Error: Specified qdisc kind is unknown.") if "netem delay" in argv[-1] else (0, "")

    def run_ids(self, home: str | None = None) -> set[str]:
        return set(self.containers_by_run)  # one home in a test

    def leftovers(self, run_id: str | None = None) -> list[str]:
        return [f"container {c.name}" for c in self.containers(run_id)]

    def reap(self, run_id: str | None) -> Reaped:
        gone = self.containers(run_id)
        for rid in [run_id] if run_id else list(self.containers_by_run):
            self.containers_by_run.pop(rid, None)
        return Reaped(len(gone), 0, 0)

    def image_labels(self, tag: str) -> dict[str, str] | None:
        return self.images.get(tag)

    def pull(self, reference: str) -> bool:
        return False

    def build(self, context: str, tag: str, buildargs: dict[str, str], labels: dict[str, str]) -> Iterator[str]:
        self.images[tag] = dict(labels)
        yield f"Step 1/1 : FROM {buildargs.get('BASE_IMAGE', '')}"

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        self.images[tag] = {}


@dataclass
class FakeHttp:
    """doors.http.HttpProbe answered by the run's FakeBalancer: weighted round robin over the
    servers that get traffic, and the catalog's status."""

    runtime: FakeRuntime
    catalog_status: int = 200

    def _balancer(self, url: str) -> FakeBalancer:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        for run in self.runtime.containers_by_run.values():
            lb = run.get("lb")
            if lb is not None and lb.port("8080/tcp") == port:
                return self.runtime.balancers[lb.port("9999/tcp") or 0]
        raise OSError(f"connection refused: nothing listens at {url}")

    def served_by(self, url: str, requests: int, path: str = "/api/catalog") -> Counter[str]:
        serving = self._balancer(url).serving()
        turns = [name for name, weight in serving for _ in range(weight)]
        return Counter(turns[i % len(turns)] for i in range(requests)) if turns else Counter()

    def status(self, url: str, path: str) -> int:
        return self.catalog_status if self._balancer(url).serving() else 503


def fake_doors(clock: FakeClock | None = None) -> tuple[Doors, FakeRuntime]:
    """Doors over the fakes, and the fake runtime for a test to look into."""
    runtime = FakeRuntime()
    return Doors(
        lambda: runtime,
        clock or FakeClock(),
        FakeHttp(runtime),
        lambda host, port, master_port: runtime.balancers[port],
    ), runtime
