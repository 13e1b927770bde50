"""The catalogue's builders and checks: for each fault, the plan from the balancer's config, and
how to tell from the running balancer's state that it is (still) in effect. Pure.

A balancer fault is, by default, an edit of the balancer's config file plus a graceful
reload, the way real misconfigurations arrive, so the cause is there for responders to
find. Where operators really use HAProxy's runtime API (weights, drain, maxconn) a fault
can take that route instead. The checks read the running balancer, so they agree with
whatever a responder did: config edit and reload, runtime API, or a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chaos.hapconfig import Config, Patch, Server, replace_lines, servers, set_server_option
from chaos.plan import Plan, Scope
from doors.balancer import BACKEND, BalancerState
from drills.errors import UsageError

HASHING = ("source", "uri", "url_param", "hdr", "rdp-cookie", "hash", "map-based", "consistent")
MAXCONN_FLOOR = 4  # below this a replica cannot hold even a trickle of concurrent viewers
AGENT_PORT = 9100  # the replicas' load-feedback agent (stack/images/app/server.py)


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


def weights_skew(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    summary = f"{p['server']} gets weight {p['weight']}, the other replicas keep 1: it takes nearly all traffic"
    if route == "runtime":
        return Plan(
            "lb.weights-skew", route, p, summary, commands=(f"set weight {BACKEND}/{p['server']} {p['weight']}",)
        )
    return Plan("lb.weights-skew", route, p, summary, _set_on_servers(config, [p["server"]], "weight", p["weight"]))


def weights_unequal(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    weights = {s.weight for s in state.servers if not s.maintenance}
    return len(weights) > 1, f"weights {_spread(state)}"


def source_hash(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
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


def hashing(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    return state.algo.startswith(HASHING), f"balance algorithm {state.algo or 'unknown'}"


def health_check_broken(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    names = _names(p["servers"])
    summary = f"health checks of {', '.join(names)} go to port {p['port']}, where nothing listens: marked DOWN"
    return Plan("lb.health-check-broken", route, p, summary, _set_on_servers(config, names, "port", p["port"]))


def checks_failing(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    down = [s.name for s in state.servers if s.checked and s.operational == 0 and not s.maintenance]
    return bool(down), ("marked DOWN by health checks: " + ", ".join(down)) if down else "every checked replica UP"


def all_targets_down(state: BalancerState, p: Mapping[str, str]) -> bool:
    down = {s.name for s in state.servers if s.operational == 0}
    return set(_names(p["servers"])) <= down


def maxconn_squeeze(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    names = _names(p["servers"])
    summary = f"{', '.join(names)} limited to {p['maxconn']} connection(s) each: requests queue, then fail"
    if route == "runtime":
        commands = tuple(f"set maxconn server {BACKEND}/{n} {p['maxconn']}" for n in names)
        return Plan("lb.maxconn-squeeze", route, p, summary, commands=commands)
    return Plan("lb.maxconn-squeeze", route, p, summary, _set_on_servers(config, names, "maxconn", p["maxconn"]))


def squeezed(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    floor = max(MAXCONN_FLOOR, int(float(p.get("maxconn", "1"))) + 1)
    tight = [f"{s.name}={s.limit}" for s in state.stats if 0 < s.limit < floor]
    return bool(tight), ("server maxconn " + " ".join(tight)) if tight else "no server maxconn below the floor"


def drained(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
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


def out_of_rotation(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    out = [s.name for s in state.servers if s.maintenance or s.draining]
    return bool(out), ("in drain or maintenance: " + ", ".join(out)) if out else "every replica in rotation"


def tango(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
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
        "agent-send": f"tango period={p['period']} replicas={len(scope.replicas)}"
        + (f" calm={p['calm']}" if p.get("calm", "0") not in ("", "0") else ""),
    }
    text = line.text
    for option, value in agent.items():
        text = set_server_option(text, option, value)
    summary = (
        f"every replica's weight follows a feedback agent in 'tango' mode: the lead moves to the next "
        f"replica every {p['period']}s (weight {p['weight']} vs 5%)"
        + (f", {p['calm']}s of equal weights between leads" if p.get("calm", "0") not in ("", "0") else "")
    )
    return Plan("lb.tango", route, p, summary, replace_lines(config.text, {line.number: text}))


def dancing(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    agents = [s.name for s in state.servers if s.agent]
    unequal, weights = weights_unequal(state, p)
    if agents:
        return True, f"agent checks set weights on {', '.join(agents)} ({weights})"
    return unequal, weights


# Container faults ---------------------------------------------------------------


def container(action: str) -> Callable[[Config, dict[str, str], Scope, str], Plan]:
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
