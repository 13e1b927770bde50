"""The fault catalogue, as data: every fault's name, cause, parameters and routes, with its
builder and check (chaos.builders). Resolving a fault's parameters against a stack refuses
anything outside it (blast radius). No I/O here; chaos.inject carries plans out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chaos import nginx_catalogue
from chaos.builders import (
    all_targets_down,
    checks_failing,
    container,
    dancing,
    drained,
    hashing,
    health_check_broken,
    maxconn_squeeze,
    out_of_rotation,
    source_hash,
    squeezed,
    tango,
    weights_skew,
    weights_unequal,
)
from chaos.hapconfig import Config, parse
from chaos.outages import (
    all_pushed_out,
    check_flap,
    check_heavy_page,
    checks_timing_out,
    every_server_down,
    flapping,
    has_flapped,
    partial_push,
    pushed,
    slots_exhausted,
    stale_slots,
)
from chaos.plan import Param, Plan, Scope
from doors.balancer import BalancerState
from drills.errors import UsageError


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # "balancer" or "container"
    cause: str  # the root-cause category a right diagnosis names
    summary: str
    params: tuple[Param, ...]
    routes: tuple[str, ...]
    build: Callable[[Config, dict[str, str], Scope, str], Plan]
    check: Callable[[BalancerState, Mapping[str, str]], tuple[bool, str]] | None = None
    # When the whole of the fault shows (applying waits for it); `check` alone says "any of it".
    complete: Callable[[BalancerState, Mapping[str, str]], bool] | None = None
    balancer: str = "haproxy"  # the balancer a balancer fault is for: haproxy or nginx

    def as_dict(self) -> dict[str, object]:
        params = [{"name": p.name, "default": p.default, "help": p.help} for p in self.params]
        return {
            "name": self.name,
            "kind": self.kind,
            "cause": self.cause,
            "summary": self.summary,
            "routes": list(self.routes),
            "params": params,
            "balancer": self.balancer if self.kind == "balancer" else "any",
        }

    def problems(self, given: Mapping[str, str], scope: Scope) -> list[tuple[str, str]]:
        """What is wrong with `given` for this fault on this stack: (param, what would be right)."""
        known = {p.name for p in self.params} | {"route"}
        found = [(key, f"{self.name} takes {', '.join(sorted(known))}") for key in sorted(set(given) - known)]
        route = given.get("route", self.routes[0])
        if route not in self.routes:
            found.append(("route", f"{self.name} can go by {' or '.join(self.routes)}, not {route!r}"))
        params = self._filled(given, scope)
        return found + _scope_problems(params, scope) + _value_problems(self, params)

    def _filled(self, given: Mapping[str, str], scope: Scope) -> dict[str, str]:
        params = {p.name: given.get(p.name, p.default) for p in self.params}
        return {k: (_default_target(v, scope) if v.startswith("<") else v) for k, v in params.items()}

    def resolve(self, given: Mapping[str, str], scope: Scope) -> tuple[str, dict[str, str]]:
        """(route, params) with defaults filled in; unknown names and outside targets refused."""
        problems = self.problems(given, scope)
        if problems:
            key, why = problems[0]
            known = {p.name for p in self.params} | {"route"}
            shown = f"{key}={given[key]}" if key in given and key in known else key
            raise UsageError(f"--param {shown}: {why}")
        return given.get("route", self.routes[0]), self._filled(given, scope)

    def plan(self, config_text: str, given: dict[str, str], scope: Scope) -> Plan:
        route, params = self.resolve(given, scope)
        return self.build(parse(config_text), params, scope, route)


def _default_target(value: str, scope: Scope) -> str:
    if value == "<all-but-first>":
        return ",".join(scope.replicas[1:] or scope.replicas)
    if value == "<all>":
        return ",".join(scope.replicas)
    return value


def _scope_problems(params: dict[str, str], scope: Scope) -> list[tuple[str, str]]:
    """Blast radius: a fault names only this run's replicas (balancer) or services (container)."""
    found = []
    for key in ("server", "servers", "target"):
        allowed = scope.services if key == "target" else scope.replicas
        outside = [name for name in params.get(key, "").split(",") if key in params and name not in allowed]
        if outside:
            where = f"run {scope.run_id}" if scope.run_id else "the drill's stack"
            why = f"{outside[0]!r} is not part of {where} (a fault may only touch {', '.join(allowed)})"
            found.append((key, why))
    return found


NUMERIC: tuple[str, ...] = ("weight", "maxconn", "port", "delay_ms", "period", "cpus", "inter_ms", "slots")
NUMERIC += ("fail_timeout", "read_timeout_ms")  # nginx.max-fails
CHOICES = {"mode": ("drain", "maint"), "by": ("ip_hash", "remote_addr")}


def _value_problems(fault: Fault, params: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for key, value in params.items():
        if key in NUMERIC and not value.replace(".", "", 1).isdigit():
            found.append((key, f"expected a non-negative number, got {value!r}"))
        elif key in CHOICES and value not in CHOICES[key]:
            found.append((key, f"expected one of {', '.join(CHOICES[key])}, got {value!r}"))
    return found


class Checker:
    """The catalogue as drills.loader asks it (drills.definition.FaultCatalogue): a drill file's
    variants are checked against the drill's own stack when the file is loaded."""

    def param_names(self, fault: str) -> tuple[str, ...] | None:
        known = CATALOGUE.get(fault)
        return ("route", *(p.name for p in known.params)) if known else None

    def problems(self, fault: str, params: Mapping[str, str], replicas: tuple[str, ...]) -> list[tuple[str, str]]:
        scope = Scope("", replicas, tuple(sorted({"lb", "db", *replicas})))
        return CATALOGUE[fault].problems(params, scope)


def _p(name: str, default: str, help: str) -> Param:
    return Param(name, default, help)


TARGET_REPLICAS = _p("servers", "<all-but-first>", "replicas to act on (comma list)")
_FAULTS = (
    Fault(
        "lb.weights-skew",
        "balancer",
        "balancer",
        "server weights favour one replica heavily",
        (_p("server", "app1", "the favoured replica"), _p("weight", "100", "its weight (others keep 1)")),
        ("config", "runtime"),
        weights_skew,
        weights_unequal,
    ),
    Fault(
        "lb.source-hash",
        "balancer",
        "balancer",
        "balance by source address; viewers share one address",
        (),
        ("config",),
        source_hash,
        hashing,
    ),
    Fault(
        "lb.health-check-broken",
        "balancer",
        "balancer",
        "healthy replicas marked DOWN (wrong check port)",
        (TARGET_REPLICAS, _p("port", "8081", "the wrong check port")),
        ("config",),
        health_check_broken,
        checks_failing,
        all_targets_down,
    ),
    Fault(
        "lb.maxconn-squeeze",
        "balancer",
        "balancer",
        "maxconn so low that ordinary load queues and fails",
        (_p("servers", "<all>", "replicas to squeeze (comma list)"), _p("maxconn", "1", "connections each")),
        ("config", "runtime"),
        maxconn_squeeze,
        squeezed,
    ),
    Fault(
        "lb.drained",
        "balancer",
        "balancer",
        "replicas left in drain or maintenance",
        (TARGET_REPLICAS, _p("mode", "drain", "drain or maint")),
        ("config", "runtime"),
        drained,
        out_of_rotation,
    ),
    Fault(
        "lb.tango",
        "balancer",
        "balancer",
        "weights swing from replica to replica every few seconds",
        (
            _p("period", "4", "seconds each replica leads"),
            _p("weight", "100", "configured weight"),
            _p("calm", "0", "seconds of equal weights after each lead (0: none)"),
        ),
        ("config",),
        tango,
        dancing,
    ),
    # After public postmortems (chaos.outages) --------------------------------------
    Fault(
        "lb.check-heavy-page",
        "balancer",
        "balancer",
        "health checks on a page that does real work, timing out: every replica pulled (Stack Exchange 2016)",
        (_p("path", "/api/catalog", "the page the checks request"), _p("inter_ms", "15", "check interval and timeout")),
        ("config",),
        check_heavy_page,
        checks_timing_out,
        every_server_down,
    ),
    Fault(
        "lb.check-flap",
        "balancer",
        "balancer",
        "health checks time out under load, fall 1 rise 1: replicas flap DOWN and UP (GitHub)",
        (_p("path", "/api/catalog", "the page the checks request"), _p("inter_ms", "25", "check interval and timeout")),
        ("config",),
        check_flap,
        flapping,
        has_flapped,
    ),
    Fault(
        "lb.slots-exhausted",
        "balancer",
        "balancer",
        "server slots held by a stale registration: new replicas never get traffic (Slack 2020)",
        (_p("slots", "1", "server slots left in the backend"),),
        ("config",),
        slots_exhausted,
        stale_slots,
    ),
    Fault(
        "lb.partial-push",
        "balancer",
        "balancer",
        "a config push takes servers out, the rest get unequal weights (Azure Front Door 2025)",
        (
            _p("servers", "app3", "replicas the push takes out (comma list)"),
            _p("server", "app1", "the replica left with a higher weight"),
            _p("weight", "4", "its weight (others keep 1)"),
        ),
        ("config",),
        partial_push,
        pushed,
        all_pushed_out,
    ),
    Fault(
        "container.latency",
        "container",
        "network",
        "one container slowed: tc netem delay or a starved CPU",
        (
            _p("target", "app1", "a service of this run"),
            _p("delay_ms", "300", "added delay (netem)"),
            _p("cpus", "0.02", "CPU share left (cpu)"),
        ),
        ("netem", "cpu"),
        container("latency"),
    ),
    Fault(
        "container.pause",
        "container",
        "container",
        "one container frozen (docker pause)",
        (_p("target", "db", "a service of this run"),),
        ("docker",),
        container("pause"),
    ),
    Fault(
        "container.kill",
        "container",
        "container",
        "one container killed (docker kill)",
        (_p("target", "app1", "a service of this run"),),
        ("docker",),
        container("kill"),
    ),
)
_NGINX = tuple(
    Fault(
        name,
        "balancer",
        "balancer",
        summary,
        params,
        ("config",),
        nginx_catalogue.build(name),
        nginx_catalogue.check(name),
        balancer="nginx",
    )
    for name, summary, params in nginx_catalogue.SPECS
)
CATALOGUE: dict[str, Fault] = {f.name: f for f in (*_FAULTS, *_NGINX)}


def get(name: str) -> Fault:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UsageError(f"FAULT {name!r} is not a fault; `drill chaos list` shows: {', '.join(CATALOGUE)}") from None


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected key=value, e.g. --param server=app2")
        params[key.strip()] = value.strip()
    return params


CHECKER = Checker()
