"""The autopilot: a scripted responder that follows the playbook with a person's real means.

It waits for the alert on the timeline, acknowledges, rules out the database (redis-cli
ping inside the db container, a catalog request through the balancer), reads the
balancer's runtime state, audits the run's config file, diagnoses, repairs the file and
reloads the balancer (SIGUSR2 to HAProxy as `docker kill -s USR2` does, SIGHUP to nginx as
`nginx -s reload` does), waits until drill observes
recovery, and declares resolved. It never calls the fault's revert: it has to find out.
A look that finds nothing wrong (an alert before any fault) is not the end: at the next
alert it looks again. If it gives up, that goes on the timeline as its note.
"""

from __future__ import annotations

import threading

from chaos import audit, nginx_faults
from doors.clock import wait_for
from drills.errors import DrillError
from playbooks import grading, responders
from playbooks.repair import repair
from playbooks.repair_nginx import repair_nginx
from playbooks.repair_outages import repair_checks, restore_slots
from scoreboard.store import Store
from scoreboard.timeline import first
from stack.handle import RunStack

NAME = "autopilot"


class Autopilot:
    def __init__(self, stack: RunStack, store: Store, time_limit_s: float, watch_s: float = 0.0) -> None:
        self.stack = stack
        # after acknowledging, watch the graphs this long before touching anything (as a person
        # does before deciding it is more than a blip): lets a demo or a test see the fault's shape
        self.watch_s = watch_s
        self.store = store
        self.run_id = stack.run_id
        self.time_limit_s = time_limit_s
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
                self.store.append(self.run_id, "note", NAME, f"autopilot gave up: {exc}", {"gave_up": True})

    def _note(self, text: str) -> None:
        responders.note(self.store, self.run_id, NAME, text)

    def _wait_event(self, what: str, name: str, deadline_s: float) -> None:
        def probe() -> tuple[bool, str]:
            if self.stopped.is_set():
                raise DrillError("the run ended")
            found = first(self.store.events(self.run_id), name)
            return found is not None, "not yet" if found is None else found.detail

        wait_for(what, probe, deadline_s, 0.25, clock=self.stack.doors.clock)

    def respond(self) -> None:
        self._wait_event("an alert on the timeline", "alert_fired", self.time_limit_s + 120)
        responders.ack(self.store, self.run_id, NAME)
        if self._pause(self.watch_s):
            return
        while True:
            alerts = self._alerts_so_far()
            if self._investigate_and_fix() or self._recovered_before_another_alert(alerts):
                break  # a fix, or nothing found and the reload cleared it (a runtime API fault)
        self._wait_event("drill to observe recovery", "mitigated", self.time_limit_s)
        for _ in range(20):  # declare once drill agrees; a premature one is recorded (and costs)
            answer = responders.request(
                self.store, self.run_id, NAME, "resolve", ("resolve_declared", "premature_resolve")
            )
            if answer.event == "resolve_declared" or self._pause(2.0):
                return

    def _investigate_and_fix(self) -> bool:
        """One look: the database, the balancer's state and config, its server slots; then the
        fix and a reload. True if it found something wrong (a reload alone may still have
        cleared a fault made through the runtime API)."""
        self._rule_out_database()
        findings, state = self._inspect_balancer()
        missing = self._replicas_without_slot()
        said = [f"{f.rule} at line {f.line}" for f in findings] + [f"no server slot for {n}" for n in missing]
        grading.diagnose(self.store, self.run_id, NAME, "balancer", "; ".join(said) or state)
        self._fix(findings, missing)
        return bool(findings or missing)

    def _alerts_so_far(self) -> int:
        return sum(e.event == "alert_fired" for e in self.store.events(self.run_id))

    def _recovered_before_another_alert(self, fired: int) -> bool:
        """After a look that found nothing (an alert before any fault, say, a blip at start-up):
        True once drill observes recovery, False when an alert fires beyond the `fired` first."""
        outcome: list[bool] = []

        def probe() -> tuple[bool, str]:
            if self.stopped.is_set():
                raise DrillError("the run ended")
            events = self.store.events(self.run_id)
            if first(events, "mitigated") is not None:
                outcome.append(True)
            elif sum(e.event == "alert_fired" for e in events) > fired:
                outcome.append(False)
            return bool(outcome), "neither yet"

        wait_for(
            "drill to observe recovery, or another alert", probe, self.time_limit_s, 0.25, clock=self.stack.doors.clock
        )
        return outcome[0]

    def _pause(self, seconds: float) -> bool:
        """Wait `seconds` on the stack's clock (a fake one in unit tests); True if the run ended meanwhile."""
        clock = self.stack.doors.clock
        until = clock.now() + seconds
        while not self.stopped.is_set() and (left := until - clock.now()) > 0:
            clock.sleep(min(left, 0.25))
        return self.stopped.is_set()

    def _rule_out_database(self) -> None:
        doors = self.stack.doors
        code, output = doors.runtime.exec(self.run_id, "db", ["redis-cli", "ping"])
        page = self.stack.serving_path
        status = doors.http.status(self.stack.endpoints.url, page)
        verdict = "innocent" if code == 0 and "PONG" in output else "suspect"
        self._note(
            f"database {verdict}: redis-cli ping in db -> {output.strip()!r}; "
            f"GET {page} through the balancer -> {status}"
        )

    def _inspect_balancer(self) -> tuple[list[audit.Finding], str]:
        state = self.stack.balancer.state()
        servers = ", ".join(
            f"{s.name} {s.status} w{s.weight}" + (f" slim {s.limit}" if s.limit else "") for s in state.stats
        )
        seen = f"balance {state.algo}; {servers}"
        self._note(f"balancer stats: {seen}")
        config = self.stack.config_path
        if self.stack.kind == "nginx":  # its upstream's every finding: a lone worker with idle backups is one
            return nginx_faults.findings_in_upstream(config.read_text()), seen
        findings = audit.at_or_above(audit.audit_haproxy(config.read_text(), str(config)), "warning")
        return findings, seen

    def _replicas_without_slot(self) -> list[str]:
        """Replicas that run but that the balancer has no server for (`docker ps` vs the stats page)."""
        state = self.stack.balancer.state()
        missing = [name for name in self.stack.replicas if state.state(name) is None]
        if missing:
            self._note(f"running replicas the balancer does not know: {', '.join(missing)}")
        return missing

    def _fix(self, findings: list[audit.Finding], missing: list[str]) -> None:
        config = self.stack.config_path
        before = config.read_text()
        if self.stack.kind == "nginx":
            after = repair_nginx(before, findings)
        else:
            checked = repair_checks(repair(before, findings), findings, self.stack.health_path)
            after = restore_slots(checked, missing)
        if after != before:
            config.write_text(after)
        fixed = sorted({f.rule for f in findings}) + (["missing server slots"] if missing else [])
        what = "repaired " + ", ".join(fixed) if after != before else "config clean"
        signal = self.stack.reload_signal  # a reload also drops runtime-only changes
        self.stack.doors.runtime.signal(self.run_id, "lb", signal)
        self._note(f"{what}; reloaded the balancer ({signal})")
