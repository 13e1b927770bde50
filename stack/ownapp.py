"""A team's own app behind the balancer (`stack.app` in a drill): what differs from the
reference app's stack, kept here so the rest of the stack does not branch on it.

The balancer checks the app's own health path on its own port, and stamps `X-Served-By` with
the server's name on every answer (`http-response set-header X-Served-By %[srv_name]`): drill
counts each replica's share by that header, and cannot ask another app to set it. Nothing
else is asked of the app (see drills.definition.OwnApp).
"""

from __future__ import annotations

from doors.runtime import ContainerRuntime
from drills.definition import OwnApp
from drills.errors import UsageError
from stack.spec import render_config

REFERENCE_HEALTH = "/health"  # stack/images/app/server.py
REFERENCE_PATH = "/api/catalog"  # a page that reads the database: the reference app serves
STAMP = "    http-response set-header X-Served-By %[srv_name]  # drill counts shares by it (your app need not)"


def balancer_config(template: str, replicas: int, app: OwnApp | None) -> str:
    """The run's haproxy.cfg: the reference app's, or pointed at the own app's port and health path."""
    if app is None:
        return render_config(template, replicas)
    text = render_config(template, replicas, app.port)
    check, expect = f"option httpchk GET {REFERENCE_HEALTH}\n", "    http-check expect status 200\n"
    for line in (check, expect):
        if line not in text:
            raise ValueError(f"the balancer template has no `{line.strip()}` line: cannot point it at {app.image}")
    text = text.replace(check, f"option httpchk GET {app.health}\n", 1)
    return text.replace(expect, f"{expect}{STAMP}\n", 1)


def serving_path(app: OwnApp | None) -> str:
    """A page that shows the stack serving through the balancer (200 expected)."""
    return app.paths[0] if app is not None else REFERENCE_PATH


def health_path(app: OwnApp | None) -> str:
    return app.health if app is not None else REFERENCE_HEALTH


def check_image(runtime: ContainerRuntime, app: OwnApp | None, drill_file: str) -> None:
    """Refuse, before anything starts, a drill whose own app image is not on the engine: drill
    pulls nothing (a game-day host may have no registry), so the team builds or loads it."""
    if app is not None and runtime.image_labels(app.image) is None:
        raise UsageError(
            f"{drill_file}: stack.app.image {app.image!r} is not on this machine's Docker engine: "
            "build or load it first (`docker build -t IMAGE .` or `docker load -i FILE`); drill pulls nothing"
        )
