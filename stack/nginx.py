"""The nginx balancer's config for a run (stack.balancer: nginx). Pure."""

from __future__ import annotations

from pathlib import Path

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
