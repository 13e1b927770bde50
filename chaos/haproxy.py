"""The balancer: its config (rendered per run) and its runtime API (the one door to it).

The runtime API is HAProxy's stats socket, published on 127.0.0.1 at admin level; one
TCP connection per command, as `socat` would do. Parsing is pure and unit-tested.
"""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import dataclass

from drills.errors import DrillError

BACKEND = "app"


def render_config(template: str, replicas: int, backend_port: int = 8080) -> str:
    """The balancer config for `replicas` app servers named app1..appN."""
    if replicas < 1:
        raise ValueError("a stack needs at least one replica")
    servers = "\n".join(f"    server app{i} app{i}:{backend_port}" for i in range(1, replicas + 1))
    return template.replace("{servers}", servers)


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
            )
        )
    return servers


class RuntimeApi:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.address = (host, port)
        self.timeout = timeout

    def command(self, line: str) -> str:
        try:
            with socket.create_connection(self.address, timeout=self.timeout) as conn:
                conn.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise DrillError(
                f"HAProxy runtime API at {self.address[0]}:{self.address[1]} did not answer: {exc}"
            ) from None
        return b"".join(chunks).decode(errors="replace")

    def servers(self, backend: str = BACKEND) -> list[ServerStat]:
        return [s for s in parse_stat_csv(self.command("show stat")) if s.backend == backend]
