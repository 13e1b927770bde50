"""The fault catalogue, as data and pure functions: what each fault changes and how to tell
that it is still in effect. No I/O here; chaos.inject carries plans out against a run.

A balancer fault is, by default, an edit of the balancer's config file plus a graceful
reload, the way real misconfigurations arrive, so the cause is there for responders to
find. Where operators really use HAProxy's runtime API (weights, drain, maxconn) a fault
can take that route instead (`route=runtime`). `in_effect` reads the running balancer's
state, so it agrees with whatever a responder did: config edit and reload, runtime API,
or a restart of the balancer container.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from chaos.hapconfig import Config, Patch, Server, parse, replace_lines, servers, set_server_option
from doors.balancer import BACKEND, BalancerState
from drills.errors import UsageError

HASHING = ("source", "uri", "url_param", "hdr", "rdp-cookie", "hash", "map-based", "consistent")
MAXCONN_FLOOR = 4  # below this a replica cannot hold even a trickle of concurrent viewers
AGENT_PORT = 9100  # the replicas' load-feedback agent (stack/images/app/server.py)


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    help: str


@dataclass(frozen=True)
class Scope:
    """What a fault may touch: the run's own replicas and services, nothing else."""

    run_id: str
    replicas: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Exactly what applying a fault will do: a config patch, runtime commands, container actions."""

    fault: str
    route: str
    params: dict[str, str]
    summary: str
    patch: Patch = field(default_factory=Patch)
    commands: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # container fault steps, in words (chaos.inject runs them)


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # "balancer" or "container"
    cause: str  # the root-cause category a right diagnosis names
    summary: str
    params: tuple[Param, ...]
    routes: tuple[str, ...]
    build: Callable[[Config, dict[str, str], Scope, str], Plan]
    check: Callable[[BalancerState, dict[str, str]], tuple[bool, str]] | None = None
    # When the whole of the fault shows (applying waits for it); `check` alone says "any of it".
    complete: Callable[[BalancerState, dict[str, str]], bool] | None = None

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


NUMERIC = ("weight", "maxconn", "port", "delay_ms", "period", "cpus")
CHOICES = {"mode": ("drain", "maint")}


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


def _names(value: str) -> list[str]:
    return [n for n in value.split(",") if n]


def _backend_servers(config: Config) -> list[Server]:
    section = config.section("backend", BACKEND) or config.section("listen", BACKEND)
    if section is None:
        raise UsageError(f"the balancer config has no backend {BACKEND!r} to fault")
    return servers(config, section)


def _set_on_servers(config: Config, names: list[str], option: str, value: str | None) -> Patch:
    by_name = {s.name: s for s in _backend_servers(config)}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise UsageError(f"the balancer config has no server line for {', '.join(missing)}")
    return replace_lines(
        config.text, {by_name[n].line.number: set_server_option(by_name[n].line.text, option, value) for n in names}
    )


def _spread(state: BalancerState) -> str:
    return " ".join(f"{s.name}={s.weight}" for s in state.servers)


# Balancer faults --------------------------------------------------------------


def _weights_skew(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    summary = f"{p['server']} gets weight {p['weight']}, the other replicas keep 1: it takes nearly all traffic"
    if route == "runtime":
        return Plan(
            "lb.weights-skew", route, p, summary, commands=(f"set weight {BACKEND}/{p['server']} {p['weight']}",)
        )
    return Plan("lb.weights-skew", route, p, summary, _set_on_servers(config, [p["server"]], "weight", p["weight"]))


def _weights_unequal(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    weights = {s.weight for s in state.servers if not s.maintenance}
    return len(weights) > 1, f"weights {_spread(state)}"


def _source_hash(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    section = config.section("backend", BACKEND)
    assert section is not None
    line = section.first("balance")
    summary = "backend app balances by client source address; every viewer arrives from one address"
    if line is None:
        raise UsageError("the balancer config's backend app has no `balance` line to change")
    indent = line.text[: len(line.text) - len(line.text.lstrip())]
    return Plan(
        "lb.source-hash", route, p, summary, replace_lines(config.text, {line.number: f"{indent}balance source"})
    )


def _hashing(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    return state.algo.startswith(HASHING), f"balance algorithm {state.algo or 'unknown'}"


def _health_check_broken(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    names = _names(p["servers"])
    summary = f"health checks of {', '.join(names)} go to port {p['port']}, where nothing listens: marked DOWN"
    return Plan("lb.health-check-broken", route, p, summary, _set_on_servers(config, names, "port", p["port"]))


def _checks_failing(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    down = [s.name for s in state.servers if s.checked and s.operational == 0 and not s.maintenance]
    return bool(down), ("marked DOWN by health checks: " + ", ".join(down)) if down else "every checked replica UP"


def _all_targets_down(state: BalancerState, p: dict[str, str]) -> bool:
    down = {s.name for s in state.servers if s.operational == 0}
    return set(_names(p["servers"])) <= down


def _maxconn_squeeze(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    names = _names(p["servers"])
    summary = f"{', '.join(names)} limited to {p['maxconn']} connection(s) each: requests queue, then fail"
    if route == "runtime":
        commands = tuple(f"set maxconn server {BACKEND}/{n} {p['maxconn']}" for n in names)
        return Plan("lb.maxconn-squeeze", route, p, summary, commands=commands)
    return Plan("lb.maxconn-squeeze", route, p, summary, _set_on_servers(config, names, "maxconn", p["maxconn"]))


def _squeezed(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    floor = max(MAXCONN_FLOOR, int(float(p.get("maxconn", "1"))) + 1)
    tight = [f"{s.name}={s.limit}" for s in state.stats if 0 < s.limit < floor]
    return bool(tight), ("server maxconn " + " ".join(tight)) if tight else "no server maxconn below the floor"


def _drained(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    names = _names(p["servers"])
    mode = p["mode"]
    if mode not in ("drain", "maint"):
        raise UsageError(f"--param mode={mode}: expected drain or maint")
    summary = f"{', '.join(names)} put in {mode}: no new traffic reaches them"
    if route == "runtime":
        return Plan(
            "lb.drained", route, p, summary, commands=tuple(f"set server {BACKEND}/{n} state {mode}" for n in names)
        )
    option, value = ("weight", "0") if mode == "drain" else ("disabled", "")
    return Plan("lb.drained", route, p, summary, _set_on_servers(config, names, option, value))


def _out_of_rotation(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    out = [s.name for s in state.servers if s.maintenance or s.draining]
    return bool(out), ("in drain or maintenance: " + ", ".join(out)) if out else "every replica in rotation"


def _tango(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    section = config.section("backend", BACKEND)
    assert section is not None
    line = section.first("default-server")
    if line is None:
        raise UsageError("the balancer config's backend app has no default-server line to change")
    agent = {
        "weight": p["weight"],
        "agent-check": "",
        "agent-port": str(AGENT_PORT),
        "agent-inter": "1s",
        "agent-send": f"tango period={p['period']} replicas={len(scope.replicas)}",
    }
    text = line.text
    for option, value in agent.items():
        text = set_server_option(text, option, value)
    summary = (
        f"every replica's weight follows a feedback agent in 'tango' mode: the lead moves to the next "
        f"replica every {p['period']}s (weight {p['weight']} vs 5%)"
    )
    return Plan("lb.tango", route, p, summary, replace_lines(config.text, {line.number: text}))


def _dancing(state: BalancerState, p: dict[str, str]) -> tuple[bool, str]:
    agents = [s.name for s in state.servers if s.agent]
    unequal, weights = _weights_unequal(state, p)
    if agents:
        return True, f"agent checks set weights on {', '.join(agents)} ({weights})"
    return unequal, weights


# Container faults ---------------------------------------------------------------


def _container(action: str) -> Callable[[Config, dict[str, str], Scope, str], Plan]:
    def build(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
        target = p["target"]
        words = {
            "latency": f"add {p.get('delay_ms')} ms of delay to every packet {target} sends (tc netem)"
            if route == "netem"
            else f"starve {target} to {p.get('cpus')} of a CPU (docker update --cpus): it answers slowly",
            "pause": f"freeze every process of {target} (docker pause)",
            "kill": f"kill {target} with SIGKILL (docker kill)",
        }[action]
        return Plan(f"container.{action}", route, p, words, actions=(words,))

    return build


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
        _weights_skew,
        _weights_unequal,
    ),
    Fault(
        "lb.source-hash",
        "balancer",
        "balancer",
        "balance by source address; viewers share one address",
        (),
        ("config",),
        _source_hash,
        _hashing,
    ),
    Fault(
        "lb.health-check-broken",
        "balancer",
        "balancer",
        "healthy replicas marked DOWN (wrong check port)",
        (TARGET_REPLICAS, _p("port", "8081", "the wrong check port")),
        ("config",),
        _health_check_broken,
        _checks_failing,
        _all_targets_down,
    ),
    Fault(
        "lb.maxconn-squeeze",
        "balancer",
        "balancer",
        "maxconn so low that ordinary load queues and fails",
        (_p("servers", "<all>", "replicas to squeeze (comma list)"), _p("maxconn", "1", "connections each")),
        ("config", "runtime"),
        _maxconn_squeeze,
        _squeezed,
    ),
    Fault(
        "lb.drained",
        "balancer",
        "balancer",
        "replicas left in drain or maintenance",
        (TARGET_REPLICAS, _p("mode", "drain", "drain or maint")),
        ("config", "runtime"),
        _drained,
        _out_of_rotation,
    ),
    Fault(
        "lb.tango",
        "balancer",
        "balancer",
        "weights swing from replica to replica every few seconds",
        (_p("period", "4", "seconds each replica leads"), _p("weight", "100", "configured weight")),
        ("config",),
        _tango,
        _dancing,
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
        _container("latency"),
    ),
    Fault(
        "container.pause",
        "container",
        "container",
        "one container frozen (docker pause)",
        (_p("target", "db", "a service of this run"),),
        ("docker",),
        _container("pause"),
    ),
    Fault(
        "container.kill",
        "container",
        "container",
        "one container killed (docker kill)",
        (_p("target", "app1", "a service of this run"),),
        ("docker",),
        _container("kill"),
    ),
)
CATALOGUE: dict[str, Fault] = {f.name: f for f in _FAULTS}


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
