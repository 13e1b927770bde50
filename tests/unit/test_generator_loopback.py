"""The generator against small real servers on loopback (no Docker): open model, HTTP/1.0 and 1.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

import pytest

from orchestration.load import LoadSpec, run_load
from telemetry.windows import Slis


class Quick(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", "solo")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class KeepAlive(Quick):
    protocol_version = "HTTP/1.1"


class Slow(Quick):
    """Takes 100 ms per request on a single-threaded server: answers queue up one behind another."""

    def do_GET(self) -> None:
        time.sleep(0.1)
        super().do_GET()


def serve(server: HTTPServer) -> Iterator[str]:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=[Quick, KeepAlive], ids=["http1.0-close", "http1.1-keepalive"])
def quick_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), request.param))


@pytest.fixture()
def slow_url() -> Iterator[str]:
    yield from serve(HTTPServer(("127.0.0.1", 0), Slow))


def test_sends_exactly_the_schedule_and_reads_every_answer(quick_url: str) -> None:
    result = run_load(LoadSpec(quick_url, rps=500, duration_s=0.2, path="/x", users=5), rules=[])
    report = result.report
    assert report.requests == 100 and report.errors == 0
    assert report.replicas == {"solo": 100} and report.bytes == 200


def test_a_slow_server_cannot_hide_behind_the_schedule(slow_url: str) -> None:
    """50 arrivals a second, one answer per 100 ms: latency from the schedule grows with the backlog.

    A closed-model client would report 100 ms for every request."""
    result = run_load(LoadSpec(slow_url, rps=50, duration_s=0.12, path="/"), rules=[])
    latencies = sorted(s.latency for s in result.samples)
    assert len(latencies) == 6 and result.report.errors == 0
    assert latencies[0] == pytest.approx(0.1, abs=0.06)
    assert latencies[-1] > 0.3, "the 6th request (due at 0.1 s) waited behind 5 others (answered at 0.6 s)"


@pytest.fixture()
def keep_alive_url() -> Iterator[str]:
    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive))


def test_a_pause_between_two_monitor_ticks_is_a_stall_not_the_stack(keep_alive_url: str) -> None:
    """The loop is blocked 0.4 s right after a tick (the monitor wakes on time for the next one):
    the generator's schedule loop sees it, the load counts one stall and the windows it taints
    are marked held up, so no rule judges them."""
    paused: list[float] = []
    held_up: list[bool] = []

    def tick(slis: Slis) -> None:
        held_up.append(slis.held_up)
        if slis.at >= 0.4 and not paused:
            paused.append(slis.at)
            time.sleep(0.4)  # blocks the event loop the monitor and the generator share

    result = run_load(LoadSpec(keep_alive_url, rps=100, duration_s=1.0, path="/x"), rules=[], on_tick=tick)
    assert paused and result.stalls == 1
    assert held_up[-1], "the window after the pause is not judged"
