"""The autopilot: a scripted responder that follows the playbook with a person's real means.

It waits for the alert on the timeline, acknowledges, rules out the database (redis-cli
ping inside the db container, a catalog request through the balancer), reads the
balancer's runtime state, audits the run's config file, diagnoses, repairs the file and
reloads the balancer (SIGUSR2, as `docker kill -s USR2` does), waits until drill observes
recovery, and declares resolved. It never calls the fault's revert: it has to find out.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable

from chaos import audit
from chaos.engine import Engine
from chaos.haproxy import RuntimeApi
from drills import responders
from drills.errors import DrillError
from drills.runs import Endpoints, RunDir
from drills.waiting import wait_for
from playbooks.repair import repair
from scoreboard.store import Store
from scoreboard.timeline import first

NAME = "autopilot"


class Autopilot:
    def __init__(
        self, engine: Engine, store: Store, run_id: str, time_limit_s: float, say: Callable[[str], None]
    ) -> None:
        self.engine = engine
        self.store = store
        self.run_id = run_id
        self.time_limit_s = time_limit_s
        self.say = say
        self.thread = threading.Thread(target=self._safely, name="drill-autopilot", daemon=True)
        self.stopped = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _safely(self) -> None:
        try:
            self.respond()
        except DrillError as exc:
            if not self.stopped.is_set():
                self.say(f"  autopilot gave up: {exc}")

    def _wait_event(self, what: str, name: str, deadline_s: float) -> None:
        def probe() -> tuple[bool, str]:
            if self.stopped.is_set():
                raise DrillError("the run ended")
            found = first(self.store.events(self.run_id), name)
            return found is not None, "not yet" if found is None else found.detail

        wait_for(what, probe, deadline_s, 0.25)

    def respond(self) -> None:
        self._wait_event("an alert on the timeline", "alert_fired", self.time_limit_s + 120)
        responders.ack(self.store, self.run_id, NAME)
        self._rule_out_database()
        findings, state = self._inspect_balancer()
        summary = "; ".join(f"{f.rule} at line {f.line}" for f in findings) or state
        responders.diagnose(self.store, self.run_id, NAME, "balancer", summary)
        self._fix(findings)
        self._wait_event("drill to observe recovery", "mitigated", self.time_limit_s)
        for _ in range(20):  # declare once drill agrees; a premature one is recorded (and costs)
            answer = responders.request(
                self.store, self.run_id, NAME, "resolve", ("resolve_declared", "premature_resolve")
            )
            if answer.event == "resolve_declared" or self.stopped.wait(2.0):
                return

    def _stack(self) -> tuple[RunDir, Endpoints]:
        run = RunDir(self.run_id)
        record = run.load()
        if record is None or record.endpoints is None:
            raise DrillError(f"run {self.run_id} has no stack record")
        return run, record.endpoints

    def _rule_out_database(self) -> None:
        code, output = self.engine.exec(self.run_id, "db", ["redis-cli", "ping"])
        _, endpoints = self._stack()
        conn = http.client.HTTPConnection("127.0.0.1", endpoints.lb_port, timeout=5)
        try:
            conn.request("GET", "/api/catalog")
            status = conn.getresponse().status
        except OSError as exc:
            status = 0
            output += f" (catalog: {exc})"
        finally:
            conn.close()
        verdict = "innocent" if code == 0 and "PONG" in output else "suspect"
        responders.note(
            self.store,
            self.run_id,
            NAME,
            f"database {verdict}: redis-cli ping in db -> "
            f"{output.strip()!r}; GET /api/catalog through the balancer "
            f"-> {status}",
        )

    def _inspect_balancer(self) -> tuple[list[audit.Finding], str]:
        run, endpoints = self._stack()
        state = RuntimeApi("127.0.0.1", endpoints.api_port).state()
        servers = ", ".join(
            f"{s.name} {s.status} w{s.weight}" + (f" slim {s.limit}" if s.limit else "") for s in state.stats
        )
        seen = f"balance {state.algo}; {servers}"
        responders.note(self.store, self.run_id, NAME, f"balancer stats: {seen}")
        config = run.lb_config_dir / "haproxy.cfg"
        findings = audit.at_or_above(audit.audit_haproxy(config.read_text(), str(config)), "warning")
        return findings, seen

    def _fix(self, findings: list[audit.Finding]) -> None:
        run, _ = self._stack()
        config = run.lb_config_dir / "haproxy.cfg"
        before = config.read_text()
        after = repair(before, findings)
        if after != before:
            config.write_text(after)
        what = "repaired " + ", ".join(sorted({f.rule for f in findings})) if after != before else "config clean"
        self.engine.signal(self.run_id, "lb", "SIGUSR2")  # a reload also drops runtime-only changes
        responders.note(self.store, self.run_id, NAME, f"{what}; reloaded the balancer (SIGUSR2)")
