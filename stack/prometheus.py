"""Prometheus for a run that asks for it: the scrape config and the drill's alert rules as
Prometheus alerting rules. Pure: text from the stack's shape and the rules.

Prometheus sees the servers' side (HAProxy's built-in exporter, each replica's /metrics), not
the viewers': rules on the client-side SLIs with a server-side equal are translated (latency
from the replicas' histogram, errors and shares from the balancer's counters); the others
(the audience's stalls and rebuffering, fairness) stay with drill's own monitor.
"""

from __future__ import annotations

from doors import yamlfile
from drills.rules import AlertRule

SCRAPE_S = 2  # often enough for a drill's seconds-long alerts; cheap enough for dense game days
RANGE = "10s"

# The drill's SLI names as PromQL over what the stack exports.
HISTOGRAM = f"sum by (le) (rate(app_request_duration_seconds_bucket[{RANGE}]))"

# The drill's SLI names as PromQL over what the stack exports.
EXPRESSIONS = {
    "p50_latency_ms": f"1000 * histogram_quantile(0.50, {HISTOGRAM})",
    "p95_latency_ms": f"1000 * histogram_quantile(0.95, {HISTOGRAM})",
    "p99_latency_ms": f"1000 * histogram_quantile(0.99, {HISTOGRAM})",
    "error_rate": (
        f'sum(rate(haproxy_backend_http_responses_total{{proxy="app",code="5xx"}}[{RANGE}])) '
        f'/ sum(rate(haproxy_backend_http_responses_total{{proxy="app"}}[{RANGE}]))'
    ),
    "rate": f'sum(rate(haproxy_backend_http_responses_total{{proxy="app"}}[{RANGE}]))',
    "max_share_skew": (
        f'max(sum by (server) (rate(haproxy_server_http_responses_total{{proxy="app"}}[{RANGE}]))) '
        f'/ sum(rate(haproxy_server_http_responses_total{{proxy="app"}}[{RANGE}])) '
        f'- 1 / count(haproxy_server_weight{{proxy="app"}})'
    ),
}


def scrape_config(replicas: int) -> str:
    """prometheus.yml: the balancer's exporter (stats port) and every replica's /metrics."""
    doc = {
        "global": {"scrape_interval": f"{SCRAPE_S}s", "evaluation_interval": f"{SCRAPE_S}s"},
        "rule_files": ["/etc/drill-prom/rules.yml"],
        "scrape_configs": [
            {"job_name": "haproxy", "static_configs": [{"targets": ["lb:8404"]}]},
            {
                "job_name": "app",
                "static_configs": [{"targets": [f"app{i}:8080" for i in range(1, replicas + 1)]}],
            },
        ],
    }
    return yamlfile.dump(doc)


def alerting_rules(rules: tuple[AlertRule, ...] | list[AlertRule]) -> str:
    """rules.yml: each drill rule with a server-side equal, with its threshold and hold."""
    entries = []
    for rule in rules:
        expression = EXPRESSIONS.get(rule.sli)
        if expression is None:
            continue
        entries.append(
            {
                "alert": rule.name,
                "expr": f"({expression}) {rule.op} {rule.threshold:g}",
                "for": f"{rule.hold_s:g}s",
                "labels": {"source": "drill"},
                "annotations": {"summary": f"{rule.expression} (drill's rule, server side)"},
            }
        )
    return yamlfile.dump({"groups": [{"name": "drill", "rules": entries}]})
