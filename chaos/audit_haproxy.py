"""HAProxy rules of `drill audit`. Pure: config text in, findings out.

Severity follows context: a backend's mode (http or tcp), how many servers it has to fail over
to, whether its servers are checked alike, whether disabled slots are placeholders. Each line is
reported once per rule, a server-template included.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from chaos import hapkeywords
from chaos.audit_checks import audit_checks
from chaos.findings import Finding, finding, one_per_line
from chaos.hapconfig import Config, Line, Section, Server, parse, server_lines

SKEW_WARNING, SKEW_ERROR = 2.0, 10.0
MAXCONN_TINY = 4
CHECK_INTER_MS = (100, 30_000)
CHECK_COUNT_MAX = 10
ADDRESS_HEADERS = ("x-forwarded-for", "x-real-ip", "true-client-ip", "cf-connecting-ip", "forwarded")
PROTOCOL_CHECKS = ("httpchk", "mysql-check", "pgsql-check", "redis-check", "ldap-check", "smtpchk", "ssl-hello-chk")
POSTGRES_PORT = 5432


@dataclass(frozen=True)
class Pool:
    """A backend or listen section as the rules see it."""

    name: str
    mode: str
    servers: tuple[Server, ...]  # one per line, placeholders excluded
    placeholders: tuple[Server, ...]
    check: str  # "http", a protocol check such as "mysql-check", "scripted" or "connect"

    @property
    def active(self) -> list[Server]:
        return [s for s in self.servers if not s.has("backup") and not _out(s)]

    @property
    def capacity(self) -> int:
        """Active servers, a server-template counting for its slots."""
        return sum(s.count for s in self.active)


def audit_haproxy(text: str, file: str) -> list[Finding]:
    config = parse(text)
    found: list[Finding] = []
    for section in config.sections_of("backend", "listen"):
        pool = _pool(config, section)
        found += _balance(section, pool, file) + _weights(pool, file) + _checks(pool, file)
        found += _rotation(pool, file) + _maxconn(pool, file)
        found += [f for s in pool.servers for f in _server_findings(s, pool, file)]
    for section in config.sections_of("backend", "listen", "frontend"):
        found += _timeouts(config, section, file)
    found += _wont_load(config, file)
    found += audit_checks(config, file)
    found += [
        finding(file, line.number, "not-evaluated", f"`{line.words[0]}` block not evaluated")
        for line in config.lines
        if line.words and line.words[0].startswith(".if")
    ]
    return one_per_line(found)


def _pool(config: Config, section: Section) -> Pool:
    lines = server_lines(config, section)
    shared = Counter((s.address, s.port) for s in lines if s.has("disabled"))
    placeholders = tuple(s for s in lines if s.has("disabled") and shared[(s.address, s.port)] > 1)
    servers = tuple(s for s in lines if s not in placeholders)
    return Pool(section.name, _mode(config, section), servers, placeholders, _check_kind(config, section))


def _scopes(config: Config, section: Section) -> list[Section]:
    defaults = config.defaults_for(section)
    return [defaults, section] if defaults else [section]


def _mode(config: Config, section: Section) -> str:
    for scope in reversed(_scopes(config, section)):
        line = scope.first("mode")
        if line is not None and len(line.words) > 1:
            return line.words[1]
    return "tcp"


def _check_kind(config: Config, section: Section) -> str:
    kind = "connect"
    for scope in _scopes(config, section):
        for line in scope.directives("option"):
            if len(line.words) > 1 and line.words[1] in PROTOCOL_CHECKS:
                kind = "http" if line.words[1] == "httpchk" else line.words[1]
        if any(len(line.words) > 1 and line.words[1] in ("send", "expect") for line in scope.directives("tcp-check")):
            kind = "scripted" if kind == "connect" else kind
    return kind


def _out(server: Server) -> bool:
    return server.has("disabled") or server.options.get("weight") == "0"


def _checked(server: Server) -> bool:
    return server.has("check") and not server.has("no-check")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _ms(value: str | None) -> int | None:
    match = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", value or "")
    if not match:
        return None
    scale = {"us": 0.001, "ms": 1, None: 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    return int(int(match.group(1)) * scale[match.group(2)])


# Balancing -----------------------------------------------------------------------


def _balance(section: Section, pool: Pool, file: str) -> list[Finding]:
    line = section.first("balance")
    if line is None or len(line.words) < 2 or pool.capacity < 2:
        return []
    algorithm = line.words[1]
    name = f"backend {section.name} balances by `{algorithm}`"
    header = re.fullmatch(r"hdr\(([^)]*)\)", algorithm)
    if algorithm == "source" or (header and header.group(1).lower() in ADDRESS_HEADERS):
        if pool.mode == "http" or header:
            message = f"{name}: clients that share an address (one NAT, proxy or CDN) all land on one server"
            return [finding(file, line.number, "hash-balance", message)]
        message = f"{name}: tcp-mode stickiness by client address; clients behind one NAT share a server"
        return [finding(file, line.number, "hash-balance", message, "info")]
    if algorithm.startswith(("uri", "url_param", "hdr", "rdp-cookie", "hash")):
        message = f"{name}: requests with the same key stick to one server (cache affinity); a hot key heats it"
        return [finding(file, line.number, "hash-balance", message, "info")]
    return []


def _weights(pool: Pool, file: str) -> list[Finding]:
    active = [s for s in pool.active if _int(s.options.get("weight"), 1) > 0]
    if len(active) < 2:
        return []
    low = min(active, key=lambda s: _int(s.options.get("weight"), 1))
    high = max(active, key=lambda s: _int(s.options.get("weight"), 1))
    ratio = _int(high.options.get("weight"), 1) / _int(low.options.get("weight"), 1)
    if ratio < SKEW_WARNING:
        return []
    message = (
        f"backend {pool.name}: {high.name} has weight {high.options.get('weight')}, {low.name} "
        f"{low.options.get('weight', '1 (default)')} ({ratio:g}x the traffic of its peer)"
    )
    if all("weight" in s.line.words for s in active):
        return [
            finding(
                file, high.line.number, "weights-skew", message + ": every weight is set, a deliberate split", "info"
            )
        ]
    return [finding(file, high.line.number, "weights-skew", message, "error" if ratio >= SKEW_ERROR else None)]


# Health checks -------------------------------------------------------------------


def _checks(pool: Pool, file: str) -> list[Finding]:
    """tcp-check-only and check-port, judged on the backend as a whole."""
    checked = [s for s in pool.servers if _checked(s)]
    if not checked:
        return []
    found = []
    if pool.check == "connect":
        found.append(_connect_only(pool, checked[0], file))
    ports = {s.options.get("port") for s in checked}
    for server in checked:
        port = server.options.get("port")
        if port is None or server.port is None or _int(port, 0) == server.port:
            continue
        message = f"server {server.name} is checked on port {port} but serves on {server.port}"
        if len(ports) == 1:
            message += ": every server of the backend is checked there (a status endpoint such as Patroni's)"
            found.append(finding(file, server.line.number, "check-port", message, "info"))
        else:
            others = ", ".join(sorted(p or "its service port" for p in ports if p != port))
            found.append(finding(file, server.line.number, "check-port", f"{message}; its peers on {others}"))
    return found


def _connect_only(pool: Pool, first: Server, file: str) -> Finding:
    postgres = [s for s in pool.active if s.port == POSTGRES_PORT]
    if pool.mode == "tcp" and len(postgres) >= 2:
        message = (
            f"backend {pool.name} checks PostgreSQL servers by TCP connect only: replicas accept connections "
            "too, so writes can reach a replica"
        )
        return finding(file, first.line.number, "tcp-check-only", message, "warning")
    message = f"backend {pool.name} checks its servers by TCP connect only: a hung application looks UP"
    return finding(file, first.line.number, "tcp-check-only", message)


def _server_findings(server: Server, pool: Pool, file: str) -> list[Finding]:
    n, name, opts = server.line.number, server.name, server.options
    found = []
    if not _checked(server) and not _out(server):
        if server.has("backup") or pool.capacity < 2:
            why = "a backup" if server.has("backup") else f"the only server of backend {pool.name}"
            message = f"server {name} has no health check; it is {why}, so there is nothing to fail over to"
            found.append(finding(file, n, "no-health-check", message, "info"))
        else:
            message = f"server {name} has no health check: a dead replica keeps getting traffic"
            found.append(finding(file, n, "no-health-check", message))
    inter = _ms(opts.get("inter"))
    if _checked(server) and inter is not None and not CHECK_INTER_MS[0] <= inter <= CHECK_INTER_MS[1]:
        found.append(finding(file, n, "check-timing", f"server {name} is checked every {inter} ms"))
    for option in ("fall", "rise"):
        count = _int(opts.get(option), 2)
        if _checked(server) and not 1 <= count <= CHECK_COUNT_MAX:
            found.append(finding(file, n, "check-timing", f"server {name} has {option} {count}"))
    if server.has("backup"):
        found.append(finding(file, n, "backup-server", f"server {name} is a backup: idle while others are UP"))
    if server.has("agent-check"):
        message = (
            f"server {name}'s weight is set at run time by an agent on port {opts.get('agent-port', '?')}: "
            "its answers decide the balance"
        )
        found.append(finding(file, n, "agent-weights", message))
    return found


# Capacity ------------------------------------------------------------------------


def _rotation(pool: Pool, file: str) -> list[Finding]:
    found = []
    for server in pool.servers:
        if _out(server):
            why = "disabled" if server.has("disabled") else "weight 0"
            message = f"server {server.name} is {why}: it takes no traffic"
            found.append(finding(file, server.line.number, "out-of-rotation", message))
    if pool.placeholders:
        first = pool.placeholders[0]
        message = (
            f"backend {pool.name} keeps {len(pool.placeholders)} disabled placeholder slots at "
            f"{first.address}:{first.port} (an ingress controller fills them as endpoints come)"
        )
        found.append(finding(file, first.line.number, "out-of-rotation", message, "info"))
    return found


def _maxconn(pool: Pool, file: str) -> list[Finding]:
    active = pool.active
    limits = {s.name: _int(s.options.get("maxconn"), 0) for s in active}
    found = []
    for server in active:
        if 0 < limits[server.name] < MAXCONN_TINY:
            message = (
                f"server {server.name} accepts {limits[server.name]} connection(s) at once: "
                "ordinary load queues and fails"
            )
            found.append(finding(file, server.line.number, "maxconn-tiny", message))
    if len(set(limits.values())) > 1:
        detail = ", ".join(f"{k}={v or 'unlimited'}" for k, v in limits.items())
        message = f"servers of backend {pool.name} have different maxconn ({detail})"
        found.append(finding(file, active[0].line.number, "maxconn-asymmetry", message))
    return found


def _timeouts(config: Config, section: Section, file: str) -> list[Finding]:
    if section.header is None or _mode(config, section) not in ("http", "tcp"):
        return []
    needed: list[str] = ["client"] if section.kind in ("frontend", "listen") else []
    if section.kind in ("backend", "listen") and server_lines(config, section):
        needed += ["connect", "server"]
    old = {"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}
    have = {
        line.words[1] if line.words[0] == "timeout" else old[line.words[0]]
        for scope in _scopes(config, section)
        for line in scope.lines
        if line.words and (line.words[0] in old or (line.words[0] == "timeout" and len(line.words) > 1))
    }
    missing = [t for t in needed if t not in have]
    if not missing:
        return []
    message = f"{section.kind} {section.name} has no timeout {', '.join(missing)}: stuck connections never end"
    return [finding(file, section.header.number, "missing-timeout", message)]


# Configs that do not load ----------------------------------------------------------


def _wont_load(config: Config, file: str) -> list[Finding]:
    """Lines HAProxy refuses. Only proxy sections are read: a `server` line in a peers or ring
    section follows other rules (a local peer has no address)."""
    found = []
    for section in config.sections:
        body = section.lines if section.kind in ("defaults", "frontend", "backend", "listen") else ()
        for line in ((section.header,) if section.header else ()) + body:
            problem = _line_problem(line)
            if problem:
                found.append(finding(file, line.number, "wont-load", problem))
    return found


def _line_problem(line: Line) -> str | None:
    words = line.words
    if not words:
        return None
    keyword = words[0]
    if keyword in hapkeywords.REMOVED_DIRECTIVES:
        return f"`{keyword}` was removed in HAProxy 2.1: {hapkeywords.REMOVED_DIRECTIVES[keyword]}"
    if keyword in ("listen", "frontend") and len(words) > 2 and words[2] != "from":
        return f"`{keyword} {words[1]} {words[2]}`: an address on the {keyword} line is refused since 2.0; use `bind`"
    if keyword == "server":
        return "`server` needs a name and an address" if len(words) < 3 else _options_problem(words[3:])
    if keyword == "server-template":
        if len(words) < 4 or not re.fullmatch(r"\d+(-\d+)?", words[2]):
            return "`server-template` needs a prefix, a number or range (e.g. 1-10) and an address"
        return _options_problem(words[4:])
    return _options_problem(words[1:]) if keyword == "default-server" else None


def _options_problem(words: tuple[str, ...] | list[str]) -> str | None:
    i = 0
    while i < len(words):
        word = words[i]
        if hapkeywords.takes_argument(word):
            if i + 1 >= len(words):
                return f"server keyword `{word}` needs a value"
            i += 2
        elif word in hapkeywords.SERVER_FLAGS:
            i += 1
        else:
            return f"`{word}` is not a server keyword (HAProxy 2.x manual, section 5.2)"
    return None
