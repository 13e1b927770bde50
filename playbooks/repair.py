"""Put a balancer config back in order, as the playbook's "Fix" section says. Pure.

The autopilot uses it after `drill audit` has named what is wrong: balancing by hash goes
back to roundrobin, and in each backend with findings the per-server options that tilt
or starve replicas (weights, check ports, maxconn, drain, agent checks) are removed, so
equal replicas are equal again. Everything else on those lines is kept.
"""

from __future__ import annotations

from chaos.audit import Finding
from chaos.hapconfig import parse, replace_lines, servers, set_server_option

TILTING = ("weight", "port", "maxconn", "disabled", "agent-check", "agent-port", "agent-inter", "agent-send")
SERVER_RULES = {"weights-skew", "check-port", "maxconn-tiny", "maxconn-asymmetry", "out-of-rotation", "agent-weights"}


def repair(text: str, findings: list[Finding]) -> str:
    config = parse(text)
    flagged = {f.line for f in findings}
    rules_by_line = {(f.line, f.rule) for f in findings}
    changes: dict[int, str] = {}
    for section in config.sections_of("backend", "listen"):
        lines = {line.number for line in section.lines} | ({section.header.number} if section.header else set())
        if not lines & flagged:
            continue
        balance = section.first("balance")
        if balance is not None and (balance.number, "hash-balance") in rules_by_line:
            indent = balance.text[: len(balance.text) - len(balance.text.lstrip())]
            changes[balance.number] = f"{indent}balance roundrobin"
        if not any(rule in SERVER_RULES for number, rule in rules_by_line if number in lines):
            continue
        targets = [s.line for s in servers(config, section)] + section.directives("default-server")
        for line in targets:
            fixed = line.text
            for option in TILTING:
                fixed = set_server_option(fixed, option, None)
            if fixed != line.text:
                changes[line.number] = fixed
    return replace_lines(text, changes).apply(text) if changes else text
