"""Monitoring like at work: a run with Prometheus answers PromQL for per-server request rates
during a load, with the drill's rules loaded as alerting rules."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from doors.clock import wait_for
from doors.engine import DockerEngine
from stack import provision
from stack.spec import StackSpec

from .conftest import doors_of, drill_cli, stop


def promql(base: str, path: str, query: str | None = None) -> dict[str, Any]:
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode({'query': query})}" if query else "")
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_prometheus_answers_per_server_request_rates_during_a_run(engine: DockerEngine) -> None:
    record = provision.up(doors_of(engine), StackSpec(replicas=3, monitoring=True), progress=lambda line: None)
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
    finally:
        stop(engine, record.run_id)
