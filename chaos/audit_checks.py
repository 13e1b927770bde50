"""HAProxy health-check rules of `drill audit` learnt from postmortems. Pure.

- check-target: `option httpchk` requests a page that does real work (not a health endpoint):
  when that page slows under load, every server fails its check at once (Stack Exchange 2016).
- check-timeout: `timeout check` so short that a busy but healthy server fails its checks.
- duplicate-address: several servers of a backend point at one address: a stale registration
  holds the slots of replicas that never get traffic (Slack, May 2020).
- check-flap: `fall 1` with `rise 1`: one slow check takes a server out, one good one brings it
  back, so servers flap under load (GitHub's load-balancer outages).
"""

from __future__ import annotations

import re

from chaos.findings import Finding, finding
from chaos.hapconfig import Config, Line, Section

HEALTH_WORDS = (
    "health",
    "ready",
    "live",
    "alive",
    "status",
    "ping",
    "check",
    "up",
    "primary",
    "replica",
    "master",
    "leader",
    "standby",
    "sync",
)
CHECK_TIMEOUT_MIN_MS = 100


def _ms(value: str) -> int | None:
    match = re.fullmatch(r"(\d+)(us|ms|s|m)?", value)
    if not match:
        return None
    scale = {"us": 0.001, "ms": 1, None: 1, "s": 1000, "m": 60_000}
    return int(int(match.group(1)) * scale[match.group(2)])


def check_uri(line: Line) -> str | None:
    """The URI an `option httpchk` line requests (None when it names none)."""
    words = line.words[2:]
    if not words:
        return None
    return words[1] if len(words) > 1 and words[0].isupper() else words[0]


def _health_like(uri: str) -> bool:
    """A health endpoint, or the site's root (a common, often cheap check: not flagged)."""
    path = uri.split("?", 1)[0].lower()
    if path in ("/", ""):
        return True
    return any(word in part for part in re.split(r"[/._-]", path) for word in HEALTH_WORDS if part)


def audit_checks(config: Config, file: str) -> list[Finding]:
    found: list[Finding] = []
    for section in config.sections_of("defaults", "backend", "listen"):
        found += _check_target(section, file) + _check_timeouts(section, file) + _check_servers(section, file)
    for section in config.sections_of("backend", "listen"):
        found += _duplicate_addresses(section, file)
    return found


def _check_target(section: Section, file: str) -> list[Finding]:
    found = []
    for line in section.directives("option"):
        if len(line.words) > 1 and line.words[1] == "httpchk":
            uri = check_uri(line)
            if uri is not None and not _health_like(uri):
                message = (
                    f"{section.kind} {section.name} checks its servers by requesting {uri}, a page that does real "
                    "work: when it slows under load every server fails its check at once"
                )
                found.append(finding(file, line.number, "check-target", message))
    return found


def _check_timeouts(section: Section, file: str) -> list[Finding]:
    found = []
    for line in section.directives("timeout"):
        if len(line.words) > 2 and line.words[1] == "check":
            ms = _ms(line.words[2])
            if ms is not None and ms < CHECK_TIMEOUT_MIN_MS:
                message = f"{section.kind} {section.name} gives health checks {ms} ms: a busy server fails them"
                found.append(finding(file, line.number, "check-timeout", message))
    return found


def _check_servers(section: Section, file: str) -> list[Finding]:
    """Per server line: checks too frequent for no `timeout check`, and fall 1 rise 1."""
    found = []
    has_timeout = any(len(t.words) > 1 and t.words[1] == "check" for t in section.directives("timeout"))
    for line in section.directives("default-server") + section.directives("server"):
        words = line.words
        inter = _ms(words[words.index("inter") + 1]) if "inter" in words[:-1] else None
        if not has_timeout and inter is not None and inter < CHECK_TIMEOUT_MIN_MS:
            message = (
                f"checks every {inter} ms with no `timeout check`: each check has {inter} ms to answer, "
                "a busy server fails them"
            )
            found.append(finding(file, line.number, "check-timeout", message))
        options = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i] in ("fall", "rise")}
        if options.get("fall") == "1" and options.get("rise") == "1":
            message = "fall 1 rise 1: one slow check takes a server out, one good check brings it back (flapping)"
            found.append(finding(file, line.number, "check-flap", message))
    return found


def _duplicate_addresses(section: Section, file: str) -> list[Finding]:
    found = []
    holders: dict[str, str] = {}
    for line in section.directives("server"):
        if len(line.words) < 3 or "disabled" in line.words:
            continue
        name, address = line.words[1], line.words[2]
        if address in holders:
            message = (
                f"server {name} points at {address}, like {holders[address]}: one host holds two slots "
                f"(a stale registration) and {name}'s own replica gets no traffic"
            )
            found.append(finding(file, line.number, "duplicate-address", message))
        else:
            holders[address] = name
    return found
