"""A team's own app behind the balancer (`stack.app`): drill/app-alt, a different small HTTP
server (port 9000, /healthz, its own pages, no X-Served-By), resolved on autopilot; the stack's
balancer config points at its port and health path, and the balancer stamps X-Served-By."""

from __future__ import annotations

import json
import re
from pathlib import Path

from doors.engine import DockerEngine
from stack.rundir import RunDir
from stack.spec import IMAGES, TAG
from tests.integration.conftest import drill_cli, served_by
from tests.integration.test_drill import assert_gone

DRILL = Path(__file__).parent / "ownapp-menu.yaml"


def copy(tmp_path: Path, image: str) -> Path:
    path = tmp_path / "ownapp-menu.yaml"
    path.write_text(DRILL.read_text().replace("drill/app-alt:latest", image))
    return path


def test_an_own_app_drill_resolves_on_autopilot_behind_a_balancer_pointed_at_it(
    engine: DockerEngine, tmp_path: Path
) -> None:
    path, db = copy(tmp_path, IMAGES["app-alt"]), tmp_path / "d.db"
    done = drill_cli("run", str(path), "--autopilot", "--json", "--quiet", "--seed", "1", "--keep", "--db", str(db))
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    started = re.search(r"^run ([0-9a-f]{6}):", done.stderr, re.MULTILINE)
    run_id = result.get("run_id") or (started.group(1) if started else "")
    try:
        assert done.returncode == 0 and result["outcome"] == "resolved", done.stderr[-2000:]
        assert result["fault"] == "lb.weights-skew" and result["scores"]["red_herrings"] == 0
        # the app has room to spare: the shares show the fault, and they are the balancer's stamp
        fired = [e["detail"] for e in result["timeline"] if e["event"] == "alert_fired"]
        assert any(d.startswith("share-skew") for d in fired), fired
        baseline = next(e["detail"] for e in result["timeline"] if e["event"] == "baseline_ok")
        errors = re.search(r"errors ([0-9.]+)%", baseline)
        assert errors and float(errors.group(1)) < 5, baseline  # the viewers asked for the app's own pages
        config = (RunDir(run_id).lb_config_dir / "haproxy.cfg").read_text()
        assert "option httpchk GET /healthz" in config and "GET /health\n" not in config
        assert all(f"server app{i} app{i}:9000" in config for i in (1, 2, 3)), config
        record = RunDir(run_id).load()
        assert record is not None and record.endpoints is not None and record.app is not None
        assert record.app.image == IMAGES["app-alt"] and record.app.paths[0] == "/v1/menu"
        shares = served_by(record.endpoints.url, 30, "/v1/menu")  # the balancer names the server
        assert set(shares) == {"app1", "app2", "app3"}, shares
        notes = " ".join(e["detail"] for e in result["timeline"] if e["event"] == "note")
        assert "GET /v1/menu through the balancer -> 200" in notes
    finally:
        if run_id:
            drill_cli("down", run_id)
    assert_gone(engine, run_id)


def test_an_own_app_image_not_on_the_engine_stops_the_drill_before_anything_starts(
    engine: DockerEngine, tmp_path: Path
) -> None:
    path, db = copy(tmp_path, f"drill/no-such-app:{TAG}"), tmp_path / "d.db"
    done = drill_cli("run", str(path), "--db", str(db))
    assert done.returncode == 2 and not db.exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "stack.app.image 'drill/no-such-app:" in lines[0]
    assert "build or load it first" in lines[0], lines
