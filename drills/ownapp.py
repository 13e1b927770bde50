"""`stack.app` in a drill file: a team's own app image behind the balancer. Read by
drills.loader through its Schema, so every problem comes with its line and YAML path."""

from __future__ import annotations

import re

import yaml

from drills.definition import OwnApp
from drills.schema import Fields, Schema

KEYS = ("image", "port", "health", "paths")
# What the reference app's knobs set; another app has its own (stack.app takes their place).
REFERENCE_ONLY = ("capacity", "service_ms", "queue", "monitoring")
# name[:tag] or name@sha256:digest, as `docker image inspect` takes it (lower case, no spaces).
COMPONENT = r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
IMAGE = re.compile(rf"^{COMPONENT}(?::[0-9]+)?(?:/{COMPONENT})*(?::\w[\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$")
PATH = re.compile(r"^/[!-~]*$")  # absolute, printable, no spaces: it goes on a request line
MAX_PATHS = 64


def own_app(s: Schema, stack: Fields) -> OwnApp | None:
    """The stack's own app, or None for the reference app."""
    node = stack.get("app")
    if node is None:
        return None
    app = s.fields(node, "stack.app", KEYS, ", e.g. {image: shop:1.4, port: 8080, health: /healthz}")
    for key in REFERENCE_ONLY:
        if stack.get(key) is not None:
            why = (
                "Prometheus scrapes the reference app's /metrics"
                if key == "monitoring"
                else "it sets the reference app"
            )
            s.error(stack.get(key), f"stack.{key}", f"{why}; with stack.app (your own app) leave it out")
    given = s.required(app, "image", "your app's image as `docker images` lists it, e.g. shop:1.4")
    image = s.text(given, "stack.app.image")
    if given is not None and not IMAGE.match(image):
        s.error(given, "stack.app.image", f"{image!r} is not an image reference: name[:tag], e.g. shop:1.4")
    paths = [_path(s, n, f"stack.app.paths[{i}]") for i, n in enumerate(_paths(s, app.get("paths")))]
    return OwnApp(
        image=image,
        port=s.whole(app.get("port"), "stack.app.port", 8080, 1, 65535),
        health=_path(s, app.get("health"), "stack.app.health", "/health"),
        paths=tuple(paths) or ("/",),
    )


def _paths(s: Schema, node: yaml.Node | None) -> list[yaml.Node]:
    items = s.items(node, "stack.app.paths", " of request paths, e.g. [/, /api/items]")
    if node is not None and isinstance(node, yaml.SequenceNode) and not items:
        s.error(node, "stack.app.paths", "list at least one path, e.g. [/], or leave it out")
    if len(items) > MAX_PATHS:
        s.error(node, "stack.app.paths", f"at most {MAX_PATHS} paths, got {len(items)}")
    return items[:MAX_PATHS]


def _path(s: Schema, node: yaml.Node | None, path: str, default: str = "/") -> str:
    text = s.text(node, path, default)
    if node is not None and not PATH.match(text):
        s.error(node, path, f"expected a request path starting with / and without spaces, e.g. /healthz, got {text!r}")
        return default
    return text


def fault_problems(s: Schema, top: Fields, app: OwnApp | None) -> None:
    """Faults that need the reference app, refused at their line in a drill on another app."""
    node = top.get("faults")
    if app is None or not isinstance(node, yaml.SequenceNode):
        return
    for i, item in enumerate(node.value):
        entry = dict(_pairs(item))
        name = entry.get("fault")
        params = dict(_pairs(entry.get("params")))
        if not isinstance(name, yaml.ScalarNode):
            continue
        why = _needs_reference(str(name.value), params, app)
        if why:
            s.error(name, f"faults[{i}].fault", why)


def _needs_reference(fault: str, params: dict[str, yaml.Node], app: OwnApp) -> str:
    if fault == "lb.tango":
        return "lb.tango steers weights through the reference app's feedback agent (port 9100): not with stack.app"
    if fault == "lb.health-check-broken" and str(getattr(params.get("port"), "value", "8081")) == str(app.port):
        return f"its wrong check port is your app's port {app.port}: give params.port another one"
    if fault in ("lb.check-heavy-page", "lb.check-flap") and "path" not in params:
        return f"{fault} checks a page that does real work: give params.path, one of your app's (stack.app.paths)"
    return ""


def _pairs(node: yaml.Node | None) -> list[tuple[str, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
