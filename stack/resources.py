"""Where the stack's files are, in a checkout and in an installed wheel.

The wheel carries the top-level docker-compose.yml inside the `stack` package (see
pyproject.toml); a checkout has it at the repository root beside `stack/`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

COMPOSE_FILE = "docker-compose.yml"


def stack_dir() -> Path:
    return Path(str(resources.files("stack")))


def images_dir() -> Path:
    """The code that runs inside the containers: one build context per image (lb, app, db, base)."""
    return stack_dir() / "images"


def compose_file() -> Path:
    shipped = stack_dir() / COMPOSE_FILE
    if shipped.is_file():
        return shipped
    return stack_dir().parent / COMPOSE_FILE


def haproxy_template() -> str:
    return (images_dir() / "lb" / "haproxy.cfg.in").read_text()
