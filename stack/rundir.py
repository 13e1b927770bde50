"""A run's directory on the host: its rendered compose file, balancer config and record.

The directory outlives the process that made it, so `drill down` after a crash still
knows what to remove. Docker labels (drill.run=<id>) are the other half of that record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType

from drills.definition import OwnApp
from drills.errors import UsageError

RUN_ID = re.compile(r"^[0-9a-f]{6}$")


def drill_home() -> Path:
    if os.environ.get("DRILL_HOME"):
        return Path(os.environ["DRILL_HOME"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "drill"


def home_id(home: Path | None = None) -> str:
    """The label value of a DRILL_HOME: runs started under it carry drill.home=<this>."""
    return hashlib.sha256(str((home or drill_home()).resolve()).encode()).hexdigest()[:12]


def new_run_id() -> str:
    return secrets.token_hex(3)


def check_run_id(value: str) -> str:
    if not RUN_ID.match(value):
        raise UsageError(f"RUN_ID {value!r} is not a run id: expected 6 hex characters, as `drill up` prints")
    return value


def project_name(run_id: str) -> str:
    return f"drill-{run_id}"


@dataclass(frozen=True)
class Endpoints:
    """Where the run's balancer listens on the host (127.0.0.1 only)."""

    lb_port: int
    stats_port: int
    api_port: int
    # The balancer's own address on the stack's front network, reachable from this host: drill's
    # audience and monitor go there, sparing docker-proxy (about 0.03 of a core per stack at 150
    # req/s). Responders use the published ports. Empty where the host cannot route to it.
    direct: str = ""
    prometheus_port: int = 0  # 0: the run has no Prometheus
    stats_path: str = "/stats"  # nginx: its stub_status page, /status
    # HAProxy's master CLI on the direct address (not published; 0: none, as for a run that
    # came up before the lb image had one): drill reloads only when it answers.
    master_port: int = 0

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}" if self.prometheus_port else ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def audience_url(self) -> str:
        return f"http://{self.direct}:8080" if self.direct else self.url

    @property
    def api_address(self) -> tuple[str, int]:
        return (self.direct, 9999) if self.direct else ("127.0.0.1", self.api_port)

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}{self.stats_path}"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    created: str
    replicas: int
    state: str = "starting"
    endpoints: Endpoints | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    app: OwnApp | None = None  # the team's own app (stack.app), None for the reference app

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def as_json(self) -> dict[str, object]:
        endpoints = asdict(self.endpoints) if self.endpoints is not None else None
        return {
            "run_id": self.run_id,
            "created": self.created,
            "replicas": self.replicas,
            "state": self.state,
            "endpoints": endpoints,
            "extra": dict(self.extra),
            "app": asdict(self.app) if self.app is not None else None,
        }

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {"run_id": self.run_id, "project": project_name(self.run_id)}
        if self.endpoints is not None:
            out |= {"url": self.endpoints.url, "stats_url": self.endpoints.stats_url}
            if self.endpoints.api_port:  # nginx has no runtime API
                out["runtime_api"] = f"127.0.0.1:{self.endpoints.api_port}"
            if self.extra.get("balancer"):
                out["balancer"] = self.extra["balancer"]
            if self.endpoints.prometheus_url:
                out["prometheus_url"] = self.endpoints.prometheus_url
        return out


class RunDir:
    def __init__(self, run_id: str, home: Path | None = None) -> None:
        self.run_id = run_id
        self.path = (home or drill_home()) / "runs" / run_id

    @property
    def compose_file(self) -> Path:
        return self.path / "compose.yml"

    @property
    def env_file(self) -> Path:
        return self.path / ".env"

    @property
    def lb_config_dir(self) -> Path:
        return self.path / "lb"

    @property
    def record_file(self) -> Path:
        return self.path / "run.json"

    def exists(self) -> bool:
        return self.path.is_dir()

    def create(self) -> None:
        self.lb_config_dir.mkdir(parents=True, exist_ok=False)

    def save(self, record: RunRecord) -> None:
        tmp = self.record_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.as_json(), indent=2) + "\n")
        tmp.replace(self.record_file)

    def load(self) -> RunRecord | None:
        try:
            raw = json.loads(self.record_file.read_text())
        except (OSError, ValueError):
            return None
        endpoints = Endpoints(**raw["endpoints"]) if raw.get("endpoints") else None
        app = raw.get("app")
        own = OwnApp(**{**app, "paths": tuple(app["paths"])}) if app else None
        return RunRecord(**{**raw, "endpoints": endpoints, "app": own})

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def recorded_run_ids(home: Path | None = None) -> list[str]:
    runs = (home or drill_home()) / "runs"
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir() if p.is_dir() and RUN_ID.match(p.name))
