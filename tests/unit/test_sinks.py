"""Alert sinks and the metrics exporter, over real loopback sockets (no Docker)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from drills.errors import UsageError
from telemetry.exporter import MetricsServer, render_prometheus
from telemetry.rules import AlertEvent
from telemetry.sinks import WebhookSink, slack_payload
from telemetry.windows import Slis

EVENT = AlertEvent("alert_fired", "high-latency", "p95_latency_ms > 400 for 3s", 12.5, 612.0, {"error_rate": 0.0})
SLIS = Slis(9.0, 5.0, 500, 100.0, 0.01, 0, 20.0, 30.0, 40.0, 50.0, {"app1": 0.6, "app2": 0.4}, {}, 0.1, 0.96, 50, 0.2)


class Received(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Received.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_webhook_posts_slack_json() -> None:
    server = HTTPServer(("127.0.0.1", 0), Received)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True).start()
    sink = WebhookSink(f"http://127.0.0.1:{server.server_address[1]}/hook")
    try:
        sink.send(EVENT)
        sink.close()
    finally:
        server.shutdown()
        server.server_close()
    assert sink.delivered == 1
    assert Received.bodies[-1] == slack_payload(EVENT)
    assert "high-latency FIRED" in str(Received.bodies[-1]["text"])


def test_a_dead_webhook_never_stalls_the_caller() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once this closes
    sink = WebhookSink(f"http://127.0.0.1:{port}/hook", attempts=2, backoff_s=0.01)
    started = time.monotonic()
    for _ in range(2):
        sink.send(EVENT)
    assert time.monotonic() - started < 0.2, "send() must only enqueue"
    sink.close()
    assert sink.delivered == 0 and sink.dropped == 2


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://hooks.example.invalid/services/T0/B0/secret", "expected an http(s) URL"),
        ("hooks.example.invalid/services/T0/B0/secret", "expected an http(s) URL"),
        ("https:///services/T0/B0/secret", "expected an http(s) URL"),
        ("https://me:pw@hooks.example.invalid/services/T0/B0/secret", "no user:password@"),
        ("https://hooks.example.invalid:99999/services/T0/B0/secret", "the port is not a number"),
    ],
)
def test_a_webhook_must_be_an_http_url_and_its_secret_path_is_not_shown(url: str, needle: str) -> None:
    with pytest.raises(UsageError, match="--webhook") as caught:
        WebhookSink(url)
    assert needle in str(caught.value) and "secret" not in str(caught.value)


def test_any_https_webhook_is_accepted_without_sending_anything() -> None:
    """A Slack incoming webhook's URL: accepted (nothing is posted until an alert is sent)."""
    sink = WebhookSink("https://hooks.slack.com/services/T0/B0/secret")
    sink.close()
    assert sink.delivered == sink.dropped == 0 and sink.shown == "https://hooks.slack.com/..."


def test_prometheus_text_carries_slis_shares_and_firing_rules() -> None:
    text = render_prometheus(SLIS, ["high-latency"])
    assert "drill_p95_latency_ms 30.0\n" in text
    assert 'drill_replica_share{replica="app1"} 0.6' in text
    assert 'drill_alert_firing{rule="high-latency"} 1.0' in text


def test_metrics_server_serves_on_loopback_and_refuses_a_taken_port() -> None:
    server = MetricsServer(0)
    try:
        server.latest = SLIS
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            assert b"drill_error_rate 0.01" in response.read()
        with pytest.raises(UsageError, match=f"--metrics-port {server.port}: cannot listen"):
            MetricsServer(server.port)
    finally:
        server.close()


class Slack(BaseHTTPRequestHandler):
    """Answers as a Slack incoming webhook does: 200 "ok", or a status with a one-word reason."""

    status: ClassVar[int] = 200
    posts: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Slack.posts += 1
        body = b"ok" if Slack.status == 200 else b"no_service\n"
        self.send_response(Slack.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.mark.parametrize(
    ("status", "posts", "delivered"),
    [(200, 1, 1), (404, 1, 0), (400, 1, 0), (403, 1, 0), (429, 2, 0), (500, 2, 0), (503, 2, 0)],
)
def test_a_refusal_is_not_retried_and_its_reason_is_reported(status: int, posts: int, delivered: int) -> None:
    Slack.status, Slack.posts = status, 0
    server = HTTPServer(("127.0.0.1", 0), Slack)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True).start()
    port = server.server_address[1]
    sink = WebhookSink(f"http://127.0.0.1:{port}/services/T0/B0/secret", attempts=2, backoff_s=0.01)
    try:
        sink.send(EVENT)
        sink.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (Slack.posts, sink.delivered, sink.dropped) == (posts, delivered, 1 - delivered)
    if not delivered:
        assert sink.last_failure == f"{status} no_service"
        assert (
            sink.summary()
            == f"webhook http://127.0.0.1:{port}/...: 1 of 1 alerts not delivered (last: {sink.last_failure})"
        )
