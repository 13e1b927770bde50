"""The nginx faults as the catalogue (chaos.faults) lists them: builders over the config text and
checks over the running config (doors.nginx reads it into BalancerState.config). Pure.

What each does to the audience, all arriving from one address (the generator on the host: nginx
sees the stack network's gateway as every viewer's address):
- nginx.weights-skew: app1 gets weight=100, the others 1: app1 takes 98% and queues, the rest idle.
- nginx.ip-hash: `ip_hash` keys on the client's /24, `hash $remote_addr` on its address: one
  address, one replica, the whole load on it.
- nginx.down / nginx.backup: all but app1 marked `down` / made `backup`: app1 alone serves.
- nginx.max-fails: `max_fails=1 fail_timeout=30s` and a 250 ms `proxy_read_timeout`: one slow
  answer takes a healthy replica out for 30 s, its load tips the others into slow answers, and
  they go too ("no live upstreams": 502).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chaos import nginx_faults
from chaos.hapconfig import Config
from chaos.plan import Param, Plan, Scope
from doors.balancer import BalancerState

Build = Callable[[Config, dict[str, str], Scope, str], Plan]
Check = Callable[[BalancerState, Mapping[str, str]], tuple[bool, str]]
SERVERS = Param("servers", "<all-but-first>", "replicas to act on (comma list)")


def build(name: str) -> Build:
    def planned(config: Config, params: dict[str, str], scope: Scope, route: str) -> Plan:
        return nginx_faults.BUILDERS[name](config.text, params, scope)

    return planned


def check(name: str) -> Check:
    def seen(state: BalancerState, params: Mapping[str, str]) -> tuple[bool, str]:
        if not state.config:  # edited and not reloaded, or a reload nginx refused: the fault still runs
            return True, f"the running nginx's config is not the file's: {state.algo}"
        return nginx_faults.in_effect(name, state.config)

    return seen


# (name, summary, params)
SPECS: tuple[tuple[str, str, tuple[Param, ...]], ...] = (
    (
        "nginx.weights-skew",
        "one upstream server's weight= far above the others'",
        (Param("servers", "app1", "the favoured replica"), Param("weight", "100", "its weight (others keep 1)")),
    ),
    (
        "nginx.ip-hash",
        "upstream balances by client address; every viewer arrives through one address",
        (Param("by", "ip_hash", "ip_hash or remote_addr (hash $remote_addr)"),),
    ),
    ("nginx.down", "upstream servers marked down", (SERVERS,)),
    ("nginx.backup", "upstream servers made backups: one replica does the work", (SERVERS,)),
    (
        "nginx.max-fails",
        "max_fails=1 with a long fail_timeout and a short read timeout: healthy servers taken out",
        (
            Param("fail_timeout", "30", "seconds a server stays out after one failure"),
            Param("read_timeout_ms", "250", "proxy_read_timeout"),
        ),
    ),
)
