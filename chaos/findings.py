"""What `drill audit` reports: rules (with the why and the fix), findings and severities. Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Rule:
    severity: str  # the default; the rules lower or raise it with context
    fix: str
    why: str


RULES = {
    "weights-skew": Rule(
        "warning",
        "give equal replicas equal weights (or none)",
        "A server's weight sets its share of new connections. When one replica's weight is set and its peers "
        "keep the default, that replica takes several times their traffic: usually a canary or test left behind. "
        "Weights set on every server are read as a deliberate split and reported as information only.",
    ),
    "hash-balance": Rule(
        "warning",
        "balance roundrobin or leastconn, or hash a per-viewer key (hash-type consistent)",
        "Hashing the client address (balance source, hdr(X-Forwarded-For), nginx ip_hash) sends everyone behind "
        "one NAT, proxy or CDN address to one server. Hashing the URI (balance uri, hash $request_uri) is cache "
        "affinity and is reported as information; so is source hashing in tcp mode, where no cookie exists.",
    ),
    "no-health-check": Rule(
        "error",
        "add `check` with `option httpchk GET /health` (nginx: max_fails=3)",
        "Without a health check a dead server keeps its share of traffic until someone notices. With a single "
        "server there is nothing to fail over to, so the finding is information; backups too.",
    ),
    "tcp-check-only": Rule(
        "info",
        "add `option httpchk GET /health` and `http-check expect status 200` (Patroni: GET /primary, port 8008)",
        "A TCP connect check only proves the port accepts connections: a hung application, or a PostgreSQL "
        "replica, looks UP. Behind a PostgreSQL port this routes writes to replicas, so it is a warning there.",
    ),
    "check-port": Rule(
        "warning",
        "check every equal server on the same port (drop the odd `port` option)",
        "A check on another port (Patroni's REST API on 8008 for :5432 servers) is normal when every server of "
        "the backend uses it, and is information. When equal servers are checked on different ports, one of "
        "them is wrong: healthy servers get marked DOWN, or dead ones stay UP.",
    ),
    "check-timing": Rule(
        "warning",
        "check every 1s to 10s, fall and rise between 1 and 10",
        "Checks every few milliseconds load the servers; checks minutes apart, or fall/rise counts in the tens, "
        "leave a dead server in rotation for minutes.",
    ),
    "out-of-rotation": Rule(
        "warning",
        "remove `disabled` / `weight 0` / `down` once the maintenance is over",
        "A disabled, drained (weight 0) or `down` server takes no traffic: capacity left out after a maintenance. "
        "Placeholder slots that an ingress controller keeps disabled on purpose are information.",
    ),
    "check-target": Rule(
        "warning",
        "check a cheap health endpoint (`option httpchk GET /health`), not a page that does real work",
        "A health check that requests a real page (the home page, a catalog) fails when that page slows under "
        "load, on every server at once: the balancer pulls them all and the whole site is down although most of "
        "it works (Stack Exchange, July 2016).",
    ),
    "check-timeout": Rule(
        "warning",
        "give checks a timeout above the endpoint's worst latency (`timeout check 2s`, or none: inter applies)",
        "A check timeout of a few milliseconds fails a healthy server as soon as it is busy: under load, servers "
        "are taken out exactly when their capacity is needed.",
    ),
    "duplicate-address": Rule(
        "warning",
        "point each server slot at its own replica (refresh the registrations)",
        "Two server lines with one address count one host twice: the host gets a double share, and the replica "
        "the slot was meant for gets nothing. With server-templates filled by service discovery, slots held by "
        "stale registrations leave new replicas without traffic (Slack, May 2020).",
    ),
    "check-flap": Rule(
        "warning",
        "require several results to change state (`fall 3 rise 2`)",
        "With fall 1 and rise 1 a single slow check takes a server out and a single good one brings it back: under "
        "load, servers flap DOWN and UP and the rest take their share in bursts (GitHub's load-balancer outages).",
    ),
    "passive-check-harsh": Rule(
        "warning",
        "max_fails=3 fail_timeout=10s, and a proxy_read_timeout above the slowest normal answer (30s)",
        "nginx takes a server out for fail_timeout after max_fails failed attempts, and a timeout is a failed "
        "attempt. With max_fails=1, a fail_timeout of tens of seconds and a read timeout under a second, one slow "
        "answer under load takes a healthy replica out; its share tips the others into slow answers and they go "
        "too: `no live upstreams`, 502s, until fail_timeout lets them back.",
    ),
    "backup-server": Rule(
        "info",
        "fine if intended; otherwise drop `backup`",
        "A backup server only takes traffic when every active server is down.",
    ),
    "agent-weights": Rule(
        "warning",
        "remove `agent-check` unless the agent's answers are bounded and tested",
        "With agent-check, a program on the server sets its weight at run time: the balance is whatever it says.",
    ),
    "maxconn-tiny": Rule(
        "warning",
        "size maxconn to what a replica can serve (tens, not units)",
        "A server maxconn of 1 to 3 queues ordinary load and fails it when the queue times out.",
    ),
    "maxconn-asymmetry": Rule(
        "warning",
        "give equal replicas the same maxconn",
        "Equal servers with different maxconn limits queue on one and idle on the other.",
    ),
    "missing-timeout": Rule(
        "warning",
        "set `timeout connect 5s`, `timeout client 30s`, `timeout server 30s` (in defaults)",
        "A proxy without client, connect or server timeouts keeps stuck connections forever; `haproxy -c` warns "
        "about it in http and tcp mode alike.",
    ),
    "wont-load": Rule(
        "error",
        "use the current keyword (the message names it) and check with `haproxy -c` / `nginx -t`",
        "The balancer refuses this config: a directive removed in HAProxy 2.1, an address on a listen line, an "
        "unknown server keyword, a keyword without its value, or an nginx syntax error. A reload keeps the old "
        "config running; a restart leaves no balancer at all.",
    ),
    "balancer-check": Rule(
        "warning",
        "fix what the balancer's own check says",
        "With --validate, drill runs `haproxy -c` or `nginx -t` and reports their alerts (error) and warnings.",
    ),
    "not-evaluated": Rule(
        "info",
        "check the lines it covers by hand",
        "Conditional blocks (.if) and nginx includes are not followed: what they hold is not audited.",
    ),
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


def finding(file: str, line: int, rule: str, message: str, severity: str | None = None) -> Finding:
    return Finding(file, line, rule, severity or RULES[rule].severity, message, RULES[rule].fix)


def at_or_above(findings: list[Finding], threshold: str) -> list[Finding]:
    rank = SEVERITIES.index(threshold)
    return [f for f in findings if SEVERITIES.index(f.severity) >= rank]


def one_per_line(findings: list[Finding]) -> list[Finding]:
    """One finding per config line and rule: the highest severity, the messages joined. Sorted by line."""
    merged: dict[tuple[str, int, str], Finding] = {}
    for f in findings:
        key = (f.file, f.line, f.rule)
        old = merged.get(key)
        if old is None:
            merged[key] = f
        elif f.message not in old.message:
            severity = max(old.severity, f.severity, key=SEVERITIES.index)
            merged[key] = Finding(f.file, f.line, f.rule, severity, f"{old.message}; {f.message}", f.fix)
    return sorted(merged.values(), key=lambda f: (f.file, f.line, f.rule))
