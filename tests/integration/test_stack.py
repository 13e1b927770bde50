"""One reference stack, exercised through the balancer and from inside its network."""

from __future__ import annotations

import http.client
import json
import socket

from doors.balancer import RuntimeApi
from doors.clock import wait_for
from doors.engine import DockerEngine
from stack.rundir import RunDir, RunRecord
from tests.integration.conftest import container, served_by


def get(record: RunRecord, path: str) -> tuple[int, dict[str, str], bytes]:
    assert record.endpoints is not None
    conn = http.client.HTTPConnection("127.0.0.1", record.endpoints.lb_port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def api(record: RunRecord) -> RuntimeApi:
    assert record.endpoints is not None
    return RuntimeApi("127.0.0.1", record.endpoints.api_port)


def test_sixty_requests_through_the_balancer_reach_every_replica_evenly(stack: RunRecord) -> None:
    assert stack.endpoints is not None
    counts = served_by(stack.endpoints.url, 60)
    assert dict(counts) == {"app1": 20, "app2": 20, "app3": 20}  # roundrobin over three healthy servers


def test_the_app_serves_catalog_segments_and_metrics(stack: RunRecord) -> None:
    status, headers, body = get(stack, "/api/catalog")
    assert status == 200 and headers["x-served-by"] in {"app1", "app2", "app3"}
    assert "the-long-tango" in {title["id"] for title in json.loads(body)}
    status, headers, body = get(stack, "/stream/the-long-tango/7")
    assert status == 200 and headers["content-type"] == "video/mp2t" and len(body) == 16384
    assert get(stack, "/stream/no-such-title/1")[0] == 404
    status, _, body = get(stack, "/metrics")
    assert status == 200
    assert b'app_requests_total{replica="' in body and b"app_request_duration_seconds_bucket" in body


def test_the_database_is_a_real_dependency(engine: DockerEngine, stack: RunRecord) -> None:
    db = container(engine, stack.run_id, "db")
    db.pause()
    try:
        status, _, body = get(stack, "/api/catalog")
        assert status == 503 and b"database unavailable" in body
    finally:
        db.unpause()
    wait_for("catalog to answer again", lambda: (get(stack, "/api/catalog")[0] == 200, "still failing"), 15)


def test_runtime_api_and_stats_page_are_reachable_from_the_host(stack: RunRecord) -> None:
    servers = api(stack).servers()
    assert sorted(s.name for s in servers) == ["app1", "app2", "app3"] and all(s.up for s in servers)
    assert stack.endpoints is not None
    conn = http.client.HTTPConnection("127.0.0.1", stack.endpoints.stats_port, timeout=5)
    conn.request("GET", "/stats;csv")
    assert b"app1" in conn.getresponse().read()
    conn.close()


OVERLOAD = r"""
import asyncio, json, sys, time

async def one(path):
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("app1", 8080)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: app1\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    served = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("x-served-by")]
    return int(head.split(" ")[1]), time.monotonic() - start, served[0] if served else ""

async def main(burst):
    calm = [await one("/api/catalog") for _ in range(10)]
    storm = await asyncio.gather(*(one("/api/catalog") for _ in range(burst)))
    print(json.dumps({"calm": calm, "storm": storm}))

asyncio.run(main(int(sys.argv[1])))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_driving_one_replica_past_its_capacity_queues_then_rejects(engine: DockerEngine, stack: RunRecord) -> None:
    """From app2 inside the stack's network, 150 concurrent requests straight at app1 (capacity 8 + queue 32)."""
    code, output = engine.exec(stack.run_id, "app2", ["python3", "-c", OVERLOAD, "150"])
    assert code == 0, output
    result = json.loads(output)
    calm = [latency for status, latency, _ in result["calm"] if status == 200]
    storm_ok = [latency for status, latency, _ in result["storm"] if status == 200]
    rejected = [row for row in result["storm"] if row[0] == 503]
    assert len(calm) == 10 and all(row[2] == "app1" for row in result["storm"])
    assert rejected, "a replica past capacity + queue must answer 503"
    assert 8 <= len(storm_ok) <= 60, f"capacity 8 + queue 32 served {len(storm_ok)} of 150"
    assert pct(storm_ok, 0.9) > 2.5 * pct(calm, 0.5), (storm_ok, calm)


def test_apps_have_no_route_out_of_their_internal_network(engine: DockerEngine, stack: RunRecord) -> None:
    """The balancer's front address answers the host, but an app cannot reach it: nothing leaves `back`."""
    networks = container(engine, stack.run_id, "lb").attrs["NetworkSettings"]["Networks"]
    front_ip = next(net["IPAddress"] for name, net in networks.items() if name.endswith("_front"))
    socket.create_connection((front_ip, 8080), timeout=5).close()  # the target is there
    probe = f"import socket; socket.create_connection(({front_ip!r}, 8080), timeout=2)"
    code, output = engine.exec(stack.run_id, "app1", ["python3", "-c", probe])
    assert code != 0, "app1 reached the balancer's front network: the back network is not internal"
    assert "timed out" in output or "unreachable" in output.lower(), output


def test_editing_the_runs_balancer_config_and_reloading_takes_effect(engine: DockerEngine, stack: RunRecord) -> None:
    cfg = RunDir(stack.run_id).lb_config_dir / "haproxy.cfg"
    original = cfg.read_text()
    assert "server app3 app3:8080\n" in original

    def app3_state() -> str:
        return next(s.status for s in api(stack).servers() if s.name == "app3")

    cfg.write_text(original.replace("server app3 app3:8080\n", "server app3 app3:8080 disabled\n"))
    engine.signal(stack.run_id, "lb", "SIGUSR2")
    try:
        wait_for("app3 in maintenance after reload", lambda: (app3_state() == "MAINT", app3_state()), 20)
        assert stack.endpoints is not None
        assert set(served_by(stack.endpoints.url, 30)) == {"app1", "app2"}
    finally:
        cfg.write_text(original)
        engine.signal(stack.run_id, "lb", "SIGUSR2")
    wait_for("app3 UP after restoring the config", lambda: (app3_state().startswith("UP"), app3_state()), 20)
