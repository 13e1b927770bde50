"""The balancer's runtime API: the one door to a running HAProxy.

The runtime API is HAProxy's stats socket, published on 127.0.0.1 at admin level; one
TCP connection per command, as `socat` would do. Parsing is pure and unit-tested.
`BalancerApi` is the Protocol the layers above use; doors.fakes.FakeBalancer stands in for
the real one in unit tests. One client per run (stack.handle builds it).
"""

from __future__ import annotations

import csv
import io
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from drills.errors import DrillError

BACKEND = "app"
SHOW_ATTEMPTS = 3
MASTER_PORT = 9998  # HAProxy's master CLI in the lb container (-S in its image); not published
T = TypeVar("T")


@dataclass(frozen=True)
class ServerStat:
    """One row of `show stat` for a server: its state and its counters."""

    backend: str
    name: str
    status: str
    weight: int
    sessions_total: int
    current_sessions: int
    queue: int
    responses: dict[str, int]
    limit: int = 0  # slim: the server's maxconn, 0 when unlimited
    check_status: str = ""
    agent_status: str = ""
    down_transitions: int = 0  # chkdown: UP to DOWN since this worker started (a reload starts anew)
    since_change_s: int = -1  # lastchg: seconds since its last UP/DOWN change (-1: not reported)

    @property
    def up(self) -> bool:
        return self.status.startswith("UP")


def _int(value: str | None) -> int:
    return int(value) if value not in (None, "") else 0


def parse_stat_csv(text: str) -> list[ServerStat]:
    """Server rows of HAProxy's `show stat` / `;csv` output (the header starts with '# ')."""
    body = text.lstrip()
    if not body.startswith("# "):
        raise ValueError(f"not HAProxy stat CSV: {body[:40]!r}")
    rows = csv.DictReader(io.StringIO(body[2:]))
    servers = []
    for row in rows:
        if row.get("type") != "2":  # 0 frontend, 1 backend, 2 server, 3 listener
            continue
        servers.append(
            ServerStat(
                backend=row["pxname"],
                name=row["svname"],
                status=row["status"],
                weight=_int(row.get("weight")),
                sessions_total=_int(row.get("stot")),
                current_sessions=_int(row.get("scur")),
                queue=_int(row.get("qcur")),
                responses={k: _int(row.get(k)) for k in ("hrsp_2xx", "hrsp_4xx", "hrsp_5xx")},
                limit=_int(row.get("slim")),
                check_status=row.get("check_status") or "",
                agent_status=row.get("agent_status") or "",
                down_transitions=_int(row.get("chkdown")),
                since_change_s=int(row["lastchg"]) if row.get("lastchg") else -1,
            )
        )
    return servers


def parse_algo(text: str, backend: str = BACKEND) -> str:
    """The backend's balancing algorithm, from the BACKEND row of `show stat`."""
    rows = csv.DictReader(io.StringIO(text.lstrip()[2:]))
    for row in rows:
        if row.get("pxname") == backend and row.get("svname") == "BACKEND":
            return row.get("algo") or ""
    return ""


# Bits of `show servers state` (HAProxy's include/haproxy/server-t.h and check-t.h).
ADMIN_FORCED_MAINT = 0x01
ADMIN_CONFIG_MAINT = 0x04  # `disabled` in the config
ADMIN_FORCED_DRAIN = 0x08
CHECK_ENABLED = 0x04
CHECK_AGENT = 0x10


@dataclass(frozen=True)
class ServerState:
    """One row of `show servers state`: what the runtime API can change about a server."""

    name: str
    operational: int  # 0 stopped, 1 starting, 2 running, 3 stopping
    admin: int
    weight: int  # user weight, as `set weight` sets it
    initial_weight: int
    check_state: int
    agent_state: int
    check_port: int
    address: str = ""  # srv_addr: the address the server resolved to ("-": none)
    fqdn: str = ""  # srv_fqdn: the host name the server line names

    @property
    def maintenance(self) -> bool:
        return bool(self.admin & (ADMIN_FORCED_MAINT | ADMIN_CONFIG_MAINT))

    @property
    def draining(self) -> bool:
        return bool(self.admin & ADMIN_FORCED_DRAIN) or self.weight == 0

    @property
    def checked(self) -> bool:
        return bool(self.check_state & CHECK_ENABLED)

    @property
    def agent(self) -> bool:
        return bool(self.agent_state & CHECK_ENABLED)


def parse_servers_state(text: str, backend: str = BACKEND) -> list[ServerState]:
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("# ")), None)
    if header is None:
        raise ValueError(f"not `show servers state` output: {text[:40]!r}")
    columns = header[2:].split()
    found = []
    for line in lines:
        if line.startswith("#") or line.strip().isdigit():
            continue
        row = dict(zip(columns, line.split(), strict=False))
        if row.get("be_name") != backend:
            continue
        found.append(
            ServerState(
                name=row["srv_name"],
                operational=_int(row.get("srv_op_state")),
                admin=_int(row.get("srv_admin_state")),
                weight=_int(row.get("srv_uweight")),
                initial_weight=_int(row.get("srv_iweight")),
                check_state=_int(row.get("srv_check_state")),
                agent_state=_int(row.get("srv_agent_state")),
                check_port=_int(row.get("srv_check_port")),
                address=row.get("srv_addr", ""),
                fqdn=row.get("srv_fqdn", ""),
            )
        )
    return found


@dataclass(frozen=True)
class BalancerState:
    """What the running balancer does now, whichever route set it (config, runtime API, restart)."""

    algo: str
    stats: tuple[ServerStat, ...]
    servers: tuple[ServerState, ...]
    config: str = ""  # a balancer without a runtime API (nginx): the config it runs, as loaded

    def stat(self, name: str) -> ServerStat | None:
        return next((s for s in self.stats if s.name == name), None)

    def state(self, name: str) -> ServerState | None:
        return next((s for s in self.servers if s.name == name), None)


@dataclass(frozen=True)
class MasterStatus:
    """HAProxy's master process as `show proc` reports it: reloads done, and how many failed."""

    reloads: int
    failed: int


_MASTER_LINE = re.compile(r"^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]", re.MULTILINE)


def parse_show_proc(text: str) -> MasterStatus:
    found = _MASTER_LINE.search(text)
    if found is None:
        raise ValueError(f"not `show proc` output from HAProxy's master: {text[:40]!r}")
    return MasterStatus(int(found[1]), int(found[2]))


class BalancerApi(Protocol):
    """What drill reads from and sends to a running balancer."""

    def command(self, line: str) -> str: ...
    def servers(self, backend: str = BACKEND) -> list[ServerStat]: ...
    def state(self, backend: str = BACKEND) -> BalancerState: ...
    def worker_pid(self) -> int: ...
    def run(self, line: str) -> None: ...
    def master(self) -> MasterStatus | None:
        """The master's reload count; None where drill cannot read one (nginx, or HAProxy with
        no route to its master CLI). Raises DrillError while a reload is in progress: the
        master does not answer then."""
        ...


class RuntimeApi:
    def __init__(self, host: str, port: int, master_port: int = 0, timeout: float = 5.0) -> None:
        self.address = (host, port)
        self.master_address = (host, master_port) if master_port else None
        self.timeout = timeout

    def command(self, line: str) -> str:
        return self._ask(self.address, line, "HAProxy runtime API", half_close=False)

    def master(self) -> MasterStatus | None:
        if self.master_address is None:
            return None
        text = self._ask(self.master_address, "show proc", "HAProxy's master CLI", half_close=True)
        try:
            return parse_show_proc(text)
        except ValueError as exc:  # a connection the reloading master closed unanswered
            raise DrillError(f"HAProxy's master CLI: {exc}") from None

    def _ask(self, address: tuple[str, int], line: str, what: str, half_close: bool) -> str:
        """One command on a new connection. The worker's CLI closes after its answer; the
        master's answers and closes only once the sender has half-closed."""
        try:
            with socket.create_connection(address, timeout=self.timeout) as conn:
                conn.sendall(line.encode() + b"\n")
                if half_close:
                    conn.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise DrillError(f"{what} at {address[0]}:{address[1]} did not answer: {exc}") from None
        return b"".join(chunks).decode(errors="replace")

    def _parsed(self, line: str, parse: Callable[[str], T]) -> tuple[str, T]:
        """A command's answer, parsed. A loaded HAProxy now and then answers a `show` with nothing
        (seen with 8 stacks on 2 cores): that is retried, and only a lasting failure is an error."""
        for attempt in range(SHOW_ATTEMPTS):
            text = self.command(line)
            try:
                return text, parse(text)
            except ValueError as exc:
                if attempt == SHOW_ATTEMPTS - 1:
                    raise DrillError(f"HAProxy runtime API at {self.address[0]}:{self.address[1]}: {exc}") from None
        raise AssertionError("unreachable")

    def servers(self, backend: str = BACKEND) -> list[ServerStat]:
        return [s for s in self._parsed("show stat", parse_stat_csv)[1] if s.backend == backend]

    def state(self, backend: str = BACKEND) -> BalancerState:
        stat, stats = self._parsed("show stat", parse_stat_csv)
        _, servers = self._parsed(f"show servers state {backend}", lambda text: parse_servers_state(text, backend))
        mine = tuple(s for s in stats if s.backend == backend)
        return BalancerState(parse_algo(stat, backend), mine, tuple(servers))

    def worker_pid(self) -> int:
        """The serving worker's pid (`show info`): it changes when a reload has taken over."""
        for line in self.command("show info").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Pid":
                return int(value.strip())
        raise DrillError(f"HAProxy runtime API at {self.address[0]}:{self.address[1]}: `show info` has no Pid")

    def run(self, line: str) -> None:
        """A command that changes state: HAProxy answers nothing (or a blank line) on success."""
        answer = self.command(line).strip()
        if answer and not answer.lower().startswith(("done", "no need to change")):
            raise DrillError(f"HAProxy runtime API refused `{line}`: {answer.splitlines()[0]}")
