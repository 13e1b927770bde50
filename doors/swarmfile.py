"""A run's compose document adapted for `docker stack deploy`, and its port relay: pure, no I/O.

Swarm differs from compose where drill cares:
- `docker stack deploy` reads no .env file: the run's variables are substituted here.
- no `build:` (drill builds its images itself) and no `depends_on` (swarm ignores it; the
  balancer resolves its servers at run time and the apps retry the database themselves).
- `deploy:` keys: one task per service, never restarted by swarm (a killed replica stays down
  until the fault is reverted or a responder starts it, as on compose), DNS round robin instead
  of a virtual IP (each service name resolves to its task's own address, so HAProxy health-checks
  and balances over the replica itself), and the drill labels on the service too.
- networks are attachable overlays, so drill's own containers (the relay, the responder's shell,
  tc helpers) can join them.
- ports: swarm publishes through its ingress mesh on every interface, or in host mode on every
  interface too (swarm's port config has no host address). Neither may be used: drill publishes
  on 127.0.0.1 only. So the services publish nothing; a relay (HAProxy in TCP mode, a plain
  container on the local engine, on the stack's network) publishes each declared port on
  127.0.0.1 and forwards to the service by name. Each service's containers are labelled with
  where their ports are reachable (drill.ports), which is what inspecting them reports.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from doors.runtime import SERVICE_LABEL

PORTS_LABEL = "drill.ports"  # "8080/tcp=41234,9999/tcp=41236": where a service's ports are on 127.0.0.1
RELAY_LABEL = "drill.relay"
STACK_VERSION = "3.8"
STOP_GRACE = "2s"
VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


@dataclass(frozen=True)
class Published:
    """One port a service publishes: reachable on 127.0.0.1:host through the relay."""

    service: str
    network: str  # the stack-local network name the relay reaches the service on
    private: int
    host: int


def parse_env(text: str) -> dict[str, str]:
    """A compose .env file: KEY=VALUE lines, # comments."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def substitute(value: Any, env: Mapping[str, str]) -> Any:
    """${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$ in every string of a document."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: _variable(m, env), value)
    if isinstance(value, dict):
        return {substitute(k, env): substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def _variable(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match.group(0) == "$$":
        return "$"
    name = match.group(1) or match.group(3)
    default = match.group(2) or ""
    return env.get(name) or default


def _port(entry: Any, free_port: Callable[[], int]) -> tuple[int, int]:
    """(private, host) of a short-form `[ip:][host:]private[/proto]` or long-form port entry."""
    if isinstance(entry, dict):
        return int(entry["target"]), int(entry.get("published") or free_port())
    parts = str(entry).split("/")[0].split(":")
    private = int(parts[-1])
    host = parts[-2] if len(parts) >= 2 else ""
    return private, int(host) if host else free_port()


def stack_document(compose: dict[str, Any], free_port: Callable[[], int]) -> tuple[dict[str, Any], list[Published]]:
    """The swarm stack file for a rendered, substituted compose document, and what the relay publishes."""
    services: dict[str, Any] = {}
    published: list[Published] = []
    for name, source in (compose.get("services") or {}).items():
        service = copy.deepcopy(source)
        for key in ("build", "depends_on", "ports", "restart", "container_name"):
            service.pop(key, None)
        ports = [_port(entry, free_port) for entry in source.get("ports") or []]
        network = (source.get("networks") or ["default"])[0]
        published += [Published(name, network, private, host) for private, host in ports]
        labels = {**(source.get("labels") or {}), SERVICE_LABEL: name}
        if ports:
            labels[PORTS_LABEL] = ",".join(f"{private}/tcp={host}" for private, host in ports)
        service["labels"] = labels
        service["stop_grace_period"] = STOP_GRACE
        service["deploy"] = {
            "replicas": 1,
            "endpoint_mode": "dnsrr",
            "restart_policy": {"condition": "none"},
            "labels": dict(source.get("labels") or {}),
        }
        services[name] = service
    networks = {
        name: {**(spec or {}), "driver": "overlay", "attachable": True}
        for name, spec in (compose.get("networks") or {}).items()
    }
    return {"version": STACK_VERSION, "services": services, "networks": networks}, published


def published_ports(label: str) -> tuple[tuple[str, int], ...]:
    """A drill.ports label as ContainerInfo.ports: ((private/proto, host port), ...)."""
    pairs = (item.split("=", 1) for item in label.split(",") if "=" in item)
    return tuple((private, int(host)) for private, host in pairs)


RELAY_HEAD = """\
# The run's port relay (swarm runtime): 127.0.0.1 on the host -> each service by name.
global
    maxconn 8192
    nbthread 1

resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s
    hold other 1s
    hold refused 1s
    hold nx 1s
    hold timeout 1s

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
"""


def relay_config(published: list[Published]) -> str:
    """HAProxy in TCP mode: one listener per published port, on the same port number as on the
    host; the service's name is resolved every second (a restarted task has a new address)."""
    blocks = [
        f"\nlisten {p.service}-{p.private}\n    bind :{p.host}\n"
        f"    server {p.service} {p.service}:{p.private} resolvers docker init-addr last,libc,none\n"
        for p in published
    ]
    return RELAY_HEAD + "".join(blocks)
