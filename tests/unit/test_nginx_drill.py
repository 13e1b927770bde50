"""`stack.balancer: nginx` in a drill file: loaded, refused when wrong (one line with its place),
faults kept to their balancer, the stack rendered with the nginx image, and `drill list` showing
drills across both balancers."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from drills import loader
from drills.errors import UsageError
from drills.loader import DrillFileError
from playbooks.checks import CHECKS
from stack.resources import compose_file
from stack.spec import IMAGES, StackSpec, render_compose, stack_env

MINIMAL = "name: n\nstack:\n  balancer: {balancer}\nfaults:\n  - fault: {fault}\nroot_cause: {{category: balancer}}\n"


def test_the_built_in_nginx_drill_loads_with_every_nginx_fault() -> None:
    drill = loader.load_file(loader.builtin_files()["traffic-tango-nginx"], CHECKS)
    assert drill.balancer == "nginx" and drill.playbook == "traffic-tango-nginx.md"
    assert {v.fault for v in drill.variants} == {
        "nginx.ip-hash",
        "nginx.weights-skew",
        "nginx.down",
        "nginx.backup",
        "nginx.max-fails",
    }
    assert loader.load_file(loader.builtin_files()["traffic-tango"], CHECKS).balancer == "haproxy"


@pytest.mark.parametrize(
    ("balancer", "fault", "message"),
    [
        ("apache", "container.kill", "f.yaml:3: stack.balancer: expected one of haproxy, nginx, got 'apache'"),
        ("haproxy", "nginx.ip-hash", "f.yaml:5: faults[0].fault: nginx.ip-hash is a fault of nginx, and stack"),
        ("nginx", "lb.source-hash", "f.yaml:5: faults[0].fault: lb.source-hash is a fault of haproxy, and stack"),
    ],
)
def test_a_wrong_balancer_or_a_fault_for_the_other_one_is_refused(balancer: str, fault: str, message: str) -> None:
    with pytest.raises(DrillFileError) as caught:
        loader.load(MINIMAL.format(balancer=balancer, fault=fault), "f.yaml", CHECKS)
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  monitoring: true", "f.yaml:4: stack.monitoring: the stack's Prometheus scrapes HAProxy's exporter"),
        ("  app: {image: shop:1.4}", "f.yaml:4: stack.app: your own app runs behind HAProxy only"),
    ],
)
def test_what_an_nginx_stack_does_not_do_yet_is_refused_at_its_line(line: str, message: str) -> None:
    text = MINIMAL.format(balancer="nginx", fault="nginx.down").replace(
        "  balancer: nginx\n", f"  balancer: nginx\n{line}\n"
    )
    with pytest.raises(DrillFileError) as caught:
        loader.load(text, "f.yaml", CHECKS)
    assert str(caught.value).startswith(message), str(caught.value)
    loader.load(
        text.replace("balancer: nginx", "balancer: haproxy").replace("nginx.down", "lb.drained"), "f.yaml", CHECKS
    )


def test_container_faults_fit_either_balancer() -> None:
    drill = loader.load(MINIMAL.format(balancer="nginx", fault="container.kill"), "f.yaml", CHECKS)
    assert drill.balancer == "nginx"


def test_the_nginx_stack_renders_its_own_lb_service() -> None:
    spec = StackSpec(replicas=2, balancer="nginx")
    assert spec.images[0] == IMAGES["lb-nginx"]
    doc = render_compose(yaml.safe_load(compose_file().read_text()), spec)
    lb = doc["services"]["lb"]
    assert not any(str(port).endswith(":9999") for port in lb["ports"]), "nginx has no runtime API to publish"
    assert any(v.endswith(":/var/log/drill") for v in lb["volumes"]), "the access log lands in the run directory"
    assert stack_env("abc123", spec, "/x")["DRILL_LB_IMAGE"] == IMAGES["lb-nginx"]
    haproxy = render_compose(yaml.safe_load(compose_file().read_text()), StackSpec(replicas=2))["services"]["lb"]
    assert any(str(port).endswith(":9999") for port in haproxy["ports"]), "the HAProxy stack is unchanged"
    with pytest.raises(UsageError, match="--balancer must be one of haproxy, nginx"):
        StackSpec(balancer="traefik")


def test_drill_list_shows_drills_across_both_balancers() -> None:
    done = CliRunner().invoke(app, ["list", "--json"])
    assert done.exit_code == 0, done.output
    rows = {row["name"]: row for row in json.loads(done.output)}
    assert rows["traffic-tango-nginx"]["balancer"] == "nginx" and rows["traffic-tango"]["balancer"] == "haproxy"
    shown = CliRunner().invoke(app, ["show", "traffic-tango-nginx"])
    assert "a balancer (nginx)" in shown.output


def test_drill_status_tells_a_responder_how_to_reload_and_read_nginx() -> None:
    from cli.stack import balancer_line

    nginx = balancer_line("abc123", {"balancer": "nginx", "stats_url": "http://127.0.0.1:5/status"})
    assert nginx.startswith("nginx status http://127.0.0.1:5/status  config ") and "lb/nginx.conf" in nginx
    assert "docker exec drill-abc123_lb_1 nginx -s reload" in nginx and "docker logs drill-abc123_lb_1" in nginx
    haproxy = balancer_line("abc123", {"stats_url": "http://127.0.0.1:5/stats", "runtime_api": "127.0.0.1:6"})
    assert haproxy.startswith("stats http://127.0.0.1:5/stats  runtime API 127.0.0.1:6  config ")
