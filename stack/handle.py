"""A running stack as the layers above act on it, opened once per run.

It carries the run's directory and record, the container runtime and the balancer's
runtime API client built from the record: one client per run, not one per caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from doors.balancer import BalancerApi
from doors.kit import Doors
from doors.nginx import ExecProcess, NginxBalancer
from drills.errors import UsageError
from stack import ownapp
from stack.nginx import LOG_DIR
from stack.rundir import Endpoints, RunDir, RunRecord, check_run_id


@dataclass(frozen=True)
class RunStack:
    doors: Doors
    run: RunDir
    record: RunRecord
    endpoints: Endpoints
    balancer: BalancerApi

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def kind(self) -> str:
        """The balancer: haproxy or nginx."""
        return self.record.extra.get("balancer", "haproxy")

    @property
    def config_path(self) -> Path:
        """The balancer config responders edit (bind-mounted into the lb container)."""
        return self.run.lb_config_dir / ("nginx.conf" if self.kind == "nginx" else "haproxy.cfg")

    @property
    def reload_signal(self) -> str:
        """A graceful reload: SIGHUP to nginx's master (`nginx -s reload`), SIGUSR2 to HAProxy's."""
        return "SIGHUP" if self.kind == "nginx" else "SIGUSR2"

    @property
    def serving_path(self) -> str:
        """A page that shows the stack serving (200 through the balancer): the app's own first path."""
        return ownapp.serving_path(self.record.app)

    @property
    def health_path(self) -> str:
        """What the balancer's health checks should request."""
        return ownapp.health_path(self.record.app)

    @property
    def replicas(self) -> tuple[str, ...]:
        return tuple(f"app{i}" for i in range(1, self.record.replicas + 1))


def open_stack(doors: Doors, run_id: str) -> RunStack:
    """The run's stack as recorded in its directory; a one-line error when there is none."""
    run = RunDir(check_run_id(run_id))
    record = run.load()
    if record is None or record.endpoints is None:
        raise UsageError(f"--run {run_id}: no such run is up on this machine (`drill status` lists them)")
    return RunStack(doors, run, record, record.endpoints, balancer_of(doors, run, record))


def balancer_of(doors: Doors, run: RunDir, record: RunRecord) -> BalancerApi:
    """The run's balancer door: HAProxy's runtime API, or nginx read through `docker exec`."""
    assert record.endpoints is not None
    if record.extra.get("balancer") == "nginx":
        process = ExecProcess(doors.runtime, run.run_id, run.path / LOG_DIR / "access.log")
        return NginxBalancer(process)
    return doors.balancer(*record.endpoints.api_address, record.endpoints.master_port)
