from pathlib import Path

import pytest
import yaml

from drills.errors import UsageError
from stack.resources import compose_file, haproxy_template, images_dir
from stack.spec import StackSpec, render_compose, render_config, stack_env


@pytest.fixture()
def source() -> dict:
    return yaml.safe_load(compose_file().read_text())


def test_replicas_are_expanded_from_app1(source: dict) -> None:
    doc = render_compose(source, StackSpec(replicas=5))
    apps = sorted(name for name in doc["services"] if name.startswith("app"))
    assert apps == ["app1", "app2", "app3", "app4", "app5"]
    assert [doc["services"][a]["environment"]["REPLICA_NAME"] for a in apps] == apps
    assert doc["services"]["lb"]["depends_on"] == apps


def test_fewer_replicas_than_the_file_drops_the_rest(source: dict) -> None:
    doc = render_compose(source, StackSpec(replicas=1))
    assert sorted(doc["services"]) == ["app1", "db", "lb"]


def test_rendered_file_builds_nothing_and_keeps_variables(source: dict) -> None:
    doc = render_compose(source, StackSpec(replicas=2))
    assert all("build" not in service for service in doc["services"].values())
    assert doc["services"]["lb"]["image"].startswith("${DRILL_LB_IMAGE")
    assert not any(key.startswith("x-") for key in doc)


def test_every_service_and_network_carries_the_run_label(source: dict) -> None:
    doc = render_compose(source, StackSpec(replicas=3))
    for name, service in doc["services"].items():
        assert service["labels"]["drill.run"] == "${DRILL_RUN_ID:-manual}", name
        assert service.get("init") is True, f"{name} needs init: true to stop fast"
    for network in doc["networks"].values():
        assert network["labels"]["drill.managed"] == "true"
    assert doc["networks"]["back"]["internal"] is True


def test_ports_are_published_on_loopback_only(source: dict) -> None:
    for service in source["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_stack_env_leaves_ports_to_docker_unless_given() -> None:
    env = stack_env("abc123", StackSpec(), "/runs/abc123/lb")
    assert env["DRILL_LB_PORT"] == "" and env["DRILL_RUN_ID"] == "abc123"
    assert stack_env("abc123", StackSpec(lb_port=18080), "/x")["DRILL_LB_PORT"] == "18080"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"replicas": 0}, "--replicas must be between 1 and"), ({"lb_port": 70000}, "--port must be a TCP port")],
)
def test_bad_spec_says_what_would_be_right(kwargs: dict, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        StackSpec(**kwargs)


def test_shipped_default_balancer_config_is_the_rendered_one() -> None:
    """docker-compose.yml run by hand mounts stack/lb/default; it must not drift from the template."""
    shipped = (images_dir() / "lb" / "default" / "haproxy.cfg").read_text()
    assert shipped == render_config(haproxy_template(), 3)


def test_balancer_config_lists_one_checked_server_per_replica() -> None:
    cfg = render_config(haproxy_template(), 4)
    servers = [line.split()[1] for line in cfg.splitlines() if line.strip().startswith("server ")]
    assert servers == ["app1", "app2", "app3", "app4"]
    assert "balance roundrobin" in cfg and "option httpchk GET /health" in cfg
    assert "level admin" in cfg
    with pytest.raises(ValueError):
        render_config(haproxy_template(), 0)


def test_compose_file_is_found_in_a_checkout() -> None:
    assert compose_file().name == "docker-compose.yml"
    assert Path(compose_file()).is_file()
