"""Bring a run's stack up and down: the lifecycle of `drill up`, `drill status`, `drill down`.

`up` is a declared sequence of small steps. If any step fails, or Ctrl-C arrives, the
stack is torn down before the error surfaces: nothing half-done is left running.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import yaml

from chaos import inject
from chaos.compose import Compose
from chaos.engine import Engine, Reaped
from chaos.haproxy import RuntimeApi, render_config
from drills.errors import DrillError, Interrupted, UsageError
from drills.resources import compose_file, haproxy_template
from drills.runs import Endpoints, RunDir, RunRecord, new_run_id, project_name, recorded_run_ids
from drills.stack import IMAGES, StackSpec, render_compose, stack_env
from drills.waiting import wait_for

Progress = Callable[[str], None]
READY_DEADLINE_S = 90.0


@dataclass
class Provisioning:
    """What the steps of `up` share."""

    engine: Engine
    spec: StackSpec
    run: RunDir
    record: RunRecord
    progress: Progress
    seen: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> RuntimeApi:
        assert self.record.endpoints is not None
        return RuntimeApi("127.0.0.1", self.record.endpoints.api_port)


def _check_images(p: Provisioning) -> None:
    missing = [tag for tag in IMAGES.values() if p.engine.image_labels(tag) is None]
    if missing:
        raise DrillError(f"image(s) {', '.join(missing)} not built yet: run `drill images build` (or `make setup`)")


def _check_port(p: Provisioning) -> None:
    if p.spec.lb_port is None:
        return
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", p.spec.lb_port))
        except OSError:
            raise UsageError(
                f"--port {p.spec.lb_port}: 127.0.0.1:{p.spec.lb_port} is already in use; "
                "pick a free port or omit --port"
            ) from None


def _render(p: Provisioning) -> None:
    p.run.create()
    source = yaml.safe_load(compose_file().read_text())
    p.run.compose_file.write_text(yaml.safe_dump(render_compose(source, p.spec), sort_keys=False))
    env = stack_env(p.run.run_id, p.spec, str(p.run.lb_config_dir), _pick_ports(p.spec.lb_port))
    p.run.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (p.run.lb_config_dir / "haproxy.cfg").write_text(render_config(haproxy_template(), p.spec.replicas))
    p.run.save(p.record)


def _pick_ports(web: int | None) -> tuple[int, int, int]:
    """Free ports on 127.0.0.1 for the balancer's web, stats and runtime API, chosen now so they
    survive a restart of the balancer container (Docker would pick new ones). Another process
    could take one before compose binds it; compose then fails and `up` says which port."""
    sockets = [socket.socket() for _ in range(3)]
    try:
        for sock, wanted in zip(sockets, (web or 0, 0, 0), strict=True):
            sock.bind(("127.0.0.1", wanted))
        ports = [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    return ports[0], ports[1], ports[2]


def _compose_up(p: Provisioning) -> None:
    Compose.detect().up(project_name(p.run.run_id), p.run.compose_file)


def _containers_running(p: Provisioning) -> None:
    expected = set(p.spec.services)

    def probe() -> tuple[bool, str]:
        found = {c.service: c for c in p.engine.containers(p.run.run_id)}
        states = {name: (found[name].status if name in found else "missing") for name in sorted(expected)}
        return all(s == "running" for s in states.values()), ", ".join(f"{k}={v}" for k, v in states.items())

    wait_for(f"containers {', '.join(sorted(expected))} running", probe, READY_DEADLINE_S)
    lb = next(c for c in p.engine.containers(p.run.run_id) if c.service == "lb")
    try:
        endpoints = Endpoints(lb.ports["8080/tcp"], lb.ports["8404/tcp"], lb.ports["9999/tcp"])
    except KeyError as exc:
        raise DrillError(f"lb container publishes no 127.0.0.1 port for {exc}; saw {lb.ports}") from None
    p.record = replace(p.record, endpoints=endpoints)
    p.run.save(p.record)


def _balancer_sees_replicas_up(p: Provisioning) -> None:
    def probe() -> tuple[bool, str]:
        servers = p.api.servers()
        states = {s.name: s.status for s in servers}
        ok = sorted(states) == sorted(p.spec.replica_names) and all(s.up for s in servers)
        return ok, ", ".join(f"{k}={v}" for k, v in sorted(states.items())) or "no servers in backend app"

    wait_for("HAProxy to mark every replica UP", probe, READY_DEADLINE_S)


def _traffic_reaches_replicas(p: Provisioning) -> None:
    assert p.record.endpoints is not None
    url = p.record.endpoints.url

    def probe() -> tuple[bool, str]:
        served = served_by(url, 4 * p.spec.replicas)
        ok = set(p.spec.replica_names) <= set(served)
        return ok, "served by " + (", ".join(f"{k}: {v}" for k, v in sorted(served.items())) or "nobody")

    p.seen["traffic"] = wait_for(f"requests through {url} to reach every replica", probe, READY_DEADLINE_S)


UP_STEPS: list[tuple[str, Callable[[Provisioning], None]]] = [
    ("images present", _check_images),
    ("port free", _check_port),
    ("run directory rendered", _render),
    ("compose up", _compose_up),
    ("containers running", _containers_running),
    ("balancer marks every replica UP", _balancer_sees_replicas_up),
    ("traffic reaches every replica", _traffic_reaches_replicas),
]


def served_by(url: str, requests: int, path: str = "/api/catalog") -> Counter[str]:
    """Send up to `requests` GETs over one keep-alive connection; count 200s by X-Served-By.

    A readiness probe: it stops at the first answer that is not 200, so one probe of a
    sick stack costs one slow request, not `requests` of them."""
    host, _, port = url.removeprefix("http://").partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=5)
    counts: Counter[str] = Counter()
    try:
        for _ in range(requests):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                break
            counts[response.getheader("X-Served-By", "?")] += 1
    finally:
        conn.close()
    return counts


def up(engine: Engine, spec: StackSpec, progress: Progress, run_id: str | None = None) -> RunRecord:
    """Start a stack under its own compose project and wait until it serves through the balancer."""
    run_id = run_id or new_run_id()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    p = Provisioning(engine, spec, RunDir(run_id), RunRecord(run_id, created, spec.replicas), progress)
    started = time.monotonic()
    try:
        for title, step in UP_STEPS:
            step(p)
            progress(f"  ok  {title} ({time.monotonic() - started:.1f}s)")
    except KeyboardInterrupt:
        _abandon(engine, p)
        raise Interrupted(f"interrupted: run {run_id} was torn down") from None
    except BaseException:
        _abandon(engine, p)
        raise
    p.record = replace(p.record, state="up", extra={"traffic": p.seen.get("traffic", "")})
    p.run.save(p.record)
    return p.record


def _abandon(engine: Engine, p: Provisioning) -> None:
    if p.run.exists():
        down(engine, p.run.run_id)


def down(engine: Engine, run_id: str, progress: Progress | None = None) -> Reaped:
    """Remove the run's stack: revert an applied fault (its saved state says so, even after the
    controller was killed), compose down if the run's directory survives, then reap by label."""
    run = RunDir(run_id)
    message = _revert_fault(engine, run)
    if message and progress:
        progress(message)
    if run.compose_file.is_file():
        with contextlib.suppress(DrillError):  # the label sweep below is the backstop
            Compose.detect().down(project_name(run_id), run.compose_file)
    reaped = engine.reap(run_id)
    run.remove()
    return reaped


def _revert_fault(engine: Engine, run: RunDir) -> str | None:
    if not (run.path / "fault" / "fault.json").is_file():
        return None
    if not any(c.running for c in engine.containers(run.run_id)):
        return f"run {run.run_id} had a fault applied; its stack is no longer running, so removing it is the revert"
    try:
        return inject.revert(inject.Target(engine, run.run_id))
    except DrillError as exc:  # the stack goes anyway; say so loudly
        return f"warning: {exc}"


def known_run_ids(engine: Engine) -> list[str]:
    return sorted(set(recorded_run_ids()) | engine.run_ids())


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    running: int
    containers: int
    record: RunRecord | None

    @property
    def state(self) -> str:
        if self.record is None:
            return "orphaned (no run directory; `drill down` removes it)"
        if self.containers == 0:
            return "gone (no containers; `drill down` tidies up)"
        return (
            self.record.state
            if self.running == self.containers
            else f"degraded ({self.running}/{self.containers} running)"
        )


def status(engine: Engine, run_id: str | None = None) -> list[RunStatus]:
    ids = [run_id] if run_id else known_run_ids(engine)
    out = []
    for rid in ids:
        containers = engine.containers(rid)
        out.append(RunStatus(rid, sum(c.running for c in containers), len(containers), RunDir(rid).load()))
    return out
