"""`drill audit --validate`: the balancer's own check (`haproxy -c`, `nginx -t`), its output as findings.

The checker runs on a copy of the text in a temporary directory: a local `haproxy` / `nginx` on PATH,
else (HAProxy only) `docker run --rm -i drill/lb:latest haproxy -c -f /dev/stdin`. Messages that only
say the file was checked away from its own machine (names that do not resolve here, certificates
or included files that are not here) are kept as information.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chaos.findings import Finding, finding
from drills.errors import UsageError

LB_IMAGE = "drill/lb:latest"
TIMEOUT_S = 60
ELSEWHERE = re.compile(
    r"could not resolve address|Failed to initialize server\(s\) addr|host not found|unable to stat SSL certificate|"
    r"unable to load|No such file|error opening file|failed to open pattern file|log : invalid address|"
    r"open\(\) \".*\" failed|cannot load certificate|no such user|getpwnam|getgrnam|unknown directive \"stream\"",
    re.IGNORECASE,
)
HAPROXY_LINE = re.compile(r"^\[(ALERT|WARNING)\]\s*(?:\(\d+\)\s*)?:\s*(?:config\s*:\s*)?(.*)$")
HAPROXY_WHERE = re.compile(r"(?:parsing\s*)?\[[^\]]*?:(\d+)\]\s*:?\s*")
HAPROXY_SUMMARY = re.compile(r"Error\(s\) found in configuration file|Fatal errors found|will not start")
NGINX_LINE = re.compile(r"\[(emerg|alert|crit|error|warn)\] (?:\d+#\d+: )?(.*?)(?: in (\S+):(\d+))?$")


@dataclass(frozen=True)
class Message:
    severity: str  # error or warning, as the checker said it
    line: int  # 0 when the checker names no line
    text: str


def check(text: str, kind: str, file: str, sections: dict[str, int] | None = None) -> list[Finding]:
    """Findings from the balancer's own check of `text`; sections maps proxy names to header lines."""
    nginx = kind == "nginx"
    messages = parse_nginx(run_nginx(text)) if nginx else parse_haproxy(run_haproxy(text), sections or {})
    found = []
    for m in messages:
        severity = "info" if ELSEWHERE.search(m.text) else m.severity
        found.append(finding(file, m.line, "balancer-check", m.text, severity))
    return found


def run_haproxy(text: str) -> str:
    if shutil.which("haproxy"):
        with tempfile.TemporaryDirectory(prefix="drill-validate-") as tmp:
            path = Path(tmp) / "haproxy.cfg"
            path.write_text(text)
            return _run(["haproxy", "-c", "-f", str(path)], None)
    if shutil.which("docker"):
        return _run(["docker", "run", "--rm", "-i", LB_IMAGE, "haproxy", "-c", "-f", "/dev/stdin"], text)
    raise UsageError("--validate needs `haproxy` on PATH (apt-get install haproxy) or Docker with the drill/lb image")


def run_nginx(text: str) -> str:
    if not shutil.which("nginx"):
        raise UsageError("--validate needs `nginx` on PATH for nginx configs (apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="drill-validate-") as tmp:
        snippet = Path(tmp) / "audited.conf"
        snippet.write_text(text)
        main = snippet
        if not re.search(r"^\s*(events|http|stream)\s*\{", text, re.MULTILINE):
            main = Path(tmp) / "nginx.conf"  # a conf.d snippet: nginx -t needs a whole config around it
            main.write_text(f"events {{}}\nhttp {{\n    include {snippet};\n}}\n")
        return _run(["nginx", "-t", "-q", "-e", "stderr", "-p", tmp, "-c", str(main)], None)


def _run(command: list[str], stdin: str | None) -> str:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"--validate: `{' '.join(command[:3])}` did not run ({exc.__class__.__name__})") from None
    return done.stdout + done.stderr


def parse_haproxy(output: str, sections: dict[str, int]) -> list[Message]:
    """[ALERT] / [WARNING] lines of `haproxy -c`; a message naming a proxy but no line gets its header line."""
    messages: list[Message] = []
    for raw in output.splitlines():
        if raw.startswith("   |") and messages:  # continuation of the previous message
            last = messages[-1]
            messages[-1] = Message(last.severity, last.line, f"{last.text} {raw[4:].strip()}")
            continue
        match = HAPROXY_LINE.match(raw.strip())
        if not match or HAPROXY_SUMMARY.search(match.group(2)):
            continue
        body = match.group(2)
        where = HAPROXY_WHERE.match(body)
        line = int(where.group(1)) if where else 0
        body = body[where.end() :] if where else body
        if not line:
            named = re.search(r"(?:frontend|backend|listen|proxy)\s+'([^']+)'", body) or re.search(r"'([^']+)'", body)
            line = sections.get(named.group(1), 0) if named else 0
        messages.append(Message("error" if match.group(1) == "ALERT" else "warning", line, body.strip()))
    return messages


def parse_nginx(output: str) -> list[Message]:
    """[emerg] ... in FILE:LINE lines of `nginx -t` (its own wrapper's lines count as line 0)."""
    messages = []
    for raw in output.splitlines():
        match = NGINX_LINE.search(raw.strip())
        if not match:
            continue
        severity = "warning" if match.group(1) == "warn" else "error"
        audited = match.group(3) is not None and match.group(3).endswith("audited.conf")
        line = int(match.group(4)) if audited and match.group(4) else 0
        messages.append(Message(severity, line, match.group(2)))
    return messages
