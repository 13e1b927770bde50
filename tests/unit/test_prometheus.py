"""Prometheus for runs with monitoring: the scrape config, the drill's rules as alerting rules,
and the compose service only where asked for."""

import yaml

from drills.rules import default_rules
from stack.prometheus import alerting_rules, scrape_config
from stack.resources import compose_file
from stack.spec import IMAGES, StackSpec, render_compose, stack_env


def test_scrapes_the_balancer_exporter_and_every_replica() -> None:
    doc = yaml.safe_load(scrape_config(4))
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in doc["scrape_configs"]}
    assert targets == {"haproxy": ["lb:8404"], "app": ["app1:8080", "app2:8080", "app3:8080", "app4:8080"]}
    assert doc["rule_files"] == ["/etc/drill-prom/rules.yml"]


def test_the_drills_rules_become_alerting_rules_where_the_servers_can_see_them() -> None:
    groups = yaml.safe_load(alerting_rules(default_rules()))["groups"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    latency = next(r for r in default_rules() if r.sli == "p95_latency_ms")
    assert rules[latency.name]["expr"].startswith("(1000 * histogram_quantile(0.95, sum by (le)")
    assert rules[latency.name]["expr"].endswith(f") > {latency.threshold:g}")
    assert rules[latency.name]["for"] == f"{latency.hold_s:g}s"
    assert all("audience" not in r["expr"] for r in rules.values())


def test_compose_has_prometheus_only_with_monitoring() -> None:
    source = yaml.safe_load(compose_file().read_text())
    assert "prometheus" not in render_compose(source, StackSpec(3))["services"]
    with_it = render_compose(source, StackSpec(3, monitoring=True))["services"]
    assert "prometheus" in with_it and "build" not in with_it["prometheus"]
    assert StackSpec(3, monitoring=True).services[-1] == "prometheus"
    assert IMAGES["prometheus"] in StackSpec(3, monitoring=True).images
    assert IMAGES["prometheus"] not in StackSpec(3).images
    env = stack_env("abc123", StackSpec(3, monitoring=True), "/x/lb", (1, 2, 3), "h", "/x/prometheus")
    assert env["DRILL_PROM_CONFIG_DIR"] == "/x/prometheus" and env["DRILL_PROM_IMAGE"] == IMAGES["prometheus"]
