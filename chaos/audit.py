"""`drill audit`: read a balancer config and report what would tilt or starve the dance floor.

Pure: text in, findings out (the CLI reads files and sets the exit code). HAProxy configs
are read through chaos.hapconfig; nginx `upstream` blocks with a small parser of their
own. Each balancer fault in chaos.faults leaves a config that at least one rule flags
(tests walk the catalogue): the postmortem's "regular audits" made routine.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from chaos.hapconfig import Config, Section, Server, comment_start, parse, servers

SEVERITIES = ("info", "warning", "error")
HASH_ALGORITHMS = ("source", "uri", "url_param", "hdr", "rdp-cookie", "hash")
SKEW_WARNING, SKEW_ERROR = 2.0, 10.0
MAXCONN_TINY = 4
CHECK_INTER_MS = (100, 30_000)
CHECK_COUNT_MAX = 10


@dataclass(frozen=True)
class Rule:
    severity: str
    fix: str


RULES = {
    "weights-skew": Rule("warning", "give equal replicas equal weights (or none)"),
    "hash-balance": Rule("warning", "balance roundrobin or leastconn, or hash a per-viewer key (hash-type consistent)"),
    "no-health-check": Rule("error", "add `check` with `option httpchk GET /health` (nginx: max_fails=3)"),
    "tcp-check-only": Rule("info", "add `option httpchk GET /health` and `http-check expect status 200`"),
    "check-port": Rule("warning", "drop the server's `port` option so the check tests what viewers use"),
    "check-timing": Rule("warning", f"check every 1s to 10s, fall and rise between 1 and {CHECK_COUNT_MAX}"),
    "out-of-rotation": Rule("warning", "remove `disabled` / `weight 0` / `down` once the maintenance is over"),
    "backup-server": Rule("info", "fine if intended; otherwise drop `backup`"),
    "agent-weights": Rule("warning", "remove `agent-check` unless the agent's answers are bounded and tested"),
    "maxconn-tiny": Rule("warning", "size maxconn to what a replica can serve (tens, not units)"),
    "maxconn-asymmetry": Rule("warning", "give equal replicas the same maxconn"),
    "missing-timeout": Rule("warning", "set `timeout connect 2s`, `timeout client 30s`, `timeout server 30s`"),
    "not-evaluated": Rule("info", "check the lines it covers by hand"),
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    severity: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity} [{self.rule}] {self.message} (fix: {self.fix})"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _finding(file: str, line: int, rule: str, message: str, severity: str | None = None) -> Finding:
    return Finding(file, line, rule, severity or RULES[rule].severity, message, RULES[rule].fix)


def at_or_above(findings: list[Finding], threshold: str) -> list[Finding]:
    rank = SEVERITIES.index(threshold)
    return [f for f in findings if SEVERITIES.index(f.severity) >= rank]


def audit_text(text: str, file: str) -> list[Finding]:
    """Findings for one config file, HAProxy or nginx (told apart by its `upstream` blocks)."""
    if re.search(r"^\s*upstream\s+\S+\s*\{", text, re.MULTILINE):
        return audit_nginx(text, file)
    return audit_haproxy(text, file)


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


def _weights(weights: list[tuple[str, int, int]], file: str, pool: str) -> list[Finding]:
    """weights: (server, weight, line) of the pool's active (non-backup) servers."""
    active = [entry for entry in weights if entry[1] > 0]
    if len(active) < 2:
        return []
    low, high = min(active, key=lambda x: x[1]), max(active, key=lambda x: x[1])
    ratio = high[1] / low[1]
    if ratio < SKEW_WARNING:
        return []
    message = f"{pool}: {high[0]} has weight {high[1]}, {low[0]} {low[1]} ({ratio:g}x the traffic of its peer)"
    return [_finding(file, high[2], "weights-skew", message, "error" if ratio >= SKEW_ERROR else None)]


# HAProxy -----------------------------------------------------------------------


def audit_haproxy(text: str, file: str) -> list[Finding]:
    config = parse(text)
    found: list[Finding] = []
    for section in config.sections_of("backend", "listen"):
        pool = servers(config, section)
        found += _balance(section, file)
        active = [(s.name, _int(s.options.get("weight"), 1), s.line.number) for s in pool if not s.has("backup")]
        found += _weights(active, file, f"backend {section.name}")
        http_checked = _mode(config, section) != "http" or any(
            "httpchk" in line.words
            for scope in (config.defaults_for(section), section)
            if scope
            for line in scope.directives("option")
        )
        for server in pool:
            found += _server_findings(server, file)
            if server.has("check") and not http_checked:
                found.append(
                    _finding(
                        file,
                        server.line.number,
                        "tcp-check-only",
                        f"server {server.name} is checked by TCP connect only: a broken app looks UP",
                    )
                )
        found += _maxconn(pool, file)
    for section in config.sections_of("backend", "listen", "frontend"):
        found += _timeouts(config, section, file)
    for line in config.lines:
        if line.words and line.words[0].startswith(".if"):
            found.append(_finding(file, line.number, "not-evaluated", f"`{line.words[0]}` block not evaluated"))
    return sorted(found, key=lambda f: (f.line, f.rule))


def _balance(section: Section, file: str) -> list[Finding]:
    line = section.first("balance")
    if line is None or len(line.words) < 2 or not line.words[1].startswith(HASH_ALGORITHMS):
        return []
    message = (
        f"backend {section.name} balances by `{line.words[1]}`: clients that share it (one NAT, proxy "
        "or CDN address) all land on one server"
    )
    return [_finding(file, line.number, "hash-balance", message)]


def _server_findings(server: Server, file: str) -> list[Finding]:
    n, name, opts = server.line.number, server.name, server.options
    found = []
    if not server.has("check") or server.has("no-check"):
        found.append(
            _finding(
                file, n, "no-health-check", f"server {name} has no health check: a dead replica keeps getting traffic"
            )
        )
    elif "port" in opts and server.port is not None and _int(opts["port"], 0) != server.port:
        found.append(
            _finding(
                file, n, "check-port", f"server {name} is checked on port {opts['port']} but serves on {server.port}"
            )
        )
    inter = _ms(opts.get("inter"))
    if server.has("check") and inter is not None and not CHECK_INTER_MS[0] <= inter <= CHECK_INTER_MS[1]:
        found.append(_finding(file, n, "check-timing", f"server {name} is checked every {inter} ms"))
    for option in ("fall", "rise"):
        count = _int(opts.get(option), 2)
        if server.has("check") and not 1 <= count <= CHECK_COUNT_MAX:
            found.append(_finding(file, n, "check-timing", f"server {name} has {option} {count}"))
    if server.has("disabled") or opts.get("weight") == "0":
        why = "disabled" if server.has("disabled") else "weight 0"
        found.append(_finding(file, n, "out-of-rotation", f"server {name} is {why}: it takes no traffic"))
    if server.has("backup"):
        found.append(_finding(file, n, "backup-server", f"server {name} is a backup: idle while others are UP"))
    if server.has("agent-check"):
        found.append(
            _finding(
                file,
                n,
                "agent-weights",
                f"server {name}'s weight is set at run time by an agent on "
                f"port {opts.get('agent-port', '?')}: its answers decide "
                "the balance",
            )
        )
    return found


def _mode(config: Config, section: Section) -> str:
    for scope in (section, config.defaults_for(section)):
        line = scope.first("mode") if scope else None
        if line is not None and len(line.words) > 1:
            return line.words[1]
    return "tcp"


def _maxconn(pool: list[Server], file: str) -> list[Finding]:
    limits = {s.name: _int(s.options.get("maxconn"), 0) for s in pool}
    found = [
        _finding(
            file,
            s.line.number,
            "maxconn-tiny",
            f"server {s.name} accepts {limits[s.name]} connection(s) at once: ordinary load queues and fails",
        )
        for s in pool
        if 0 < limits[s.name] < MAXCONN_TINY
    ]
    if len(set(limits.values())) > 1:
        detail = ", ".join(f"{k}={v or 'unlimited'}" for k, v in limits.items())
        found.append(
            _finding(
                file,
                pool[0].line.number,
                "maxconn-asymmetry",
                f"servers of one backend have different maxconn ({detail})",
            )
        )
    return found


def _timeouts(config: Config, section: Section, file: str) -> list[Finding]:
    if _mode(config, section) != "http" or section.header is None:
        return []
    needed = {"frontend": ("client",), "backend": ("connect", "server")}.get(
        section.kind, ("connect", "client", "server")
    )
    have = {
        line.words[1]
        for scope in (config.defaults_for(section), section)
        if scope
        for line in scope.directives("timeout")
        if len(line.words) > 1
    }
    missing = [t for t in needed if t not in have]
    if not missing:
        return []
    message = f"{section.kind} {section.name} has no timeout {', '.join(missing)}: stuck requests never end"
    return [_finding(file, section.header.number, "missing-timeout", message)]


# nginx ---------------------------------------------------------------------------


def audit_nginx(text: str, file: str) -> list[Finding]:
    found: list[Finding] = []
    upstream: str | None = None
    members: list[tuple[str, dict[str, str], int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        start = comment_start(raw)
        line = (raw[:start] if start is not None else raw).strip()
        if line.startswith("include "):
            found.append(_finding(file, number, "not-evaluated", f"`{line.rstrip(';')}` is not followed"))
        if match := re.match(r"upstream\s+(\S+)\s*\{", line):
            upstream, members = match.group(1), []
        elif upstream and line.startswith("}"):
            found += _nginx_pool(upstream, members, file)
            upstream = None
        elif upstream and re.match(r"(ip_hash|hash)\b", line):
            message = f"upstream {upstream} uses `{line.rstrip(';')}`: viewers behind one address share a server"
            found.append(_finding(file, number, "hash-balance", message))
        elif upstream and line.startswith("server "):
            words = line.rstrip(";").split()
            options = {key: value for key, _, value in (w.partition("=") for w in words[2:])}
            members.append((words[1], options, number))
    return sorted(found, key=lambda f: (f.line, f.rule))


def _nginx_pool(upstream: str, members: list[tuple[str, dict[str, str], int]], file: str) -> list[Finding]:
    active = [(name, _int(o.get("weight"), 1), n) for name, o, n in members if "backup" not in o and "down" not in o]
    found = _weights(active, file, f"upstream {upstream}")
    for name, options, n in members:
        if "down" in options:
            found.append(_finding(file, n, "out-of-rotation", f"server {name} is marked down in {upstream}"))
        if "backup" in options:
            found.append(_finding(file, n, "backup-server", f"server {name} is a backup in {upstream}"))
        if options.get("max_fails") == "0":
            found.append(
                _finding(
                    file, n, "no-health-check", f"server {name} has max_fails=0: nginx never takes it out when it fails"
                )
            )
        if 0 < _int(options.get("max_conns"), 0) < MAXCONN_TINY:
            found.append(
                _finding(file, n, "maxconn-tiny", f"server {name} accepts {options['max_conns']} connection(s) at once")
            )
    if len({_int(o.get("max_conns"), 0) for _, o, _ in members}) > 1:
        found.append(
            _finding(
                file, members[0][2], "maxconn-asymmetry", f"servers of upstream {upstream} have different max_conns"
            )
        )
    return found
