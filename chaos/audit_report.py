"""`drill audit` output: text for people, JSON for scripts, SARIF 2.1.0 for code scanning in CI."""

from __future__ import annotations

import json

from chaos.findings import RULES, SEVERITIES, Finding

FORMATS = ("text", "json", "sarif")
SARIF_LEVELS = {"info": "note", "warning": "warning", "error": "error"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(findings: list[Finding], fmt: str, files: list[str]) -> str:
    if fmt == "json":
        return json.dumps([f.as_dict() for f in findings], indent=2)
    if fmt == "sarif":
        return json.dumps(sarif(findings), indent=2)
    lines = [str(f) for f in findings]
    if findings:
        counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
        lines.append(f"{len(findings)} finding(s): " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    else:
        lines.append(f"clean: no findings in {', '.join(files)}")
    return "\n".join(lines)


def sarif(findings: list[Finding]) -> dict[str, object]:
    """A SARIF log with one run: every rule described, one result per finding (line 1 for whole-file ones)."""
    rules = [
        {
            "id": name,
            "shortDescription": {"text": rule.fix},
            "fullDescription": {"text": rule.why},
            "help": {"text": f"{rule.why}\nFix: {rule.fix}"},
            "defaultConfiguration": {"level": SARIF_LEVELS[rule.severity]},
        }
        for name, rule in RULES.items()
    ]
    results = [
        {
            "ruleId": f.rule,
            "level": SARIF_LEVELS[f.severity],
            "message": {"text": f"{f.message} (fix: {f.fix})"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": f.file}, "region": {"startLine": max(f.line, 1)}}}
            ],
        }
        for f in findings
    ]
    driver = {"name": "drill audit", "rules": rules}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}
