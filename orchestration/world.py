"""The real World of a run: the stack (stack.provision), the audience and its monitor in a
thread (orchestration.load), the fault (chaos.inject). orchestration.controller drives it."""

from __future__ import annotations

import queue
import threading
from typing import Any

from chaos import audit, inject
from chaos.hapconfig import unified_diff
from chaos.target import Target
from doors.kit import Doors
from drills.definition import Drill, Variant
from drills.errors import DrillError
from orchestration import teardown
from orchestration.bus import Bus
from orchestration.load import LoadSpec, run_load
from stack import provision
from stack.handle import open_stack
from stack.spec import AppSettings, StackSpec
from telemetry.rules import AlertEvent
from telemetry.windows import Slis
from traffic.sample import Sample

SLO_MS = 400.0


class Audience:
    """The drill's simulated viewers in a thread of their own, and the impact they felt."""

    def __init__(self, drill: Drill, seed: int) -> None:
        self.drill = drill
        self.seed = seed
        self.latest: Slis | None = None
        self.alerts: queue.Queue[AlertEvent] = queue.Queue()
        self.counting = False  # from the fault on
        self.requests = self.failed = 0
        self.worst_affected = 0.0  # the largest share of viewers stalled or gone in a window, from the fault on
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, target: Target) -> None:
        d = self.drill
        bound = d.baseline_s + d.inject_window_s[1] + d.time_limit_s + d.recovery.sustain_s + 120
        url = target.stack.endpoints.audience_url
        paths = d.app.paths if d.app is not None else ()
        spec = LoadSpec(
            url,
            d.rps,
            bound,
            d.users,
            d.model,
            None,
            SLO_MS,
            seed=self.seed,
            paths=paths,
            waves_every_s=d.waves_every_s,
        )

        def drive() -> None:
            try:
                run_load(
                    spec,
                    rules=list(d.rules),
                    sinks=[self],
                    balancer=target.api,
                    on_tick=self._tick,
                    on_sample=self._sample,
                    stop=self._stop.is_set,
                    keep_samples=False,
                )
            except BaseException as exc:  # surfaced on the controller's next tick
                self.failure = exc

        self._thread = threading.Thread(target=drive, name="drill-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def send(self, event: AlertEvent) -> None:  # the monitor's sink (traffic thread)
        self.alerts.put(event)

    def _tick(self, slis: Slis) -> None:
        self.latest = slis
        if self.counting and not slis.held_up:
            self.worst_affected = max(self.worst_affected, slis.audience_affected)

    def _sample(self, sample: Sample) -> None:
        if not self.counting:
            return
        self.requests += 1
        self.failed += bool(sample.error) or sample.status >= 500 or sample.status == 0

    def impact(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "error_share": self.failed / self.requests if self.requests else 0.0,
            "audience_affected": self.worst_affected,
        }


class RealWorld:
    def __init__(self, doors: Doors, drill: Drill, bus: Bus, seed: int, run_id: str) -> None:
        self.doors = doors
        self.drill = drill
        self.bus = bus
        self.run_id = run_id
        self.audience = Audience(drill, seed)
        self._target: Target | None = None
        self._lb_started: str | None = None
        self._faulted_config = ""
        self._faulted_worker = 0

    @property
    def target(self) -> Target:
        if self._target is None:
            raise DrillError(f"run {self.run_id} has no stack yet")
        return self._target

    def provision(self) -> dict[str, str]:
        d = self.drill
        app = AppSettings(capacity=d.capacity, service_ms=d.service_ms, queue=d.queue)
        spec = StackSpec(
            d.replicas, app=app, monitoring=d.monitoring, alert_rules=tuple(d.rules), own_app=d.app, balancer=d.balancer
        )
        record = provision.up(self.doors, spec, self.bus.notice, run_id=self.run_id)
        self._target = Target(open_stack(self.doors, self.run_id))
        self._lb_started = self._lb_start_time()
        return {k: str(v) for k, v in record.summary().items()}

    def start_traffic(self) -> None:
        self.audience.start(self.target)

    def latest(self) -> Slis | None:
        if self.audience.failure is not None:
            raise DrillError(f"the traffic generator stopped: {self.audience.failure}")
        return self.audience.latest

    def alerts(self) -> list[AlertEvent]:
        found = []
        while not self.audience.alerts.empty():
            found.append(self.audience.alerts.get_nowait())
        return found

    def inject(self, variant: Variant) -> str:
        plan = inject.plan(self.target, variant.fault, dict(variant.params))
        self.audience.counting = True
        inject.inject(self.target, plan)
        self._faulted_config = self.target.config_path.read_text()
        self._faulted_worker = self._worker()
        return plan.summary

    def _worker(self) -> int:
        try:
            return self.target.api.worker_pid()
        except DrillError:
            return 0

    def fault_facts(self) -> dict[str, Any]:
        """What the postmortem may say about the fault: its route and the audit of the faulted config."""
        saved = self.target.saved()
        name = self.target.config_path.name
        findings = audit.audit_text(self._faulted_config, name)
        return {"route": saved.route if saved else "", "audit": [str(f) for f in findings]}

    def fix_evidence(self) -> str:
        """How the fix was made, from what can be observed: config diff, reload, restart."""
        now = self.target.config_path.read_text()
        diff = unified_diff(self._faulted_config, now, self.target.config_path.name).splitlines()
        changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        parts = []
        if changed:
            edits = "; ".join(f"{line[0]} {line[1:].strip()}" for line in changed[:6])
            parts.append(f"the balancer config was edited ({edits})")
        if self.balancer_restarted():
            parts.append("the balancer container was restarted")
        elif self._worker() not in (self._faulted_worker, 0):
            parts.append("the balancer was reloaded gracefully")
        return ", and ".join(parts) or "runtime API changes only (no config edit, no reload, no restart)"

    def fault_in_effect(self) -> tuple[bool, str]:
        return inject.in_effect(self.target)

    def revert(self) -> str:
        return inject.revert(self.target)

    def balancer_restarted(self) -> bool:
        return self._lb_started is not None and self._lb_start_time() not in (self._lb_started, None)

    def _lb_start_time(self) -> str | None:
        try:
            return self.doors.runtime.inspect(self.run_id, "lb").started_at or None
        except DrillError:
            return None

    def impact(self) -> dict[str, float]:
        return self.audience.impact()

    def teardown(self, keep: bool) -> None:
        self.audience.stop()
        if not keep:
            teardown.down(self.doors, self.run_id)
