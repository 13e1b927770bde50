from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.audit import audit_haproxy, audit_nginx, audit_text
from cli.main import app

GOOD = """\
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
backend web
    balance leastconn
    option httpchk GET /health
    default-server check inter 2s fall 3 rise 2
    server w1 10.0.0.1:80 weight 10
    server w2 10.0.0.2:80 weight 10
"""


TWO = "    server a 1.1.1.1:80 check\n    server b 1.1.1.2:80 check\n"


def rules(text: str) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.severity) for f in audit_haproxy(text, "x.cfg")]


def with_backend(
    body: str,
    defaults: str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n",
) -> str:
    return defaults + "backend web\n    option httpchk GET /health\n" + body


def test_a_sound_config_is_clean() -> None:
    assert rules(GOOD) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("    server a 1.1.1.1:80 check weight 100\n    server b 1.1.1.2:80 check\n", (8, "weights-skew", "error")),
        ("    server a 1.1.1.1:80 check weight 3\n    server b 1.1.1.2:80 check\n", (8, "weights-skew", "warning")),
        ("    balance source\n" + TWO, (8, "hash-balance", "warning")),
        ("    balance hdr(X-Forwarded-For)\n" + TWO, (8, "hash-balance", "warning")),
        ("    server a 1.1.1.1:80\n    server b 1.1.1.2:80\n", (8, "no-health-check", "error")),
        ("    server a 1.1.1.1:80 check port 81\n    server b 1.1.1.2:80 check\n", (8, "check-port", "warning")),
        ("    server a 1.1.1.1:80 check inter 50ms\n", (8, "check-timing", "warning")),
        ("    server a 1.1.1.1:80 check fall 50\n", (8, "check-timing", "warning")),
        ("    server a 1.1.1.1:80 check disabled\n", (8, "out-of-rotation", "warning")),
        ("    server a 1.1.1.1:80 check weight 0\n    server b 1.1.1.2:80 check\n", (8, "out-of-rotation", "warning")),
        ("    server a 1.1.1.1:80 check backup\n", (8, "backup-server", "info")),
        ("    server a 1.1.1.1:80 check agent-check agent-port 9\n", (8, "agent-weights", "warning")),
        ("    server a 1.1.1.1:80 check maxconn 2\n", (8, "maxconn-tiny", "warning")),
        (
            "    server a 1.1.1.1:80 check maxconn 50\n    server b 1.1.1.2:80 check\n",
            (8, "maxconn-asymmetry", "warning"),
        ),
    ],
)
def test_each_rule_fires_on_its_misconfiguration(body: str, expected: tuple[int, str, str]) -> None:
    assert expected in rules(with_backend(body))


def test_missing_timeouts_and_tcp_only_checks() -> None:
    found = rules("defaults\n    mode http\nbackend web\n    server a 1.1.1.1:80 check\n")
    assert (3, "missing-timeout", "warning") in found
    assert (4, "tcp-check-only", "info") in found


def test_messy_real_world_config_does_not_crash() -> None:
    text = (
        "# generated\nglobal\n  log stdout format raw local0\n.if defined(DEBUG)\n  stats socket /tmp/s\n.endif\n"
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"
        "backend a\n  server-template srv 1-3 svc.local:80 check\n"
        'backend b\n  server x unix@/tmp/sock check\n  server y "10.0.0.9:80" check\n'
    )
    found = rules(text)
    assert (4, "not-evaluated", "info") in found
    assert not [f for f in found if f[2] == "error"]


def test_nginx_upstreams() -> None:
    text = (
        "http {\n  include /etc/nginx/conf.d/*.conf;\n  upstream api {\n    ip_hash;\n"
        "    server 10.0.0.1:80 weight=20 max_conns=2;\n    server 10.0.0.2:80 max_fails=0;\n"
        "    server 10.0.0.3:80 down;\n  }\n}\n"
    )
    found = {(f.line, f.rule) for f in audit_nginx(text, "n.conf")}
    assert found >= {
        (2, "not-evaluated"),
        (4, "hash-balance"),
        (5, "weights-skew"),
        (5, "maxconn-tiny"),
        (6, "no-health-check"),
        (7, "out-of-rotation"),
        (5, "maxconn-asymmetry"),
    }
    assert audit_text(text, "n.conf") == audit_nginx(text, "n.conf")
    assert audit_nginx("upstream ok {\n  server a:80;\n  server b:80;\n}\n", "ok.conf") == []


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    good, bad = tmp_path / "good.cfg", tmp_path / "bad.cfg"
    good.write_text(GOOD)
    bad.write_text(with_backend("    server a 1.1.1.1:80 check backup\n    server b 1.1.1.2:80 check port 81\n"))
    assert runner.invoke(app, ["audit", str(good)]).exit_code == 0
    result = runner.invoke(app, ["audit", str(bad), "--json"])
    assert result.exit_code == 1
    findings = json.loads(result.output)
    assert {f["rule"] for f in findings} == {"backup-server", "check-port"}
    assert all({"file", "line", "rule", "severity", "message", "fix"} <= set(f) for f in findings)
    assert runner.invoke(app, ["audit", str(bad), "--fail-on", "error"]).exit_code == 0
    assert runner.invoke(app, ["audit", str(bad), "--fail-on", "info"]).exit_code == 1
