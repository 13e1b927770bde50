"""The monitor's figures for Prometheus on 127.0.0.1 (`--metrics-port`), through prometheus_client.

Real counters and a latency histogram, fed every answer (so PromQL's rate() and
histogram_quantile() work over any range), plus the monitor's window SLIs and the alerts
firing as gauges read at scrape time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, make_wsgi_app
from prometheus_client.registry import Collector

from drills.errors import UsageError
from drills.rules import SLI_NAMES
from telemetry.windows import Slis
from traffic.sample import Sample

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)


class _WindowCollector(Collector):
    """The latest window's SLIs, shares and firing alerts, as gauges."""

    def __init__(self, read: Callable[[], tuple[Slis | None, list[str]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        slis, firing = self._read()
        if slis is None:
            return
        for name in SLI_NAMES:
            yield GaugeMetricFamily(f"drill_{name}", f"{name} over the monitor's sliding window", slis.value(name))
        share = GaugeMetricFamily("drill_replica_share", "each replica's share in the window", labels=["replica"])
        for replica, value in sorted(slis.shares.items()):
            share.add_metric([replica], value)
        yield share
        expected = GaugeMetricFamily(
            "drill_replica_expected_share", "the share the balancer's weights give", labels=["replica"]
        )
        for replica, value in sorted(slis.expected_shares.items()):
            expected.add_metric([replica], value)
        yield expected
        alerts = GaugeMetricFamily("drill_alert_firing", "1 while the rule fires", labels=["rule"])
        for rule in firing:
            alerts.add_metric([rule], 1.0)
        yield alerts


def render_prometheus(slis: Slis | None, firing: list[str]) -> str:
    """The window's gauges alone, in the text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WindowCollector(lambda: (slis, firing)))
    return generate_latest(registry).decode()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


class MetricsServer:
    def __init__(self, port: int) -> None:
        self.latest: Slis | None = None
        self.firing: list[str] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_WindowCollector(lambda: (self.latest, self.firing)))
        self._requests = Counter(
            "drill_requests", "answers by replica and outcome", ["replica", "outcome"], registry=self.registry
        )
        self._latency = Histogram(
            "drill_request_duration_seconds",
            "latency from the scheduled send (open model)",
            buckets=BUCKETS_S,
            registry=self.registry,
        )
        try:
            self._server = make_server(
                "127.0.0.1", port, make_wsgi_app(self.registry), ThreadingWSGIServer, handler_class=_Quiet
            )
        except OSError as exc:
            raise UsageError(f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
        # start_http_server's thread polls for shutdown every 0.5 s, which every close() waited out.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="drill-metrics", daemon=True
        )
        self._thread.start()
        self.port = self._server.server_address[1]

    def observe(self, sample: Sample) -> None:
        outcome = "failed" if sample.failed else "ok"
        self._requests.labels(sample.replica or "none", outcome).inc()
        self._latency.observe(sample.latency)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
