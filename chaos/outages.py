"""Faults after public postmortems: each builds a config patch from the balancer's config and
reads from the running balancer whether it is (still) in effect. Pure.

- lb.check-heavy-page (Stack Exchange, 20 July 2016): the health check requests a page that
  does real work, with a check timeout shorter than that page takes: every server is pulled.
- lb.check-flap (GitHub, 2009 and 2011 load-balancer outages): checks on a working page with a
  tight timeout and `fall 1 rise 1`: under load, checks time out and servers go DOWN and UP.
- lb.slots-exhausted (Slack, 12 May 2020): the backend's slots are taken by a stale
  registration (the old host's address): the new replicas never get traffic, the old one
  keeps all of it.
- lb.partial-push (Azure Front Door, 29 October 2025): a config push takes some servers out
  and leaves the rest with unequal weights: the survivors take an unequal share.
"""

from __future__ import annotations

from collections.abc import Mapping

from chaos.hapconfig import Config, Hunk, Patch, Section, line_ending, set_server_option
from chaos.plan import Plan, Scope
from doors.balancer import BACKEND, BalancerState
from drills.errors import UsageError

TIMED_OUT = ("L7TOUT", "L4TOUT", "L6TOUT", "L7STS")  # L7STS: the busy page answered 503


def _patch(text: str, changes: dict[int, str | None]) -> Patch:
    """Replace 1-based lines with new text (which may hold several lines), or delete them (None)."""
    raw = text.splitlines(keepends=True)
    hunks = []
    for number, new in sorted(changes.items()):
        old = raw[number - 1]
        lines = () if new is None else tuple(part + line_ending(old) for part in new.split("\n"))
        if lines != (old,):
            hunks.append(Hunk(number - 1, (old,), lines))
    return Patch(tuple(hunks))


def _backend(config: Config) -> Section:
    section = config.section("backend", BACKEND) or config.section("listen", BACKEND)
    if section is None:
        raise UsageError(f"the balancer config has no backend {BACKEND!r} to fault")
    return section


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def _check_patch(config: Config, path: str, inter_ms: str, flap: bool) -> dict[int, str | None]:
    """The checks request `path`, every `inter_ms`; with no `timeout check`, HAProxy gives a
    check `inter` to complete, so a page slower than that fails every check."""
    section = _backend(config)
    option = next((line for line in section.directives("option") if "httpchk" in line.words), None)
    default = section.first("default-server")
    if option is None or default is None:
        raise UsageError("the balancer config's backend app has no `option httpchk` and default-server lines to change")
    text = set_server_option(default.text, "inter", f"{inter_ms}ms")
    if flap:
        text = set_server_option(set_server_option(text, "fall", "1"), "rise", "1")
    return {option.number: f"{_indent(option.text)}option httpchk GET {path}", default.number: text}


def check_heavy_page(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    summary = (
        f"health checks request {p['path']}, a page that does real work, and give up after {p['inter_ms']} ms "
        "(inter, no `timeout check`): every replica fails its check and is pulled"
    )
    changes = _check_patch(config, p["path"], p["inter_ms"], flap=False)
    return Plan("lb.check-heavy-page", route, p, summary, _patch(config.text, changes))


def check_flap(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    summary = (
        f"health checks request {p['path']} every {p['inter_ms']} ms with as long to answer, fall 1 rise 1: "
        "under load checks time out and replicas go DOWN and UP"
    )
    changes = _check_patch(config, p["path"], p["inter_ms"], flap=True)
    return Plan("lb.check-flap", route, p, summary, _patch(config.text, changes))


def checks_timing_out(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    """Checks time out or servers are DOWN by their checks, as the running balancer reports."""
    bad = [
        f"{s.name} {s.status} ({s.check_status})"
        for s in state.stats
        if s.check_status.upper() in TIMED_OUT or s.status.upper().startswith("DOWN")
    ]
    return bool(bad), ("checks failing: " + ", ".join(bad)) if bad else "every check passes"


FLAP_WINDOW_S = 30  # a server that went DOWN and changed state this recently is still flapping


def flapping(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    """Checks failing now, or a server that went DOWN and changed state in the last FLAP_WINDOW_S:
    between two flaps every check may pass, and that is not a fix."""
    failing, seen = checks_timing_out(state, p)
    recent = [
        f"{s.name} changed {s.since_change_s}s ago after {s.down_transitions} DOWN(s)"
        for s in state.stats
        if s.down_transitions > 0 and 0 <= s.since_change_s < FLAP_WINDOW_S
    ]
    if recent:
        return True, ("flapping: " + ", ".join(recent)) + ("; " + seen if failing else "")
    return failing, seen


def has_flapped(state: BalancerState, p: Mapping[str, str]) -> bool:
    """The faulted checks have taken a server DOWN at least once since the faulted config loaded."""
    return any(s.down_transitions > 0 for s in state.stats)


def every_server_down(state: BalancerState, p: Mapping[str, str]) -> bool:
    return bool(state.stats) and all(s.status.upper().startswith("DOWN") for s in state.stats)


def slots_exhausted(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    slots = int(float(p["slots"]))
    if not 1 <= slots < len(scope.replicas):
        raise UsageError(f"--param slots={p['slots']}: expected 1 to {len(scope.replicas) - 1} (fewer than replicas)")
    section = _backend(config)
    lines = {s.words[1]: s for s in section.directives("server") if len(s.words) > 2}
    left_out = list(scope.replicas[slots:])
    missing = [n for n in [scope.replicas[0], *left_out] if n not in lines]
    if missing:
        raise UsageError(f"the balancer config has no server line for {', '.join(missing)}")
    stale = lines[scope.replicas[0]].words[2]
    changes: dict[int, str | None] = {}
    for name in left_out:
        line = lines[name]
        changes[line.number] = line.text.replace(f" {line.words[2]}", f" {stale}", 1)
    summary = (
        f"backend app has {slots} server slot(s) for {len(scope.replicas)} replicas: the slots of "
        f"{', '.join(left_out)} still hold a stale registration ({stale}), so they never get traffic "
        "and the old host keeps all of it"
    )
    params = {**p, "servers": ",".join(left_out)}
    return Plan("lb.slots-exhausted", route, params, summary, _patch(config.text, changes))


def _duplicates(state: BalancerState) -> list[str]:
    """Server slots that name the same host as another (HAProxy gives the later ones no address
    at all: "No IP for server", in maintenance) or resolved to the same address."""
    seen: dict[str, str] = {}
    found = []
    for server in state.servers:
        for key in {server.fqdn, server.address} - {"", "-", "0.0.0.0"}:
            if key in seen and seen[key] != server.name:
                found.append(f"{server.name} -> {key} (as {seen[key]})")
                break
            seen.setdefault(key, server.name)
    return found


def stale_slots(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    """Slots that hold another server's address, or replicas with no server at all."""
    known = {s.name for s in state.servers}
    missing = [n for n in p.get("servers", "").split(",") if n and n not in known]
    found = _duplicates(state) + [f"no slot for {n}" for n in missing]
    return bool(found), ("stale slots: " + ", ".join(found)) if found else "every replica has its own slot"


def partial_push(config: Config, p: dict[str, str], scope: Scope, route: str) -> Plan:
    out = [n for n in p["servers"].split(",") if n]
    if p["server"] in out:
        raise UsageError(f"--param server={p['server']}: it is also taken out (servers={p['servers']})")
    section = _backend(config)
    lines = {s.words[1]: s for s in section.directives("server") if len(s.words) > 1}
    missing = [n for n in [*out, p["server"]] if n not in lines]
    if missing:
        raise UsageError(f"the balancer config has no server line for {', '.join(missing)}")
    changes: dict[int, str | None] = {lines[n].number: set_server_option(lines[n].text, "disabled", "") for n in out}
    changes[lines[p["server"]].number] = set_server_option(lines[p["server"]].text, "weight", p["weight"])
    summary = (
        f"a config push takes {', '.join(out)} out and leaves {p['server']} at weight {p['weight']}: "
        "the remaining replicas take an unequal share"
    )
    return Plan("lb.partial-push", route, p, summary, _patch(config.text, changes))


def pushed(state: BalancerState, p: Mapping[str, str]) -> tuple[bool, str]:
    out = [s.name for s in state.servers if s.maintenance or s.draining]
    weights = {s.weight for s in state.servers if not s.maintenance}
    spread = " ".join(f"{s.name}={s.weight}" for s in state.servers)
    if out or len(weights) > 1:
        return True, f"out of rotation: {', '.join(out) or 'none'}; weights {spread}"
    return False, f"every replica in rotation; weights {spread}"


def all_pushed_out(state: BalancerState, p: Mapping[str, str]) -> bool:
    out = {s.name for s in state.servers if s.maintenance}
    return set(n for n in p["servers"].split(",") if n) <= out
