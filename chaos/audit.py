"""`drill audit`: read balancer configs and report what would tilt or starve the dance floor.

`run` is the whole command (read files, refuse templates, audit, optionally validate, render,
exit code); `explain` is `--explain RULE`. The rules themselves are pure, text in, findings out:
HAProxy in chaos.audit_haproxy (through chaos.hapconfig), nginx in chaos.audit_nginx (through
crossplane). Each balancer fault in chaos.faults leaves a config that at least one rule flags at
warning or above (tests walk the catalogue): the postmortem's "regular audits" made routine.
"""

from __future__ import annotations

import re
from pathlib import Path

from chaos import validate as balancer_check
from chaos.audit_haproxy import audit_haproxy
from chaos.audit_nginx import audit_nginx
from chaos.audit_report import FORMATS, render
from chaos.findings import RULES, SEVERITIES, Finding, at_or_above, finding
from chaos.hapconfig import parse
from drills.errors import UsageError

__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "at_or_above",
    "audit_haproxy",
    "audit_nginx",
    "audit_text",
    "explain",
    "finding",
    "kind_of",
    "run",
    "template_line",
]

TEMPLATE = re.compile(r"\{\{|\{%|<%")
NGINX_LINE_END = re.compile(r"[;{}]\s*(#.*)?$")


def kind_of(text: str) -> str:
    """ "nginx" when most statement lines end in `;`, `{` or `}`, as nginx's do; "haproxy" otherwise."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    ended = sum(1 for line in lines if NGINX_LINE_END.search(line))
    return "nginx" if lines and ended * 2 > len(lines) else "haproxy"


def template_line(text: str) -> int | None:
    """The first line with Go, Jinja or ERB template syntax, or None: such a file is not a config yet."""
    for number, line in enumerate(text.splitlines(), start=1):
        if TEMPLATE.search(line):
            return number
    return None


def audit_text(text: str, file: str) -> list[Finding]:
    """Findings for one config file, HAProxy or nginx: one per line and rule, sorted by line."""
    return audit_nginx(text, file) if kind_of(text) == "nginx" else audit_haproxy(text, file)


def run(paths: list[Path], fmt: str = "text", fail_on: str = "warning", validate: bool = False) -> tuple[str, int]:
    """`drill audit PATHS`: the output to print and the exit code (0 clean, 1 findings at or above fail_on).

    Raises UsageError (exit 2) for a bad option, an unreadable file or a template."""
    if fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not paths:
        raise UsageError("give one or more config files to audit (or --explain RULE)")
    texts = [(str(path), _read(path)) for path in paths]
    findings: list[Finding] = []
    for name, text in texts:
        found = audit_text(text, name) + (_validated(text, name) if validate else [])
        findings += sorted(found, key=lambda f: f.line)
    return render(findings, fmt, [name for name, _ in texts]), 1 if at_or_above(findings, fail_on) else 0


def _read(path: Path) -> str:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as a config file ({exc.__class__.__name__}: {exc})") from None
    line = template_line(text)
    if line is not None:
        raise UsageError(f"{path}:{line}: template syntax ({{{{, {{% or <%}}): not a config, render it first")
    return text


def _validated(text: str, name: str) -> list[Finding]:
    kind = kind_of(text)
    sections = {s.name: s.header.number for s in parse(text).sections if s.header} if kind == "haproxy" else {}
    return balancer_check.check(text, kind, name, sections)


def explain(rule: str) -> str:
    """`drill audit --explain RULE`: what the rule looks for, why it matters and the fix."""
    if rule not in RULES:
        raise UsageError(f"--explain {rule!r}: not a rule; rules are {', '.join(RULES)}")
    spec = RULES[rule]
    return f"{rule} (default severity: {spec.severity})\n\nWhy: {spec.why}\n\nFix: {spec.fix}"
