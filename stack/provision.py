"""Bring a run's stack up and down: the lifecycle of `drill up`, `drill status`, `drill down`.

`up` is a declared sequence of small steps. If any step fails, or Ctrl-C arrives, the
stack is torn down before the error surfaces: nothing half-done is left running.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import yaml

from doors import yamlfile
from doors.balancer import MASTER_PORT, BalancerApi
from doors.clock import wait_for
from doors.kit import Doors
from doors.runtime import Reaped
from drills.errors import DrillError, Interrupted, UsageError
from drills.rules import default_rules
from stack import ownapp, prometheus
from stack.handle import balancer_of
from stack.nginx import LOG_DIR, nginx_template, render_nginx_config
from stack.resources import compose_file, haproxy_template
from stack.rundir import Endpoints, RunDir, RunRecord, home_id, new_run_id, project_name, recorded_run_ids
from stack.spec import StackSpec, render_compose, stack_env

Progress = Callable[[str], None]
READY_DEADLINE_S = 90.0
POLL_S = 0.05  # each probe is a cheap local call; a slower poll only adds to `drill up`


@dataclass
class Provisioning:
    """What the steps of `up` share."""

    doors: Doors
    spec: StackSpec
    run: RunDir
    record: RunRecord
    progress: Progress
    seen: dict[str, str] = field(default_factory=dict)
    balancer: BalancerApi | None = None  # once the runtime API's port is known

    def wait(self, what: str, probe: Callable[[], tuple[bool, str]]) -> str:
        return wait_for(what, probe, READY_DEADLINE_S, POLL_S, clock=self.doors.clock)


# libyaml where PyYAML has it: the compose file is read and written on every `drill up`.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_images(p: Provisioning) -> None:
    missing = [tag for tag in p.spec.images if p.doors.runtime.image_labels(tag) is None]
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
    source = yaml.load(compose_file().read_text(), Loader=LOADER)
    p.run.compose_file.write_text(yamlfile.dump(render_compose(source, p.spec)))
    prom = p.run.path / "prometheus"
    env = stack_env(p.run.run_id, p.spec, str(p.run.lb_config_dir), _pick_ports(p.spec.lb_port), home_id(), str(prom))
    if p.spec.balancer == "nginx":
        env["DRILL_LB_LOG_DIR"] = str(p.run.path / LOG_DIR)
        (p.run.path / LOG_DIR).mkdir()
        (p.run.lb_config_dir / "nginx.conf").write_text(render_nginx_config(nginx_template(), p.spec.replicas))
    else:
        config = ownapp.balancer_config(haproxy_template(), p.spec.replicas, p.spec.own_app)
        (p.run.lb_config_dir / "haproxy.cfg").write_text(config)
    p.run.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    if p.spec.monitoring:
        prom.mkdir()
        (prom / "prometheus.yml").write_text(prometheus.scrape_config(p.spec.replicas))
        (prom / "rules.yml").write_text(prometheus.alerting_rules(p.spec.alert_rules or tuple(default_rules())))
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
    p.doors.runtime.compose_up(project_name(p.run.run_id), p.run.compose_file)


def _containers_running(p: Provisioning) -> None:
    expected = set(p.spec.services)

    def probe() -> tuple[bool, str]:
        found = {c.service: c for c in p.doors.runtime.containers(p.run.run_id)}
        states = {name: (found[name].status if name in found else "missing") for name in sorted(expected)}
        return all(s == "running" for s in states.values()), ", ".join(f"{k}={v}" for k, v in states.items())

    p.wait(f"containers {', '.join(sorted(expected))} running", probe)
    lb = p.doors.runtime.inspect(p.run.run_id, "lb")
    nginx = p.spec.balancer == "nginx"
    web, stats, api = (lb.port(private) for private in ("8080/tcp", "8404/tcp", "9999/tcp"))
    if web is None or stats is None or (api is None and not nginx):
        raise DrillError(f"lb container publishes no 127.0.0.1 port for 8080, 8404 and 9999; saw {lb.ports}")
    prom = p.doors.runtime.inspect(p.run.run_id, "prometheus").port("9090/tcp") if p.spec.monitoring else None
    direct = _routable(lb.address("_front"), 8080 if nginx else 9999)
    master = MASTER_PORT if direct and not nginx and _routable(direct, MASTER_PORT) else 0
    endpoints = Endpoints(web, stats, api or 0, direct, prom or 0, "/status" if nginx else "/stats", master)
    p.record = replace(p.record, endpoints=endpoints)
    p.run.save(p.record)
    p.balancer = balancer_of(p.doors, p.run, p.record)


def _routable(ip: str, port: int) -> str:
    """The balancer's front address if this host can open a connection to it (Linux bridges
    can; Docker Desktop's VM cannot), else '' and the published ports serve instead."""
    if not ip:
        return ""
    try:
        socket.create_connection((ip, port), timeout=1).close()
    except OSError:
        return ""
    return ip


def _balancer_sees_replicas_up(p: Provisioning) -> None:
    assert p.balancer is not None
    balancer = p.balancer

    def probe() -> tuple[bool, str]:
        state = balancer.state() if p.spec.balancer == "nginx" else None  # nginx: why it runs no config
        servers = list(state.stats) if state is not None else balancer.servers()
        states = {s.name: s.status for s in servers}
        ok = sorted(states) == sorted(p.spec.replica_names) and all(s.up for s in servers)
        empty = f"nginx: {state.algo}" if state is not None else "no servers in backend app"
        return ok, ", ".join(f"{k}={v}" for k, v in sorted(states.items())) or empty

    p.wait(f"{'nginx' if p.spec.balancer == 'nginx' else 'HAProxy'} to mark every replica UP", probe)


def _traffic_reaches_replicas(p: Provisioning) -> None:
    assert p.record.endpoints is not None
    url = p.record.endpoints.url
    health, page = ownapp.health_path(p.spec.own_app), ownapp.serving_path(p.spec.own_app)

    def probe() -> tuple[bool, str]:
        # Every replica through the balancer on /health (it skips the replicas' service queue, so
        # the probe is quick), then one catalog request: the app's path to its database works.
        served = p.doors.http.served_by(url, 4 * p.spec.replicas, health)
        seen = "served by " + (", ".join(f"{k}: {v}" for k, v in sorted(served.items())) or "nobody")
        if not set(p.spec.replica_names) <= set(served):
            return False, seen
        catalog = p.doors.http.status(url, page)
        return catalog == 200, f"{seen}; GET {page} -> {catalog or 'no answer'}"

    p.seen["traffic"] = p.wait(f"requests through {url} to reach every replica", probe)


UP_STEPS: list[tuple[str, Callable[[Provisioning], None]]] = [
    ("images present", _check_images),
    ("port free", _check_port),
    ("run directory rendered", _render),
    ("compose up", _compose_up),
    ("containers running", _containers_running),
    ("balancer marks every replica UP", _balancer_sees_replicas_up),
    ("traffic reaches every replica", _traffic_reaches_replicas),
]


def up(doors: Doors, spec: StackSpec, progress: Progress, run_id: str | None = None) -> RunRecord:
    """Start a stack under its own compose project and wait until it serves through the balancer."""
    run_id = run_id or new_run_id()
    created = doors.clock.utc().isoformat(timespec="seconds")
    extra = {"balancer": spec.balancer} if spec.balancer != "haproxy" else {}
    record = RunRecord(run_id, created, spec.replicas, app=spec.own_app, extra=extra)
    p = Provisioning(doors, spec, RunDir(run_id), record, progress)
    started = doors.clock.now()
    try:
        for title, step in UP_STEPS:
            step(p)
            progress(f"  ok  {title} ({doors.clock.now() - started:.1f}s)")
    except KeyboardInterrupt:
        _abandon(doors, p)
        raise Interrupted(f"interrupted: run {run_id} was torn down") from None
    except BaseException:
        _abandon(doors, p)
        raise
    p.record = replace(p.record, state="up", extra={**p.record.extra, "traffic": p.seen.get("traffic", "")})
    p.run.save(p.record)
    return p.record


def _abandon(doors: Doors, p: Provisioning) -> None:
    if p.run.exists():
        down(doors, p.run.run_id)
        _sweep_stragglers(doors, p.run.run_id)


STRAGGLERS_QUIET_S = 2.0  # nothing of the run seen for this long: gone
STRAGGLERS_DEADLINE_S = 15.0


def _sweep_stragglers(doors: Doors, run_id: str) -> None:
    """compose stopped mid-up (Ctrl-C, a failed step) may have had a container create in flight:
    the daemon finishes it after the first sweep, and a "created" container is left behind.
    Sweep again whatever appears, until nothing has for STRAGGLERS_QUIET_S (bounded)."""
    clock = doors.clock
    start = quiet_since = clock.now()
    while clock.now() - quiet_since < STRAGGLERS_QUIET_S and clock.now() - start < STRAGGLERS_DEADLINE_S:
        if doors.runtime.leftovers(run_id):
            doors.runtime.reap(run_id)
            quiet_since = clock.now()
        clock.sleep(0.25)


def down(doors: Doors, run_id: str) -> Reaped:
    """Remove the run's stack by its label: every container (at once, in parallel: a drill's
    stack needs no graceful stop), then its networks and volumes; then the run's directory.
    The same sweep works after a crash, with or without the directory. (An applied fault is
    reverted first by the layer that knows faults: orchestration.teardown.)"""
    reaped = doors.runtime.reap(run_id)
    RunDir(run_id).remove()
    return reaped


def known_run_ids(doors: Doors, machine_wide: bool = False) -> list[str]:
    """This DRILL_HOME's runs (directories and labelled resources); with machine_wide, every
    drill run on the machine, whoever started it."""
    return sorted(set(recorded_run_ids()) | doors.runtime.run_ids(None if machine_wide else home_id()))


def exists(doors: Doors, run_id: str) -> bool:
    return RunDir(run_id).exists() or run_id in doors.runtime.run_ids()


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    running: int
    containers: int
    record: RunRecord | None

    def as_dict(self) -> dict[str, object]:
        found = self.record.summary() if self.record else {"run_id": self.run_id}
        return {**found, "state": self.state, "running": self.running, "containers": self.containers}

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


def status(doors: Doors, run_id: str | None = None) -> list[RunStatus]:
    ids = [run_id] if run_id else known_run_ids(doors)
    out = []
    for rid in ids:
        containers = doors.runtime.containers(rid)
        out.append(RunStatus(rid, sum(c.running for c in containers), len(containers), RunDir(rid).load()))
    return out
