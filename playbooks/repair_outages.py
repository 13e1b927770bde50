"""Config repair for the faults after public postmortems, as their playbooks' "Fix" sections
say. Pure: config text in, config text out; everything else on the lines is kept.

`repair_checks` puts the health checks back on the replicas' cheap endpoint with a sane
timeout and hysteresis (rules check-target, check-timeout, check-flap), and points each
slot back at its own replica (duplicate-address, in a stack whose servers are named after
their hosts); `restore_slots`
gives every running replica that the balancer does not know a server line again (a backend
with fewer slots than replicas: nothing in the file is wrong, something is missing).
"""

from __future__ import annotations

from chaos.audit import Finding
from chaos.hapconfig import parse, replace_lines, set_server_option
from doors.balancer import BACKEND

HEALTH_PATH = "/health"  # the reference app's health endpoint (stack/images/app/server.py)
CHECK_TIMEOUT = "2s"


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def repair_checks(text: str, findings: list[Finding], health: str = HEALTH_PATH) -> str:
    """`health`: the app's health endpoint (a team's own app names its own, stack.app.health)."""
    config = parse(text)
    by_number = {line.number: line for line in config.lines}
    changes: dict[int, str] = {}
    for f in findings:
        line = by_number.get(f.line)
        if line is None:
            continue
        if f.rule == "check-target":
            changes[f.line] = f"{_indent(line.text)}option httpchk GET {health}"
        elif f.rule == "check-timeout" and line.words[0] == "timeout":
            changes[f.line] = f"{_indent(line.text)}timeout check {CHECK_TIMEOUT}"
        elif f.rule == "check-timeout":  # a server or default-server line's `inter`
            changes[f.line] = set_server_option(changes.get(f.line, line.text), "inter", "1s")
        elif f.rule == "duplicate-address" and len(line.words) > 2:
            port = line.words[2].rpartition(":")[2] if ":" in line.words[2] else ""
            own = f"{line.words[1]}:{port}" if port else line.words[1]
            changes[f.line] = line.text.replace(f" {line.words[2]}", f" {own}", 1)
        elif f.rule == "check-flap":
            fixed = changes.get(f.line, line.text)
            for option, value in (("inter", "1s"), ("fall", "3"), ("rise", "2")):
                fixed = set_server_option(fixed, option, value)
            changes[f.line] = fixed
    return replace_lines(text, changes).apply(text) if changes else text


def restore_slots(text: str, missing: list[str]) -> str:
    """A server line for each of `missing`, made like the backend's last one (name and host
    replaced), after it."""
    if not missing:
        return text
    config = parse(text)
    section = config.section("backend", BACKEND) or config.section("listen", BACKEND)
    lines = [line for line in section.directives("server") if len(line.words) > 2] if section else []
    if not lines:
        return text
    model = lines[-1]
    name, address = model.words[1], model.words[2]
    port = address.rpartition(":")[2] if ":" in address else ""
    added = []
    for replica in missing:
        clone = model.text.replace(f" {name} ", f" {replica} ", 1)
        clone = clone.replace(f" {address}", f" {replica}:{port}" if port else f" {replica}", 1)
        added.append(clone)
    return replace_lines(text, {model.number: "\n".join([model.text, *added])}).apply(text)
