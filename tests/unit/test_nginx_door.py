"""The nginx door: its probe's answer parsed, whether the running nginx runs the file on disk,
the upstream read into the BalancerState the other layers read, per-replica counts from the
access log, and the runtime API's commands refused with what to do instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from doors.fakes_nginx import FakeNginx
from doors.nginx import NginxBalancer, NginxReading, parse_probe, parse_upstream
from drills.errors import DrillError
from stack.nginx import nginx_template, render_nginx_config

# As the real PROBE printed it in a drill/lb-nginx container (the /proc lines cut after field 22).
PROBE_OUTPUT = """@mtime 1796079070.577772960
@now 1796079082.351182575 12270.83 16395.00
@hz 100
@master 8
@stat 1 (docker-init) S 0 1 1 0 -1 4194560 1140 0 0 0 1 1 0 0 20 0 1 0 1226227 1044480
@stat 8 (nginx) S 1 8 1 0 -1 4194560 382 0 0 0 0 0 0 0 20 0 1 0 1226258 10637312
@stat 9 (nginx) S 8 8 1 0 -1 4194624 247 0 0 0 7 26 0 0 20 0 1 0 1226259 11255808
@stat 31 (nginx) S 8 8 1 0 -1 4194624 247 0 0 0 7 26 0 0 20 0 1 0 1227300 11255808
@stat 40 (sh) S 0 40 40 0 -1 4194560 888 376 0 0 1 0 0 0 20 0 1 0 1228000 2654208
@config
nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
nginx: configuration file /etc/nginx/nginx.conf test is successful
# configuration file /etc/nginx/nginx.conf:
upstream app {
    ip_hash;
    server app1:8080 max_fails=3 fail_timeout=10s;
}
@rc 0
"""


def test_the_probe_finds_the_masters_workers_and_when_the_newest_started() -> None:
    reading = parse_probe(PROBE_OUTPUT)
    boot = 1796079082.351182575 - 12270.83
    assert [pid for pid, _ in reading.workers] == [9, 31], "the master (8) and other processes are not workers"
    assert reading.newest_worker == 31
    assert reading.generation == pytest.approx(boot + 12273.00)
    assert reading.config.startswith("# configuration file") and "nginx: " not in reading.config
    assert reading.loaded, "a worker started after the file's last change runs it"
    edited_later = NginxReading(reading.config, "", reading.generation + 1.0, reading.workers)
    assert not edited_later.loaded


def test_a_config_nginx_refuses_has_no_text_and_says_why() -> None:
    refused = PROBE_OUTPUT.split("@config\n")[0] + (
        '@config\n2026/11/30 22:47:23 [emerg] 265#265: host not found in upstream "app9:8080" in n.conf:23\n'
        "nginx: configuration file /etc/nginx/nginx.conf test failed\n@rc 1\n"
    )
    reading = parse_probe(refused)
    assert reading.config == "" and not reading.loaded
    assert reading.error.endswith('host not found in upstream "app9:8080" in n.conf:23'), reading.error
    door = NginxBalancer(Replay(refused))
    assert door.state().algo.startswith("unknown (2026/11/30 22:47:23 [emerg]") and door.state().stats == ()
    warned = PROBE_OUTPUT.replace("@config\n", "@config\n2026/11/30 22:47:23 [warn] 1#1: a warning\n")
    assert "[warn]" not in parse_probe(warned).config, "nginx's messages are not part of the config"


class Replay:
    """An NginxProcess that answers every read with one recorded probe output."""

    def __init__(self, output: str) -> None:
        self.output = output

    def read(self) -> NginxReading:
        return parse_probe(self.output)

    def access_log(self, offset: int) -> tuple[bytes, int]:
        return b"", offset


def test_the_upstream_as_a_balancer_state() -> None:
    text = render_nginx_config(nginx_template(), 3).replace("server app1:8080", "hash $remote_addr;\nserver app1:8080")
    text = text.replace("app2:8080 max_fails=3 fail_timeout=10s;", "app2:8080 weight=5 down;")
    upstream = parse_upstream(text)
    assert upstream.method == "hash $remote_addr"
    assert [name for name, _ in upstream.servers] == ["app1", "app2", "app3"]
    assert parse_upstream("http {}\n").servers == ()


@pytest.fixture
def nginx(tmp_path: Path) -> FakeNginx:
    config = tmp_path / "nginx.conf"
    config.write_text(render_nginx_config(nginx_template(), 3))
    return FakeNginx(config)


def test_state_reads_weights_down_backup_and_counts(nginx: FakeNginx) -> None:
    door = NginxBalancer(nginx)
    text = nginx.config.read_text()
    text = text.replace("app1:8080 max_fails=3 fail_timeout=10s;", "app1:8080 weight=7;")
    text = text.replace("app2:8080 max_fails=3 fail_timeout=10s;", "app2:8080 down;")
    nginx.config.write_text(text.replace("app3:8080 max_fails=3 fail_timeout=10s;", "app3:8080 backup;"))
    nginx.reload()
    nginx.serve("app1", times=3)
    nginx.serve("app1", status=503)
    nginx.log.append('172.18.0.1 [..] "GET / HTTP/1.1" 502 0 rt=0.001 upstream=- replica=-')
    state = door.state()
    assert state.algo == "roundrobin"
    assert [(s.name, s.status, s.weight) for s in state.stats] == [
        ("app1", "UP", 7),
        ("app2", "MAINT", 1),
        ("app3", "UP backup", 1),
    ]
    assert state.stat("app1") is not None and state.stat("app1").responses == {"hrsp_2xx": 3, "hrsp_5xx": 1}  # type: ignore[union-attr]
    assert state.state("app2") is not None and state.state("app2").maintenance  # type: ignore[union-attr]
    nginx.serve("app2", times=2)
    assert {s.name: s.sessions_total for s in door.servers()} == {"app1": 4, "app2": 2, "app3": 0}


def test_an_edit_without_a_reload_is_not_what_runs(nginx: FakeNginx) -> None:
    door = NginxBalancer(nginx)
    before = door.state()
    assert before.config and before.algo == "roundrobin"
    nginx.config.write_text(nginx.config.read_text().replace("upstream app {", "upstream app {\n    ip_hash;"))
    still = door.state()
    assert still.algo == "roundrobin", "edited, not reloaded: the door knows what was loaded before"
    assert NginxBalancer(nginx).state().config == "", "a fresh door cannot know: it says so"
    worker = door.worker_pid()
    nginx.reload()
    assert door.worker_pid() != worker and door.state().algo == "ip_hash"


def test_a_reload_nginx_refuses_keeps_the_old_config_running(nginx: FakeNginx) -> None:
    door = NginxBalancer(nginx)
    door.state()
    nginx.config.write_text(nginx.config.read_text() + "}\n")
    nginx.reload()
    state = door.state()
    assert state.algo == "roundrobin" and state.config, "the last loaded config still runs"
    assert "unexpected end of file" in nginx.read().error


def test_the_runtime_api_is_refused_with_what_to_do() -> None:
    door = NginxBalancer(FakeNginx.__new__(FakeNginx))
    with pytest.raises(DrillError, match=r"no runtime API.*nginx -s reload"):
        door.run("set weight app/app1 1")
    with pytest.raises(DrillError, match="no runtime API"):
        door.command("show stat")
