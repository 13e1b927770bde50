"""Put an nginx upstream back in order after `drill audit` has named what is wrong, as an
nginx drill's playbook says: drop `ip_hash`/address hashing, and the `weight=`, `down` and
`backup` parameters that tilt or idle equal replicas; passive checks that take healthy servers
out go back to max_fails=3 fail_timeout=10s with a 30s read timeout. Pure; everything else is kept."""

from __future__ import annotations

import re

from chaos.audit import Finding

FIXED = {"weights-skew", "hash-balance", "out-of-rotation", "backup-server", "passive-check-harsh"}
PASSIVE = "max_fails=3 fail_timeout=10s"


def repair_nginx(text: str, findings: list[Finding]) -> str:
    lines = text.splitlines(keepends=True)
    flagged = {f.line for f in findings if f.rule in FIXED}
    upstream_servers = [i for i, line in enumerate(lines) if re.match(r"\s*server\s+app\d+", line)]
    for_servers = bool(flagged & {i + 1 for i in upstream_servers}) or any(f.rule == "weights-skew" for f in findings)
    out = []
    for number, line in enumerate(lines, start=1):
        if number in flagged and re.match(r"\s*(ip_hash|hash)\b", line):
            continue
        if for_servers and (number - 1) in upstream_servers:
            line = re.sub(r"\s+(weight=\d+|down|backup)(?=[\s;])", "", line)
        if number in flagged and (number - 1) in upstream_servers and "max_fails=" in line:
            line = re.sub(r"max_fails=\S+? fail_timeout=[^\s;]+", PASSIVE, line)
        if number in flagged and re.match(r"\s*proxy_read_timeout\s", line):
            line = re.sub(r"proxy_read_timeout\s+[^;]+", "proxy_read_timeout 30s", line)
        out.append(line)
    return "".join(out)
