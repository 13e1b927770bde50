"""The nginx balancer's config for a run (stack.balancer: nginx). Pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).parent / "images" / "lb-nginx" / "nginx.conf.in"
UPSTREAM = "app"


def nginx_template() -> str:
    return TEMPLATE.read_text()


def render_nginx_config(template: str, replicas: int, backend_port: int = 8080) -> str:
    """The nginx config for `replicas` app servers named app1..appN, in upstream `app`."""
    if replicas < 1:
        raise ValueError("a stack needs at least one replica")
    servers = "\n".join(
        f"        server app{i}:{backend_port} max_fails=3 fail_timeout=10s;" for i in range(1, replicas + 1)
    )
    return template.replace("{servers}", servers)


LOG_DIR = "lb-logs"  # beside the config in the run directory: the access log drill counts replicas from


def nginx_lb_service(service: dict[str, Any]) -> dict[str, Any]:
    """The compose service `lb` for nginx: its image variable is the same, the runtime API port
    goes (nginx has none), and the access log's directory is the run's `lb-logs/`."""
    ports = [p for p in service.get("ports", []) if not str(p).endswith(":9999")]
    volumes = [*service.get("volumes", []), "${DRILL_LB_LOG_DIR:-./lb-logs}:/var/log/drill"]
    return {**service, "ports": ports, "volumes": volumes}
