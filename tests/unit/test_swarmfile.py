"""The compose document adapted for `docker stack deploy` (doors.swarmfile) and the runtime setting."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from doors import kit
from doors.runtime import SERVICE_LABEL
from doors.swarmfile import PORTS_LABEL, parse_env, published_ports, relay_config, stack_document, substitute
from drills.errors import UsageError
from stack.resources import compose_file
from stack.spec import StackSpec, render_compose, stack_env


@pytest.fixture()
def swarm_doc() -> tuple[dict, list]:
    rendered = render_compose(yaml.safe_load(compose_file().read_text()), StackSpec(replicas=3))
    env = stack_env("abc123", StackSpec(replicas=3), "/runs/abc123/lb", (41001, 41002, 41003), "h0me")
    ports = itertools.count(42000)
    return stack_document(substitute(rendered, env), lambda: next(ports))


def test_variables_are_substituted_as_compose_does() -> None:
    env = {"SET": "x", "EMPTY": ""}
    doc = {"a": "${SET}-${UNSET:-d}-${EMPTY:-e}-${EMPTY-f}-$SET-$$HOME", "b": [1, "${UNSET}"]}
    assert substitute(doc, env) == {"a": "x-d-e-f-x-$HOME", "b": [1, ""]}
    assert parse_env("# c\nA=1\nB = two=2\n\n") == {"A": "1", "B": "two=2"}


def test_each_replica_is_its_own_dnsrr_service_never_restarted_by_swarm(swarm_doc: tuple[dict, list]) -> None:
    doc, _ = swarm_doc
    services = doc["services"]
    assert sorted(services) == ["app1", "app2", "app3", "db", "lb"]
    for name, service in services.items():
        assert "build" not in service and "depends_on" not in service and "ports" not in service
        assert service["deploy"]["endpoint_mode"] == "dnsrr" and service["deploy"]["replicas"] == 1
        assert service["deploy"]["restart_policy"] == {"condition": "none"}
        assert service["labels"][SERVICE_LABEL] == name and service["labels"]["drill.run"] == "abc123"
        assert service["deploy"]["labels"] == {"drill.managed": "true", "drill.run": "abc123", "drill.home": "h0me"}
    assert services["app2"]["environment"]["REPLICA_NAME"] == "app2"
    assert services["lb"]["volumes"] == ["/runs/abc123/lb:/etc/drill-lb:ro"]


def test_networks_are_attachable_labelled_overlays(swarm_doc: tuple[dict, list]) -> None:
    doc, _ = swarm_doc
    assert doc["networks"]["back"]["internal"] is True
    for network in doc["networks"].values():
        assert network["driver"] == "overlay" and network["attachable"] is True
        assert network["labels"]["drill.run"] == "abc123"


def test_ports_go_to_the_relay_on_the_chosen_host_ports(swarm_doc: tuple[dict, list]) -> None:
    doc, published = swarm_doc
    assert [(p.service, p.network, p.private, p.host) for p in published] == [
        ("lb", "front", 8080, 41001),
        ("lb", "front", 8404, 41002),
        ("lb", "front", 9999, 41003),
    ]
    label = doc["services"]["lb"]["labels"][PORTS_LABEL]
    assert published_ports(label) == (("8080/tcp", 41001), ("8404/tcp", 41002), ("9999/tcp", 41003))
    relay = relay_config(published)
    assert "bind :41003\n    server lb lb:9999 resolvers docker" in relay and "mode tcp" in relay


def test_a_port_without_a_host_port_gets_a_free_one() -> None:
    compose = {"services": {"prom": {"image": "p", "ports": ["127.0.0.1::9090"], "networks": ["front"]}}}
    doc, published = stack_document(compose, lambda: 45000)
    assert [(p.private, p.host) for p in published] == [(9090, 45000)]
    assert doc["services"]["prom"]["labels"][PORTS_LABEL] == "9090/tcp=45000"


def test_the_runtime_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DRILL_RUNTIME", raising=False)
    assert kit.runtime_name() == "compose"
    monkeypatch.setenv("DRILL_RUNTIME", "swarm")
    assert kit.runtime_name() == "swarm"
    monkeypatch.setenv("DRILL_RUNTIME", "kubernetes")
    with pytest.raises(UsageError, match="DRILL_RUNTIME='kubernetes': expected one of compose, swarm"):
        kit.runtime_name()
    bad = CliRunner().invoke(app, ["--runtime", "nomad", "status"], env={"DRILL_HOME": str(tmp_path)})
    assert bad.exit_code == 2 and "--runtime" in bad.output and len(bad.output.strip().splitlines()) == 1
