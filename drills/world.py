"""The real World of a run: the stack (drills.provision), traffic and its monitor in a thread
(traffic.load), the fault (chaos.inject). drills.controller drives it."""

from __future__ import annotations

import queue
import threading
from typing import Any

from chaos import audit, inject
from chaos.engine import Engine
from chaos.hapconfig import unified_diff
from drills import provision
from drills.definition import Drill, Variant
from drills.errors import DrillError
from drills.runs import RunRecord
from drills.stack import AppSettings, StackSpec
from telemetry.rules import AlertEvent
from telemetry.windows import Slis
from traffic.load import LoadSpec, run_load
from traffic.sample import Sample

SLO_MS = 400.0


class RealWorld:
    def __init__(self, engine: Engine, drill: Drill, progress: Any, seed: int, run_id: str) -> None:
        self.wanted_run_id = run_id
        self.engine = engine
        self.drill = drill
        self.progress = progress
        self.seed = seed
        self.record: RunRecord | None = None
        self.target: inject.Target | None = None
        self._latest: Slis | None = None
        self._alerts: queue.Queue[AlertEvent] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._counting = False
        self._requests = self._failed = 0
        self._users: set[int] = set()
        self._hurt: set[int] = set()
        self._lb_started: str | None = None
        self._faulted_config = ""
        self._faulted_worker = 0

    @property
    def run_id(self) -> str:
        assert self.record is not None
        return self.record.run_id

    def provision(self) -> dict[str, str]:
        spec = StackSpec(
            self.drill.replicas, app=AppSettings(capacity=self.drill.capacity, service_ms=self.drill.service_ms)
        )
        self.record = provision.up(self.engine, spec, self.progress, run_id=self.wanted_run_id)
        self.target = inject.Target(self.engine, self.record.run_id)
        self._lb_started = self._lb_start_time()
        return {k: str(v) for k, v in self.record.summary().items()}

    def start_traffic(self) -> None:
        assert self.record is not None and self.record.endpoints is not None
        d = self.drill
        bound = d.baseline_s + d.inject_window_s[1] + d.time_limit_s + d.recovery.sustain_s + 120
        spec = LoadSpec(self.record.endpoints.url, d.rps, bound, d.users, d.model, None, SLO_MS, seed=self.seed)
        assert self.target is not None
        api = self.target.api

        def drive() -> None:
            try:
                run_load(
                    spec,
                    rules=list(d.rules),
                    sinks=[self],
                    balancer=api,
                    on_tick=self._tick,
                    on_sample=self._sample,
                    stop=self._stop.is_set,
                    keep_samples=False,
                )
            except BaseException as exc:  # surfaced on the controller's next tick
                self._failure = exc

        self._thread = threading.Thread(target=drive, name="drill-traffic", daemon=True)
        self._thread.start()

    # Monitor hooks (traffic thread) ------------------------------------------------

    def send(self, event: AlertEvent) -> None:
        self._alerts.put(event)

    def _tick(self, slis: Slis) -> None:
        self._latest = slis

    def _sample(self, sample: Sample) -> None:
        if not self._counting:
            return
        self._requests += 1
        self._users.add(sample.user)
        failed = bool(sample.error) or sample.status >= 500 or sample.status == 0
        self._failed += failed
        if failed or sample.latency * 1000 > SLO_MS:
            self._hurt.add(sample.user)

    # Controller side -------------------------------------------------------------------

    def latest(self) -> Slis | None:
        if self._failure is not None:
            raise DrillError(f"the traffic generator stopped: {self._failure}")
        return self._latest

    def alerts(self) -> list[AlertEvent]:
        found = []
        while not self._alerts.empty():
            found.append(self._alerts.get_nowait())
        return found

    def inject(self, variant: Variant) -> str:
        assert self.target is not None
        plan = inject.plan(self.target, variant.fault, dict(variant.params))
        self._counting = True
        inject.inject(self.target, plan)
        self._faulted_config = self.target.config_path.read_text()
        self._faulted_worker = self._worker()
        return plan.summary

    def _worker(self) -> int:
        assert self.target is not None
        try:
            return self.target.api.worker_pid()
        except DrillError:
            return 0

    def fault_facts(self) -> dict[str, Any]:
        """What the postmortem may say about the fault: its route and the audit of the faulted config."""
        assert self.target is not None
        saved = self.target.saved()
        findings = audit.audit_haproxy(self._faulted_config, "haproxy.cfg")
        return {"route": saved.route if saved else "", "audit": [str(f) for f in findings]}

    def fix_evidence(self) -> str:
        """How the fix was made, from what can be observed: config diff, reload, restart."""
        assert self.target is not None
        now = self.target.config_path.read_text()
        changed = [
            line
            for line in unified_diff(self._faulted_config, now, "haproxy.cfg").splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
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
        assert self.target is not None
        return inject.in_effect(self.target)

    def revert(self) -> str:
        assert self.target is not None
        return inject.revert(self.target)

    def balancer_restarted(self) -> bool:
        return self._lb_started is not None and self._lb_start_time() not in (self._lb_started, None)

    def _lb_start_time(self) -> str | None:
        try:
            container = self.engine.container(self.run_id, "lb")
        except DrillError:
            return None
        return str((container.attrs.get("State") or {}).get("StartedAt"))

    def impact(self) -> dict[str, float]:
        return {
            "requests": self._requests,
            "error_share": self._failed / self._requests if self._requests else 0.0,
            "audience_affected": len(self._hurt) / len(self._users) if self._users else 0.0,
        }

    def teardown(self, keep: bool) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if not keep:
            provision.down(self.engine, self.wanted_run_id)
