"""Issue #18's patterns, each in a small config written for it: false alarms stay quiet, misses are caught.

"Quiet" means nothing at warning or above: information is allowed (it never fails a CI run at the
default --fail-on warning).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.audit import at_or_above, audit_text, explain, run
from cli.main import app
from drills.errors import UsageError

TIMEOUTS = "defaults\n    mode {mode}\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"


def config(body: str, mode: str = "http") -> str:
    return TIMEOUTS.format(mode=mode) + body


def loud(text: str) -> list[tuple[int, str, str]]:
    return [(f.line, f.rule, f.severity) for f in at_or_above(audit_text(text, "x.cfg"), "warning")]


def rules(text: str) -> set[tuple[int, str, str]]:
    return {(f.line, f.rule, f.severity) for f in audit_text(text, "x.cfg")}


QUIET = {
    "patroni-check-port": config(
        "listen postgres\n    bind *:5000\n    option httpchk GET /primary\n    http-check expect status 200\n"
        "    server pg1 10.0.0.1:5432 maxconn 100 check port 8008\n"
        "    server pg2 10.0.0.2:5432 maxconn 100 check port 8008\n",
        mode="tcp",
    ),
    "ssl-verify-none-check": config(
        "backend b\n    option httpchk GET /health\n"
        "    server s1 10.0.0.1:443 ssl verify none check weight 10\n"
        "    server s2 10.0.0.2:443 ssl verify none check weight 10\n"
    ),
    "single-server": config("backend api\n    server only 10.0.0.1:8080\n"),
    "placeholder-slots": config(
        "backend default_web_80\n    option httpchk GET /\n    server srv001 10.244.2.1:80 weight 1 check inter 2s\n"
        + "".join(f"    server srv00{n} 127.0.0.1:1023 disabled weight 1 check inter 2s\n" for n in range(2, 6))
    ),
    "balance-uri": config(
        "backend cache\n    balance uri\n    hash-type consistent\n    option httpchk GET /\n"
        "    server c1 10.0.0.1:80 check\n    server c2 10.0.0.2:80 check\n"
    ),
    "tcp-source-stickiness": config(
        "listen ingress-443\n    bind *:443\n    balance source\n"
        "    server w1 10.0.0.1:443 check\n    server w2 10.0.0.2:443 check\n",
        mode="tcp",
    ),
    "deliberate-weights": config(
        "backend rabbit\n    option httpchk GET /\n"
        "    server r1 10.0.0.1:80 check weight 70\n    server r2 10.0.0.2:80 check weight 30\n"
    ),
    "nginx-cache-affinity": "upstream cache {\n  hash $request_uri consistent;\n  server v1:80;\n  server v2:80;\n}\n",
    "nginx-mime-types": "http {\n  include /etc/nginx/mime.types;\n  upstream a {\n    server a:80;\n  }\n}\n",
}


@pytest.mark.parametrize("name", QUIET)
def test_false_alarms_stay_quiet(name: str) -> None:
    assert loud(QUIET[name]) == []


def test_ssl_flags_no_longer_swallow_check_or_weight() -> None:
    text = config(
        "backend b\n    option httpchk GET /health\n"
        "    server s1 10.0.0.1:443 ssl verify none check weight 100\n"
        "    server s2 10.0.0.2:443 ssl verify none check\n"
    )
    assert loud(text) == [(8, "weights-skew", "error")]


def test_a_check_port_that_differs_between_equal_servers_is_a_warning() -> None:
    text = config(
        "backend app\n    option httpchk GET /health\n    server a1 a1:8080 check\n"
        "    server a2 a2:8080 check port 8081\n    server a3 a3:8080 check port 8081\n"
    )
    assert loud(text) == [(9, "check-port", "warning"), (10, "check-port", "warning")]


def test_tcp_mode_backends_without_timeouts_and_connect_only_checks() -> None:
    text = (
        "frontend pg\n    mode tcp\n    bind *:5432\n    default_backend pg\n"
        "backend pg\n    mode tcp\n    option tcp-check\n"
        "    server p1 10.0.0.1:5432 check\n    server p2 10.0.0.2:5432 check\n"
    )
    assert rules(text) >= {
        (1, "missing-timeout", "warning"),
        (5, "missing-timeout", "warning"),
        (8, "tcp-check-only", "warning"),
    }
    other = config("backend redis\n    server r1 10.0.0.1:6379 check\n    server r2 10.0.0.2:6379 check\n", "tcp")
    assert (7, "tcp-check-only", "info") in rules(other)


def test_indented_section_headers_are_sections() -> None:
    text = (
        "  defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n"
        "  backend web\n    server w1 10.0.0.1:80 weight 100\n    server w2 10.0.0.2:80\n"
        "    server w3 10.0.0.3:80 disabled\n"
    )
    assert {rule for _, rule, _ in loud(text)} >= {"weights-skew", "no-health-check", "out-of-rotation"}


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("    reqrep ^([^\\ ]*)\\ /old/(.*) \\1\\ /\\2\n", "removed in HAProxy 2.1"),
        ("    contimeout 5000\n", "removed in HAProxy 2.1"),
        ("    server s1\n", "needs a name and an address"),
        ("    server s1 10.0.0.1:80 check inter\n", "`inter` needs a value"),
        ("    server s1 10.0.0.1:80 chek\n", "`chek` is not a server keyword"),
        ("    server-template web web.local:80 check\n", "number or range"),
    ],
)
def test_configs_that_will_not_load_are_errors(line: str, needle: str) -> None:
    found = [f for f in audit_text(config("backend b\n" + line), "x.cfg") if f.rule == "wont-load"]
    assert len(found) == 1 and found[0].severity == "error" and needle in found[0].message


def test_server_lines_of_peers_and_ring_sections_are_not_proxy_servers() -> None:
    text = (
        "peers mesh\n    server lb1\n    server lb2 10.0.0.2:1024\n"
        "ring logs\n    server syslog 10.0.0.9:514 log-proto octet-count\n"
    )
    assert rules(text) == set()


def test_an_address_on_a_listen_line_will_not_load() -> None:
    assert (6, "wont-load", "error") in rules(config("listen stats :8404\n    stats enable\n"))


def test_a_huge_server_template_is_one_line_one_finding() -> None:
    found = audit_text(config("backend b\n    server-template u 100000 svc.local:80\n"), "x.cfg")
    assert [(f.line, f.rule, f.severity) for f in found] == [(7, "no-health-check", "error")]


@pytest.mark.parametrize(
    "text",
    [
        "backend b\n    server-template u 1-100000 svc:80 check\n",
        "backend\n    server\n    server a\n    default-server weight\n",
        "listen\nfrontend\nbackend x y z\n  balance\n  mode\n  timeout\n",
        "\x00\x01\x02",
        "backend b\n    server a 10.0.0.1:80 weight abc check maxconn -1 inter 1x fall zz\n",
    ],
)
def test_no_input_crashes(text: str) -> None:
    audit_text(text, "x.cfg")


TEMPLATES = {
    "jinja.cfg.j2": "backend b\n{% for s in servers %}\n    server {{ s.name }} {{ s.ip }}:80 check\n{% endfor %}\n",
    "consul.ctmpl": 'backend b\n{{ range service "web" }}    server {{ .Node }} {{ .Address }}:80\n{{ end }}\n',
    "chef.cfg.erb": "backend b\n<% @servers.each do |s| -%>\n    server <%= s %> <%= s %>:80\n<% end -%>\n",
}


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_are_refused_with_exit_2(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(TEMPLATES[name])
    with pytest.raises(UsageError, match="not a config, render it first"):
        run([path])
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 2 and "not a config, render it first" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_and_sarif_output(tmp_path: Path) -> None:
    path = tmp_path / "lb.cfg"
    path.write_text(config("backend b\n    server a 10.0.0.1:80\n    server b 10.0.0.2:80\n"))
    output, code = run([path], "json")
    assert code == 1 and {f["rule"] for f in json.loads(output)} == {"no-health-check"}
    log = json.loads(run([path], "sarif")[0])
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("no-health-check", "error")] * 2
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]} >= {"no-health-check", "wont-load"}


def test_explain_and_its_cli(tmp_path: Path) -> None:
    assert "Patroni" in explain("check-port") and "Fix:" in explain("check-port")
    with pytest.raises(UsageError, match="not a rule"):
        explain("no-such-rule")
    result = CliRunner().invoke(app, ["audit", "--explain", "hash-balance"])
    assert result.exit_code == 0 and "Why:" in result.output
    missing = CliRunner().invoke(app, ["audit", "--format", "sarif", str(tmp_path / "missing.cfg")])
    assert missing.exit_code == 2 and "cannot read it" in missing.stderr
