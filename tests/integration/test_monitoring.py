"""Monitoring like at work: a run with Prometheus answers PromQL for per-server request rates
during a load, with the drill's rules loaded as alerting rules, and one of them fires when a
balancer fault overloads a replica."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

from doors.clock import wait_for
from doors.engine import DockerEngine
from drills.rules import default_rules
from stack import provision
from stack.spec import AppSettings, StackSpec

from .conftest import doors_of, drill_cli, stop


def promql(base: str, path: str, query: str | None = None) -> dict[str, Any]:
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode({'query': query})}" if query else "")
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def firing(base: str) -> set[str]:
    alerts = promql(base, "/api/v1/alerts")["data"]["alerts"]
    return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}


def fired(base: str, name: str) -> tuple[bool, str]:
    now = firing(base)
    return name in now, f"firing: {sorted(now) or 'none'}"


def test_prometheus_answers_per_server_request_rates_during_a_run(engine: DockerEngine) -> None:
    # traffic-tango's replicas (87 req/s each, deep queues): one alone cannot carry 150 req/s
    app = AppSettings(capacity=2, service_ms=23, queue=180)
    spec = StackSpec(replicas=3, app=app, monitoring=True, alert_rules=tuple(default_rules()))
    record = provision.up(doors_of(engine), spec, progress=lambda line: None)
    try:
        assert record.endpoints is not None and record.endpoints.prometheus_url.startswith("http://127.0.0.1:")
        base = record.endpoints.prometheus_url
        done = drill_cli("load", "--run", record.run_id, "--rps", "90", "--duration", "12", "--json", timeout=60)
        assert done.returncode == 0, done.stderr
        query = 'sum by (server) (rate(haproxy_server_http_responses_total{proxy="app"}[10s]))'

        def probe() -> tuple[bool, str]:
            rates = {
                r["metric"]["server"]: float(r["value"][1])
                for r in promql(base, "/api/v1/query", query)["data"]["result"]
            }
            return sorted(rates) == ["app1", "app2", "app3"] and all(v > 5 for v in rates.values()), str(rates)

        wait_for("Prometheus to show every replica's request rate", probe, 20)
        rules = promql(base, "/api/v1/rules")["data"]["groups"][0]["rules"]
        assert {r["name"] for r in rules} >= {"high-latency", "errors"}
        targets = promql(base, "/api/v1/targets")["data"]["activeTargets"]
        assert len(targets) == 4 and all(t["health"] == "up" for t in targets)
        status = drill_cli("status", record.run_id)
        assert base in status.stdout
        assert not firing(base)
        broken = drill_cli("chaos", "inject", "lb.health-check-broken", "--run", record.run_id, timeout=60)
        assert broken.returncode == 0, broken.stderr
        command = [sys.executable, "-m", "cli.main", "load", "--run", record.run_id, "--rps", "150", "--duration", "30"]
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as load:
            try:  # during the load: pending for the rule's hold, then firing
                wait_for("Prometheus to fire the latency rule", lambda: fired(base, "high-latency"), 28)
            finally:
                load.kill()
    finally:
        stop(engine, record.run_id)
