"""One run as faults see it: its balancer (config file, reload, runtime API), its containers,
and the saved pre-fault state (`runs/<id>/fault/`), which outlives the process that wrote it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chaos.plan import Scope
from doors.balancer import BalancerApi, BalancerState, MasterStatus
from doors.clock import Clock, wait_for
from doors.runtime import ContainerRuntime
from drills.errors import DrillError
from stack.handle import RunStack

RELOAD_DEADLINE_S = 20.0


@dataclass(frozen=True)
class Saved:
    """The active fault and the state to restore, as written before the fault was applied."""

    fault: str
    route: str
    params: dict[str, str]
    applied_at: str
    summary: str
    servers: dict[str, dict[str, int]]  # name -> weight, admin bits, checked, agent, limit, up
    algo: str
    container: dict[str, str]  # container faults: target and its status before


class Target:
    def __init__(self, stack: RunStack) -> None:
        self.stack = stack

    @property
    def run_id(self) -> str:
        return self.stack.run_id

    @property
    def runtime(self) -> ContainerRuntime:
        return self.stack.doors.runtime

    @property
    def api(self) -> BalancerApi:
        return self.stack.balancer

    @property
    def clock(self) -> Clock:
        return self.stack.doors.clock

    @property
    def config_path(self) -> Path:
        return self.stack.config_path

    @property
    def fault_dir(self) -> Path:
        return self.stack.run.path / "fault"

    def wait(self, what: str, probe: Callable[[], tuple[bool, str]], deadline_s: float) -> str:
        return wait_for(what, probe, deadline_s, clock=self.clock)

    def scope(self) -> Scope:
        replicas = self.stack.replicas
        services = tuple(sorted({c.service for c in self.runtime.containers(self.run_id)} | {"lb", "db", *replicas}))
        return Scope(self.run_id, replicas, services)

    def reload(self) -> None:
        """Graceful reload (SIGUSR2 to HAProxy's master, SIGHUP to nginx's), or a start if the
        balancer is stopped; returns once a worker running the new config answers.

        HAProxy 2.6's master drops a SIGUSR2 that comes while it is still reloading (measured:
        a second signal within 0.05 s of the first is always lost, within 0.1 s most times),
        as when drill reverts just after a responder's own reload. So drill signals only once
        the master answers its CLI, and waits for the master's reload count to pass it."""
        running = self.runtime.inspect(self.run_id, "lb").running
        try:
            old = self.api.worker_pid() if running else None
        except DrillError:
            old = None
        before = self._master_settled() if running else None
        if running:
            self.runtime.signal(self.run_id, "lb", self.stack.reload_signal)
        else:
            self.runtime.start(self.run_id, "lb")
        if before is not None:
            self._master_reloaded(before)

        def probe() -> tuple[bool, str]:
            try:
                pid = self.api.worker_pid()
            except DrillError as exc:
                return False, str(exc)
            return pid != old, f"worker pid {pid} (before the reload: {old})"

        self.wait("a balancer worker running the new config", probe, RELOAD_DEADLINE_S)

    def _master_settled(self) -> MasterStatus | None:
        """The master's reload count once no reload is in progress; None without a master CLI."""
        seen: list[MasterStatus | None] = []

        def answers() -> tuple[bool, str]:
            seen[:] = [self.api.master()]  # DrillError (not yet) while a reload is in progress
            return True, "the master answers"

        self.wait("HAProxy's master to finish a reload in progress", answers, RELOAD_DEADLINE_S)
        return seen[0]

    def _master_reloaded(self, before: MasterStatus) -> None:
        last = [before]

        def done() -> tuple[bool, str]:
            now = self.api.master()
            if now is None:
                return True, "no master CLI"
            last[0] = now
            counted = now.reloads > before.reloads or now.failed > before.failed
            return counted, f"{now.reloads} reload(s), {now.failed} failed (before drill's: {before.reloads})"

        seen = self.wait("HAProxy's master to count drill's reload", done, RELOAD_DEADLINE_S)
        if last[0].failed > before.failed:
            raise DrillError(
                f"HAProxy could not load {self.config_path} ({seen}): the previous config still "
                "serves; `docker logs` of the run's lb container says why"
            )

    def state(self) -> BalancerState:
        return self.api.state()

    def saved(self) -> Saved | None:
        try:
            return Saved(**json.loads((self.fault_dir / "fault.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, saved: Saved) -> None:
        from dataclasses import asdict

        self.fault_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.fault_dir / "fault.json.tmp"
        tmp.write_text(json.dumps(asdict(saved), indent=2) + "\n")
        tmp.replace(self.fault_dir / "fault.json")
