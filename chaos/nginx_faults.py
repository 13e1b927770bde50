"""nginx balancer faults, as config patches over upstream `app`: plan, exact revert (the
patch's inverse), and `in_effect` read from the running balancer's config (`nginx -T`
output: open-source nginx has no runtime API). Pure.

Each is what `drill audit` flags in an nginx config (chaos.audit_nginx): a skewed `weight=`,
`ip_hash` while the audience arrives through one address, servers marked `down`, and
`backup` servers that leave one replica doing the work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chaos.audit_nginx import audit_nginx
from chaos.findings import Finding
from chaos.hapconfig import Hunk, Patch, line_ending
from chaos.plan import Plan, Scope
from drills.errors import UsageError

UPSTREAM = "app"
RULES = {
    "nginx.weights-skew": {"weights-skew"},
    "nginx.ip-hash": {"hash-balance"},
    "nginx.down": {"out-of-rotation"},
    "nginx.backup": {"backup-server"},
    "nginx.max-fails": {"passive-check-harsh"},
}


@dataclass(frozen=True)
class Upstream:
    open_line: int  # 1-based line of `upstream app {`
    servers: dict[str, int]  # replica name -> 1-based line of its `server` directive


def upstream(text: str) -> Upstream:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(rf"\s*upstream\s+{UPSTREAM}\s*\{{", line)), None)
    if start is None:
        raise UsageError(f"the nginx config has no `upstream {UPSTREAM} {{` block to fault")
    servers = {}
    for i in range(start + 1, len(lines)):
        if lines[i].strip().startswith("}"):
            break
        match = re.match(r"\s*server\s+([\w.-]+?)(?::\d+)?[\s;]", lines[i])
        if match:
            servers[match.group(1)] = i + 1
    return Upstream(start + 1, servers)


def _with_param(line: str, param: str) -> str:
    """A `server ...;` line with `param` (weight=100, down, backup) added before the `;`."""
    head, sep, tail = line.partition(";")
    return f"{head} {param}{sep}{tail}"


def _patch(text: str, changes: dict[int, str]) -> Patch:
    raw = text.splitlines(keepends=True)
    hunks = []
    for number, new in sorted(changes.items()):
        old = raw[number - 1]
        hunks.append(Hunk(number - 1, (old,), tuple(part + line_ending(old) for part in new.split("\n"))))
    return Patch(tuple(hunks))


def _server_lines(text: str, names: list[str]) -> dict[str, int]:
    found = upstream(text).servers
    missing = [n for n in names if n not in found]
    if missing:
        raise UsageError(f"upstream {UPSTREAM} has no server line for {', '.join(missing)}")
    return {n: found[n] for n in names}


def _on_servers(name: str, param: str, summary: str) -> Callable[[str, dict[str, str], Scope], Plan]:
    def build(text: str, p: dict[str, str], scope: Scope) -> Plan:
        names = [n for n in p["servers"].split(",") if n]
        lines = text.splitlines()
        changes = {i: _with_param(lines[i - 1], param.format(**p)) for i in _server_lines(text, names).values()}
        words = {**p, "servers": ", ".join(names)}
        return Plan(name, "config", p, summary.format(**words), _patch(text, changes))

    return build


HASHING = {"ip_hash": "ip_hash", "remote_addr": "hash $remote_addr"}


def ip_hash(text: str, p: dict[str, str], scope: Scope) -> Plan:
    """`ip_hash` (keys on the client's /24) or `hash $remote_addr` (its whole address) in upstream app."""
    found = upstream(text)
    opening = text.splitlines()[found.open_line - 1]
    indent = re.match(r"\s*", opening)
    inner = (indent.group(0) if indent else "") + "    "
    directive = HASHING.get(p.get("by", "ip_hash"))
    if directive is None:
        raise UsageError(f"--param by={p['by']}: expected one of {', '.join(HASHING)}")
    summary = f"upstream app balances by `{directive}`: every viewer arrives from one address, so one replica takes all"
    patch = _patch(text, {found.open_line: f"{opening}\n{inner}{directive};"})
    return Plan("nginx.ip-hash", "config", p, summary, patch)


def max_fails(text: str, p: dict[str, str], scope: Scope) -> Plan:
    """Every server: max_fails=1 fail_timeout=<long>; the proxy's read timeout: short."""
    lines = text.splitlines()
    changes = {}
    for number in upstream(text).servers.values():
        line = re.sub(r"\s+(max_fails|fail_timeout)=\S+?(?=[\s;])", "", lines[number - 1])
        changes[number] = _with_param(line, f"max_fails=1 fail_timeout={p['fail_timeout']}s")
    timeout = next((i for i, line in enumerate(lines, 1) if re.match(r"\s*proxy_read_timeout\s", line)), None)
    if timeout is None:
        raise UsageError("the nginx config has no `proxy_read_timeout` line to shorten")
    changes[timeout] = re.sub(
        r"proxy_read_timeout\s+[^;]+", f"proxy_read_timeout {p['read_timeout_ms']}ms", lines[timeout - 1]
    )
    summary = (
        f"max_fails=1 fail_timeout={p['fail_timeout']}s on every server and proxy_read_timeout "
        f"{p['read_timeout_ms']}ms: one slow answer takes a healthy replica out"
    )
    return Plan("nginx.max-fails", "config", p, summary, _patch(text, changes))


BUILDERS: dict[str, Callable[[str, dict[str, str], Scope], Plan]] = {
    "nginx.weights-skew": _on_servers(
        "nginx.weights-skew", "weight={weight}", "{servers} get weight={weight}, the others keep 1: it takes nearly all"
    ),
    "nginx.ip-hash": ip_hash,
    "nginx.down": _on_servers("nginx.down", "down", "{servers} marked down: no traffic reaches them"),
    "nginx.backup": _on_servers(
        "nginx.backup", "backup", "{servers} made backups: idle while the first replica does all the work"
    ),
    "nginx.max-fails": max_fails,
}
DEFAULTS = {
    "nginx.weights-skew": {"servers": "app1", "weight": "100"},
    "nginx.ip-hash": {"by": "ip_hash"},
    "nginx.down": {"servers": "<all-but-first>"},
    "nginx.backup": {"servers": "<all-but-first>"},
    "nginx.max-fails": {"fail_timeout": "30", "read_timeout_ms": "250"},
}


def plan(name: str, text: str, given: dict[str, str], scope: Scope) -> Plan:
    if name not in BUILDERS:
        raise UsageError(f"FAULT {name!r} is not an nginx fault; nginx faults: {', '.join(BUILDERS)}")
    params = {**DEFAULTS[name], **given}
    if params.get("servers") == "<all-but-first>":
        params["servers"] = ",".join(scope.replicas[1:] or scope.replicas)
    outside = [n for n in params.get("servers", "").split(",") if n and n not in scope.replicas]
    if outside:
        raise UsageError(f"--param servers={params['servers']}: {outside[0]!r} is not a replica of this stack")
    return BUILDERS[name](text, params, scope)


def findings_in_upstream(running: str) -> list[Finding]:
    """What `drill audit` says about upstream app in the running config (`nginx -T` output)."""
    found = upstream(running)
    lines = {found.open_line, *found.servers.values()}
    end = max(lines) + 2
    return [
        f
        for f in audit_nginx(running, "nginx -T")
        if found.open_line <= f.line <= end or f.rule == "passive-check-harsh"
    ]


def in_effect(name: str, running: str) -> tuple[bool, str]:
    """Is fault `name` in the running config? `running` is what `nginx -T` prints."""
    seen = [f for f in findings_in_upstream(running) if f.rule in RULES[name]]
    if seen:
        return True, "; ".join(f.message for f in seen)
    return False, f"upstream {UPSTREAM}: none of {', '.join(sorted(RULES[name]))}"
