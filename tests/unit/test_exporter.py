"""`--metrics-port`: prometheus_client counters, a histogram, and the window's SLIs as gauges."""

import urllib.request

from telemetry.exporter import MetricsServer
from telemetry.windows import Window
from traffic.sample import Sample


def test_exporter_serves_counters_histogram_and_window_gauges() -> None:
    server = MetricsServer(0)
    try:
        window = Window(5, 400)
        for i, (status, latency) in enumerate([(200, 0.02), (200, 0.3), (503, 1.2)]):
            sample = Sample(float(i), 0.0, latency, status, 10, "app1", i)
            server.observe(sample)
            window.add(sample)
        server.latest, server.firing = window.slis(4.0), ["high-latency"]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.close()
    assert 'drill_requests_total{outcome="ok",replica="app1"} 2.0' in text
    assert 'drill_requests_total{outcome="failed",replica="app1"} 1.0' in text
    assert 'drill_request_duration_seconds_bucket{le="0.4"} 2.0' in text
    assert "drill_request_duration_seconds_count 3.0" in text
    assert "drill_p95_latency_ms 1200.0" in text and "drill_rebuffering_ratio 0.0" in text
    assert 'drill_alert_firing{rule="high-latency"} 1.0' in text
    assert 'drill_replica_share{replica="app1"} 1.0' in text
