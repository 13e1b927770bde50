"""--validate: the balancer's own check, its output read into findings."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from chaos import validate
from drills.errors import UsageError

# Written for these tests in the shape of HAProxy 2.6's `haproxy -c` output.
HAPROXY_OUTPUT = """\
[NOTICE]   (101) : haproxy version is 2.6.12
[ALERT]    (101) : config : parsing [/tmp/drill-validate-x/haproxy.cfg:14] : the 'contimeout' directive is \
not supported anymore since HAProxy 2.1. Use 'timeout connect'.
[ALERT]    (101) : config : [/tmp/drill-validate-x/haproxy.cfg:22] : 'server web/w1' : unknown keyword 'chek'.
[ALERT]    (101) : config : [/tmp/drill-validate-x/haproxy.cfg:30] : 'server db/p1' : could not resolve address 'pg1'.
[WARNING]  (101) : config : 'option forwardfor' ignored for backend 'ssh' as it requires HTTP mode.
[WARNING]  (101) : config : missing timeouts for backend 'ssh'.
   | While not properly invalid, you will certainly encounter various problems
   | with such a configuration.
[ALERT]    (101) : config : Error(s) found in configuration file : /tmp/drill-validate-x/haproxy.cfg
[ALERT]    (101) : config : Fatal errors found in configuration.
"""

# Written for these tests in the shape of nginx 1.22's `nginx -t -e stderr` output.
NGINX_OUTPUT = """\
nginx: [warn] the "user" directive makes sense only if the master process runs with super-user privileges, \
ignored in /tmp/drill-validate-y/audited.conf:1
nginx: [emerg] invalid number of arguments in "server" directive in /tmp/drill-validate-y/audited.conf:7
nginx: [emerg] host not found in upstream "web1:80" in /tmp/drill-validate-y/audited.conf:3
nginx: configuration file /tmp/drill-validate-y/nginx.conf test failed
"""


def test_haproxy_alerts_and_warnings_with_their_lines() -> None:
    messages = validate.parse_haproxy(HAPROXY_OUTPUT, {"ssh": 19})
    assert [(m.severity, m.line) for m in messages] == [
        ("error", 14),
        ("error", 22),
        ("error", 30),
        ("warning", 19),
        ("warning", 19),
    ]
    assert messages[1].text == "'server web/w1' : unknown keyword 'chek'."
    assert "with such a configuration." in messages[4].text


def test_nginx_messages_with_their_lines() -> None:
    messages = validate.parse_nginx(NGINX_OUTPUT)
    assert [(m.severity, m.line) for m in messages] == [("warning", 1), ("error", 7), ("error", 3)]
    assert messages[1].text == 'invalid number of arguments in "server" directive'


def test_messages_about_another_machine_are_information(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "run_haproxy", lambda text: HAPROXY_OUTPUT)
    found = validate.check("ignored", "haproxy", "lb.cfg", {"ssh": 19})
    assert [(f.line, f.severity) for f in found] == [
        (14, "error"),
        (22, "error"),
        (30, "info"),
        (19, "warning"),
        (19, "warning"),
    ]
    assert {f.rule for f in found} == {"balancer-check"}


def test_without_a_local_haproxy_the_drill_lb_image_checks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], str | None]] = []

    def run(command: list[str], input: str | None, **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append((command, input))
        return subprocess.CompletedProcess(command, 0, "", "Configuration file is valid\n")

    monkeypatch.setattr(validate.shutil, "which", lambda name: "/usr/bin/docker" if name == "docker" else None)
    monkeypatch.setattr(validate.subprocess, "run", run)
    assert validate.check("backend b\n", "haproxy", "lb.cfg") == []
    assert calls == [
        (["docker", "run", "--rm", "-i", "drill/lb:latest", "haproxy", "-c", "-f", "/dev/stdin"], "backend b\n")
    ]
    with pytest.raises(UsageError, match="nginx"):
        validate.check("upstream a { server b; }", "nginx", "n.conf")


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs a local haproxy binary")
def test_real_local_haproxy_check() -> None:
    """Runs the real `haproxy -c` found on PATH (skipped without one)."""
    text = "defaults\n    mode http\n    contimeout 5s\nbackend b\n    server a 127.0.0.1:80 chek\n"
    found = validate.check(text, "haproxy", "lb.cfg", {"b": 4})
    assert {(f.line, f.severity) for f in found} >= {(3, "error"), (5, "error")}
