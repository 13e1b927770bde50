"""`stack.app`, a team's own app behind the balancer: its schema, the balancer config pointed at
it, the audience's journey over its pages, its record, and the image check before anything starts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.audit import Finding
from cli.main import app
from doors.fakes import FakeClock, fake_doors
from drills import loader
from drills.definition import Drill, OwnApp
from drills.errors import UsageError
from drills.loader import DrillFileError
from orchestration import gameday, session
from playbooks.checks import CHECKS
from playbooks.repair_outages import repair_checks
from stack import ownapp, provision
from stack.handle import open_stack
from stack.resources import haproxy_template
from stack.rundir import RunDir
from stack.spec import IMAGES, StackSpec, render_config, stack_env
from traffic.schedule import Audience

TAIL = "faults: [{fault: lb.weights-skew}]\nroot_cause: {category: balancer}\n"
MENU = OwnApp("shop:1.4", 9000, "/healthz", ("/v1/menu", "/v1/items/1", "/v1/items/2"))


def load(tmp_path: Path, text: str) -> Drill:
    path = tmp_path / "oa.yaml"
    path.write_text(text)
    return loader.load_file(path, CHECKS)


def test_an_own_app_drill_loads_with_its_image_port_health_and_paths(tmp_path: Path) -> None:
    drill = load(
        tmp_path,
        "name: oa\nstack:\n  app: {image: shop:1.4, port: 9000, health: /healthz, paths: [/v1/menu, /v1/items/1, "
        "/v1/items/2]}\n" + TAIL,
    )
    assert drill.app == MENU
    plain = load(
        tmp_path, "name: oa\nstack: {app: {image: registry.local:5000/team/shop@sha256:" + "a" * 64 + "}}\n" + TAIL
    )
    assert plain.app is not None and (plain.app.port, plain.app.health, plain.app.paths) == (8080, "/health", ("/",))
    assert load(tmp_path, "name: oa\n" + TAIL).app is None


def test_every_bad_field_of_stack_app_at_its_line(tmp_path: Path) -> None:
    text = (
        "name: oa\nstack:\n  queue: 5\n  app:\n    image: Shop Image\n    port: 99999\n    health: healthz\n"
        '    paths: [/ok, "/a b", 3]\n    colour: blue\n'
        "faults:\n  - fault: lb.tango\n  - {fault: lb.health-check-broken, params: {port: 99999}}\n"
        "  - fault: lb.check-flap\n  - {fault: lb.check-flap, params: {path: /ok}}\nroot_cause: {category: balancer}\n"
    )
    with pytest.raises(DrillFileError) as caught:
        load(tmp_path, text)
    errors = [e.split("oa.yaml:", 1)[1] for e in caught.value.errors]
    assert errors == [
        "3: stack.queue: it sets the reference app; with stack.app (your own app) leave it out",
        "5: stack.app.image: 'Shop Image' is not an image reference: name[:tag], e.g. shop:1.4",
        "6: stack.app.port: must be between 1 and 65535, got 99999",
        "7: stack.app.health: expected a request path starting with / and without spaces, e.g. /healthz, got 'healthz'",
        "8: stack.app.paths[1]: expected a request path starting with / and without spaces, e.g. /healthz, got '/a b'",
        '8: stack.app.paths[2]: expected text, got 3, which YAML reads as a number; quote it: paths: "3"',
        "9: stack.app.colour: unknown key; expected one of image, port, health, paths",
        "11: faults[0].fault: lb.tango steers weights through the reference app's feedback agent (port 9100): "
        "not with stack.app",
        "13: faults[2].fault: lb.check-flap checks a page that does real work: give params.path, one of your app's "
        "(stack.app.paths)",
    ]


def test_a_wrong_check_port_that_is_the_apps_own_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DrillFileError, match=r"oa.yaml:4: faults\[0\].fault: its wrong check port is your app's"):
        load(
            tmp_path,
            "name: oa\nstack: {app: {image: shop, port: 8081}}\nfaults:\n  - fault: lb.health-check-broken\n"
            "root_cause: {category: balancer}\n",
        )


def test_the_balancer_checks_the_apps_health_on_its_port_and_names_the_server() -> None:
    config = ownapp.balancer_config(haproxy_template(), 3, MENU)
    assert "option httpchk GET /healthz\n" in config and "GET /health\n" not in config
    assert [f"server app{i} app{i}:9000" in config for i in (1, 2, 3)] == [True] * 3
    assert "http-response set-header X-Served-By %[srv_name]" in config
    assert ownapp.balancer_config(haproxy_template(), 3, None) == render_config(haproxy_template(), 3)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="no local haproxy")
def test_haproxy_accepts_the_own_app_config(tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(ownapp.balancer_config(haproxy_template(), 2, MENU))
    checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_stack_runs_the_own_image_in_place_of_drill_app() -> None:
    spec = StackSpec(3, own_app=MENU)
    assert "shop:1.4" in spec.images and IMAGES["app"] not in spec.images
    assert stack_env("abc123", spec, "/x")["DRILL_APP_IMAGE"] == "shop:1.4"
    assert stack_env("abc123", StackSpec(3), "/x")["DRILL_APP_IMAGE"] == IMAGES["app"]


def test_viewers_arrive_on_the_first_path_then_play_the_rest_in_turn() -> None:
    audience = Audience(1, segments=4, journey=MENU.paths)
    paths = [audience.next().path for _ in range(10)]
    assert paths == ["/v1/menu", "/v1/items/1", "/v1/items/2", "/v1/items/1", "/v1/items/2"] * 2
    single = Audience(2, journey=("/",))
    assert {single.next().path for _ in range(50)} == {"/"}
    assert Audience(1).next().path == "/api/catalog"  # the reference app's journey as before


def test_repair_puts_checks_back_on_the_apps_own_health_path() -> None:
    text = "backend app\n    option httpchk GET /v1/menu\n    server app1 app1:9000 check\n"
    finding = Finding("f", 2, "check-target", "warning", "m", "x")
    assert "option httpchk GET /healthz" in repair_checks(text, [finding], "/healthz")


def test_an_own_app_stack_comes_up_and_its_record_says_what_to_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    doors, runtime = fake_doors(FakeClock())
    runtime.images = {tag: {} for tag in (*IMAGES.values(), "shop:1.4")}
    record = provision.up(doors, StackSpec(3, own_app=MENU), progress=lambda line: None)
    stack = open_stack(doors, record.run_id)
    assert stack.record.app == MENU and RunDir(record.run_id).load() == stack.record
    assert (stack.serving_path, stack.health_path) == ("/v1/menu", "/healthz")
    assert "app1:9000" in stack.config_path.read_text()
    provision.down(doors, record.run_id)


def test_an_image_not_on_the_engine_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "oa.yaml"
    path.write_text("name: oa\nstack: {app: {image: shop:1.4}}\n" + TAIL)
    doors, runtime = fake_doors(FakeClock())
    runtime.images = {}
    db = tmp_path / "d.db"
    with pytest.raises(UsageError) as caught:
        session.run_drill(session.Options(str(path)), doors, db, print, lambda: True)
    assert not db.exists() and "\n" not in str(caught.value)
    assert str(caught.value) == (
        f"{path}: stack.app.image 'shop:1.4' is not on this machine's Docker engine: build or load it first "
        "(`docker build -t IMAGE .` or `docker load -i FILE`); drill pulls nothing"
    )


def test_a_game_day_on_an_image_not_on_the_engine_stops_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "oa.yaml"
    path.write_text("name: oa\nstack: {app: {image: shop:1.4}}\n" + TAIL)
    doors, runtime = fake_doors(FakeClock())
    runtime.images = {}
    db = tmp_path / "d.db"
    with pytest.raises(UsageError, match=r"stack\.app\.image 'shop:1\.4' is not on this machine's Docker engine"):
        gameday.plan(gameday.GameDayOptions(str(path), ("red",)), doors, db)
    assert not db.exists()


def test_show_names_the_own_app_and_validate_lists_its_errors(tmp_path: Path) -> None:
    drill = Path(__file__).parent.parent / "integration" / "ownapp-menu.yaml"
    shown = CliRunner().invoke(app, ["show", str(drill)])
    assert shown.exit_code == 0, shown.output
    assert "3 replicas of your app drill/app-alt:latest (port 9000, checked on /healthz" in shown.stdout
    as_json = json.loads(CliRunner().invoke(app, ["show", str(drill), "--json"]).stdout)
    assert as_json["stack"]["app"]["paths"] == ["/v1/menu", "/v1/items/1", "/v1/items/2"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: oa\nstack: {app: {port: 0}}\n" + TAIL)
    checked = CliRunner().invoke(app, ["validate", str(bad)])
    assert checked.exit_code == 2
    assert f"{bad}:2: stack.app.image: is required" in checked.output
    assert f"{bad}:2: stack.app.port: must be between 1 and 65535, got 0" in checked.output
