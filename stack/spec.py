"""What a run's stack looks like, as data: no I/O here.

The top-level docker-compose.yml is the source; a run gets a rendered copy in which
app1 is the template for app1..appN and `build:` is gone (drill builds images itself,
see drills.images), plus the environment that fills its variables.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from typing import Any

from drills.definition import OwnApp
from drills.errors import UsageError
from drills.rules import AlertRule
from stack.nginx import nginx_lb_service

MAX_REPLICAS = 12
BALANCERS = ("haproxy", "nginx")
REPLICA = re.compile(r"^app\d+$")

# Stack images, as compose's variables name them.
# DRILL_IMAGE_TAG (default latest) keeps one checkout's images apart from another's on a shared
# engine: two branches building drill/app:latest would replace each other's image mid-run.
TAG = os.environ.get("DRILL_IMAGE_TAG", "latest") or "latest"
IMAGES = {
    "lb": f"drill/lb:{TAG}",
    "app": f"drill/app:{TAG}",
    "db": f"drill/db:{TAG}",
    "prometheus": f"drill/prometheus:{TAG}",  # only runs with monitoring start it
    "app-alt": f"drill/app-alt:{TAG}",  # a second, different app: what `stack.app` is tested with
    "lb-nginx": f"drill/lb-nginx:{TAG}",  # only runs with stack.balancer: nginx start it
}


@dataclass(frozen=True)
class AppSettings:
    """Each replica's finite capacity (see stack/images/app/server.py)."""

    capacity: int = 8
    service_ms: float = 20.0
    queue: int = 32
    segment_bytes: int = 16384


@dataclass(frozen=True)
class StackSpec:
    replicas: int = 3
    lb_port: int | None = None
    app: AppSettings = field(default_factory=AppSettings)
    # Prometheus in the stack (scraping the balancer and the replicas, the drill's rules as
    # alerting rules): off by default, it costs CPU that a dense game day's stacks share.
    monitoring: bool = False
    alert_rules: tuple[AlertRule, ...] = ()
    own_app: OwnApp | None = None  # a team's own app image in place of drill/app (stack.ownapp)
    balancer: str = "haproxy"  # or "nginx" (stack.nginx)

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise UsageError(f"--replicas must be between 1 and {MAX_REPLICAS}, got {self.replicas}")
        if self.balancer not in BALANCERS:
            raise UsageError(f"--balancer must be one of {', '.join(BALANCERS)}, got {self.balancer!r}")
        if self.lb_port is not None and not 1 <= self.lb_port <= 65535:
            raise UsageError(f"--port must be a TCP port between 1 and 65535, got {self.lb_port}")

    @property
    def services(self) -> list[str]:
        return ["lb", "db", *self.replica_names, *(["prometheus"] if self.monitoring else [])]

    @property
    def images(self) -> list[str]:
        lb = IMAGES["lb-nginx" if self.balancer == "nginx" else "lb"]
        app = self.own_app.image if self.own_app is not None else IMAGES["app"]
        return [lb, app, IMAGES["db"], *([IMAGES["prometheus"]] if self.monitoring else [])]

    @property
    def replica_names(self) -> list[str]:
        return [f"app{i}" for i in range(1, self.replicas + 1)]


def render_compose(source: dict[str, Any], spec: StackSpec) -> dict[str, Any]:
    """The run's compose document: replicas expanded from app1, no build sections."""
    services = source.get("services") or {}
    if "app1" not in services or "lb" not in services:
        raise ValueError("docker-compose.yml must define services lb and app1 (the replica template)")
    template = services["app1"]
    rendered: dict[str, Any] = {}
    for name, service in services.items():
        if name == "prometheus" and not spec.monitoring:
            continue
        if not REPLICA.match(name):
            rendered[name] = _without_build(service)
    for name in spec.replica_names:
        replica = _without_build(template)
        replica["environment"] = {**(template.get("environment") or {}), "REPLICA_NAME": name}
        rendered[name] = replica
    rendered["lb"]["depends_on"] = list(spec.replica_names)
    if spec.balancer == "nginx":
        rendered["lb"] = nginx_lb_service(rendered["lb"])
    doc = {k: v for k, v in source.items() if not k.startswith("x-") and k != "services"}
    return {**doc, "services": rendered}


def _without_build(service: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(service)
    copied.pop("build", None)
    return copied


def stack_env(
    run_id: str,
    spec: StackSpec,
    lb_config_dir: str,
    ports: tuple[int, int, int] | None = None,
    home: str = "manual",
    prom_config_dir: str = "",
) -> dict[str, str]:
    """Values for the compose file's variables. `ports` (web, stats, runtime API) are pinned so
    a restarted balancer keeps them; without them Docker picks free ones at each start."""
    web, stats, api = ports or (spec.lb_port or 0, 0, 0)
    return {
        "DRILL_RUN_ID": run_id,
        "DRILL_HOME_ID": home,
        "DRILL_LB_IMAGE": IMAGES["lb-nginx" if spec.balancer == "nginx" else "lb"],
        "DRILL_APP_IMAGE": spec.own_app.image if spec.own_app is not None else IMAGES["app"],
        "DRILL_DB_IMAGE": IMAGES["db"],
        "DRILL_LB_CONFIG_DIR": lb_config_dir,
        "DRILL_LB_PORT": str(web or ""),
        "DRILL_STATS_PORT": str(stats or ""),
        "DRILL_API_PORT": str(api or ""),
        "DRILL_APP_CAPACITY": str(spec.app.capacity),
        "DRILL_APP_SERVICE_MS": f"{spec.app.service_ms:g}",
        "DRILL_APP_QUEUE": str(spec.app.queue),
        "DRILL_APP_SEGMENT_BYTES": str(spec.app.segment_bytes),
        **(
            {"DRILL_PROM_IMAGE": IMAGES["prometheus"], "DRILL_PROM_CONFIG_DIR": prom_config_dir}
            if spec.monitoring
            else {}
        ),
    }


def render_config(template: str, replicas: int, backend_port: int = 8080) -> str:
    """The balancer config for `replicas` app servers named app1..appN."""
    if replicas < 1:
        raise ValueError("a stack needs at least one replica")
    servers = "\n".join(f"    server app{i} app{i}:{backend_port}" for i in range(1, replicas + 1))
    return template.replace("{servers}", servers)
