"""nginx rules of `drill audit`, on the config as crossplane (nginx's own Python parser) reads it.

Blocks are found wherever nginx would find them: `{` on the next line, a whole upstream on one
line, tabs. crossplane reads files, so the text goes through a temporary file; includes are not
followed (reported as not evaluated, except the usual mime types, params and modules).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane

from chaos.findings import Finding, finding, one_per_line

SKEW_WARNING, SKEW_ERROR = 2.0, 10.0
MAXCONN_TINY = 4
ADDRESS_KEYS = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for", "$http_x_real_ip")
HARMLESS_INCLUDES = re.compile(r"(mime\.types|[\w-]*params|fastcgi\.conf|modules-enabled/.*|koi-\w+|win-utf)$")

Directive = dict[str, Any]


@dataclass(frozen=True)
class Member:
    address: str
    params: dict[str, str]  # key=value parameters; flags (backup, down) map to ""
    line: int

    @property
    def active(self) -> bool:
        return "backup" not in self.params and "down" not in self.params


def audit_nginx(text: str, file: str) -> list[Finding]:
    payload = _parse(text)
    found = [
        finding(file, error.get("line") or 1, "wont-load", f"nginx would refuse this: {_error_text(error)}")
        for error in payload["errors"]
    ]
    for directive, parents in _walk(payload["config"][0]["parsed"] if payload["config"] else [], ()):
        if directive["directive"] == "include" and directive["args"]:
            target = directive["args"][0]
            if not HARMLESS_INCLUDES.search(target):
                message = f"`include {target}` is not followed"
                found.append(finding(file, directive["line"], "not-evaluated", message))
        elif directive["directive"] == "proxy_read_timeout" and directive["args"]:
            if _seconds(directive["args"][0]) < 1.0:
                message = f"proxy_read_timeout {directive['args'][0]}: a slow answer under load counts as a failure"
                found.append(finding(file, directive["line"], "passive-check-harsh", message))
        elif directive["directive"] == "upstream" and directive["args"]:
            stream = "stream" in parents
            found += _upstream(directive["args"][0], directive.get("block", []), stream, file)
    return one_per_line(found)


def _parse(text: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="drill-audit-") as tmp:
        path = Path(tmp) / "nginx.conf"
        path.write_text(text)
        try:
            # Context and argument checks need to know which file includes this one (a conf.d snippet's
            # `server` is an upstream's or an http server's): only syntax is checked here, the rules do the rest.
            payload: dict[str, Any] = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False)
        except Exception as exc:  # crossplane raises plain errors on some broken inputs
            line = getattr(exc, "lineno", None)
            return {"errors": [{"error": str(exc) or exc.__class__.__name__, "line": line}], "config": []}
    return payload


def _error_text(error: dict[str, Any]) -> str:
    return re.sub(r" in /\S+:\d+$", "", str(error.get("error", "syntax error")))


def _walk(directives: list[Directive], parents: tuple[str, ...]) -> Iterator[tuple[Directive, tuple[str, ...]]]:
    for directive in directives:
        yield directive, parents
        if "block" in directive:
            yield from _walk(directive["block"], (*parents, directive["directive"]))


def _members(block: list[Directive]) -> list[Member]:
    found = []
    for directive in block:
        if directive["directive"] == "server" and directive["args"] and directive["args"][0]:
            params = {key: value for key, _, value in (a.partition("=") for a in directive["args"][1:])}
            found.append(Member(directive["args"][0], params, directive["line"]))
    return found


def _seconds(value: str) -> float:
    """An nginx time (250ms, 30s, 1m, 30) in seconds; unreadable: a day (flags nothing)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value.strip())
    if match is None:
        return 86400.0
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _upstream(name: str, block: list[Directive], stream: bool, file: str) -> list[Finding]:
    members = _members(block)
    active = [m for m in members if m.active]
    found = _hashing(name, block, len(active), stream, file) + _weights(name, active, file)
    for directive in block:
        if directive["directive"] == "server" and not (directive["args"] and directive["args"][0]):
            message = f"a `server` in upstream {name} has no address: nginx refuses the config"
            found.append(finding(file, directive["line"], "wont-load", message))
    for m in members:
        if "down" in m.params:
            found.append(finding(file, m.line, "out-of-rotation", f"server {m.address} is marked down in {name}"))
        if "backup" in m.params:
            lopsided = len(active) * 2 < len(members)  # backups idle while fewer servers carry the load
            message = f"server {m.address} is a backup in {name}" + (
                f": {len(active)} of {len(members)} servers do the work" if lopsided else ""
            )
            found.append(finding(file, m.line, "backup-server", message, "warning" if lopsided else None))
        if m.params.get("max_fails") == "1" and _seconds(m.params.get("fail_timeout", "10")) >= 20:
            message = f"server {m.address}: one failed attempt takes it out for {m.params['fail_timeout']}"
            found.append(finding(file, m.line, "passive-check-harsh", message))
        if m.params.get("max_fails") == "0":
            severity = None if len(active) > 1 else "info"
            message = f"server {m.address} has max_fails=0: nginx never takes it out when it fails"
            found.append(finding(file, m.line, "no-health-check", message, severity))
        if 0 < _int(m.params.get("max_conns"), 0) < MAXCONN_TINY:
            message = f"server {m.address} accepts {m.params['max_conns']} connection(s) at once"
            found.append(finding(file, m.line, "maxconn-tiny", message))
    if len({_int(m.params.get("max_conns"), 0) for m in active}) > 1:
        message = f"servers of upstream {name} have different max_conns"
        found.append(finding(file, active[0].line, "maxconn-asymmetry", message))
    return found


def _hashing(name: str, block: list[Directive], servers: int, stream: bool, file: str) -> list[Finding]:
    found = []
    for directive in block:
        method, args = directive["directive"], directive["args"]
        if servers < 2 or method not in ("ip_hash", "hash"):
            continue
        shown = " ".join([method, *args])
        if method == "ip_hash" or any(key in " ".join(args) for key in ADDRESS_KEYS):
            if stream:
                message = f"upstream {name} uses `{shown}`: tcp stickiness by client address"
                found.append(finding(file, directive["line"], "hash-balance", message, "info"))
            else:
                message = f"upstream {name} uses `{shown}`: viewers behind one address share a server"
                found.append(finding(file, directive["line"], "hash-balance", message))
        else:
            message = f"upstream {name} uses `{shown}`: requests with the same key stick to one server (affinity)"
            found.append(finding(file, directive["line"], "hash-balance", message, "info"))
    return found


def _weights(name: str, active: list[Member], file: str) -> list[Finding]:
    if len(active) < 2:
        return []
    weight = {id(m): _int(m.params.get("weight"), 1) for m in active}
    low, high = min(active, key=lambda m: weight[id(m)]), max(active, key=lambda m: weight[id(m)])
    ratio = weight[id(high)] / max(weight[id(low)], 1)
    if ratio < SKEW_WARNING:
        return []
    message = f"upstream {name}: {high.address} has weight {weight[id(high)]}, {low.address} {weight[id(low)]}"
    message += f" ({ratio:g}x the traffic of its peer)"
    if all("weight" in m.params for m in active):
        message += ": every weight is set, a deliberate split"
        return [finding(file, high.line, "weights-skew", message, "info")]
    return [finding(file, high.line, "weights-skew", message, "error" if ratio >= SKEW_ERROR else None)]
