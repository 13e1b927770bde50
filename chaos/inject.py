"""Carry fault plans out against a run, and undo them exactly.

Before anything changes, the pre-fault state is saved with the run (`runs/<id>/fault/`):
the balancer config file byte for byte, and the runtime state of every server. So a
revert works from any process: the controller that applied the fault, `drill chaos
revert`, or `drill down` after the controller was killed. A revert that cannot restore
that state says so and keeps the saved copy.
"""

from __future__ import annotations

import shutil

from chaos import containers, faults
from chaos.faults import Fault
from chaos.hapconfig import unified_diff
from chaos.plan import Plan
from chaos.target import Saved, Target
from doors.balancer import ADMIN_CONFIG_MAINT, ADMIN_FORCED_DRAIN, ADMIN_FORCED_MAINT, BACKEND, BalancerState
from doors.http import HttpProbe
from drills.errors import DrillError, UsageError

APPLY_DEADLINE_S = 30.0
REVERT_DEADLINE_S = 45.0
ADMIN_BITS = ADMIN_FORCED_MAINT | ADMIN_CONFIG_MAINT | ADMIN_FORCED_DRAIN


def plan(target: Target, name: str, params: dict[str, str]) -> Plan:
    fault = faults.get(name)
    if fault.kind == "balancer" and fault.balancer != target.stack.kind:
        raise UsageError(
            f"FAULT {name} is for {fault.balancer}, and run {target.run_id}'s balancer is {target.stack.kind}; "
            f"`drill chaos list` shows each fault's balancer"
        )
    return fault.plan(target.config_path.read_text(), params, target.scope())


def describe(target: Target, p: Plan) -> str:
    """The plan in words: the summary, then the exact config diff, runtime commands or actions."""
    lines = [f"{p.fault} (route: {p.route}): {p.summary}"]
    if p.patch:
        before = target.config_path.read_text()
        lines.append(unified_diff(before, p.patch.apply(before), str(target.config_path)).rstrip())
        signal = target.stack.reload_signal.removeprefix("SIG")
        lines.append(f"then: reload the balancer (docker kill -s {signal} {_lb_name(target)})")
    lines += [f"runtime API: {c}" for c in p.commands]
    lines += [f"docker: {a}" for a in p.actions]
    return "\n".join(lines)


def _lb_name(target: Target) -> str:
    return target.runtime.inspect(target.run_id, "lb").name or "lb"


def _snapshot(state: BalancerState) -> dict[str, dict[str, int]]:
    limits = {s.name: s.limit for s in state.stats}
    return {
        s.name: {
            "weight": s.weight,
            "admin": s.admin & ADMIN_BITS,
            "checked": int(s.checked),
            "agent": int(s.agent),
            "limit": limits.get(s.name, 0),
            "up": int(s.operational == 2),
        }
        for s in state.servers
    }


def inject(target: Target, p: Plan) -> None:
    """Save the pre-fault state, apply the plan, wait until the running system shows it.

    Anything going wrong on the way, Ctrl-C included, reverts before the error surfaces."""
    if target.saved() is not None:
        raise UsageError(
            f"run {target.run_id} already has a fault applied; `drill chaos revert --run {target.run_id}` first"
        )
    fault = faults.get(p.fault)
    _save(target, p, fault)
    try:
        if fault.kind == "balancer":
            _apply_balancer(target, p, fault)
        else:
            containers.apply(target, p)
            target.wait(f"{p.fault} on {p.params['target']}", lambda: in_effect(target), APPLY_DEADLINE_S)
    except BaseException:
        revert(target)
        raise


def _save(target: Target, p: Plan, fault: Fault) -> None:
    target.fault_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target.config_path, target.fault_dir / "haproxy.cfg.before")
    state = target.state()
    container: dict[str, str] = {}
    if fault.kind == "container":
        container = containers.before(target, p.params["target"])
    applied_at = target.clock.utc().isoformat(timespec="seconds")
    target.save(Saved(p.fault, p.route, dict(p.params), applied_at, p.summary, _snapshot(state), state.algo, container))


def _apply_balancer(target: Target, p: Plan, fault: Fault) -> None:
    if p.patch:
        target.config_path.write_text(p.patch.apply(target.config_path.read_text()))
        target.reload()
    for command in p.commands:
        target.api.run(command)
    target.wait(
        f"{p.fault} to show in the running balancer", lambda: _fully_applied(target, fault, p), APPLY_DEADLINE_S
    )


def _fully_applied(target: Target, fault: Fault, p: Plan) -> tuple[bool, str]:
    effect, seen = in_effect(target)
    if effect and fault.complete is not None:
        return fault.complete(target.state(), p.params), seen
    return effect, seen


def in_effect(target: Target) -> tuple[bool, str]:
    """Is the active fault still there, judged from the running system, not from the files?"""
    saved = target.saved()
    if saved is None:
        return False, "no fault applied"
    fault = faults.get(saved.fault)
    if fault.kind == "container":
        return containers.in_effect(target, saved)
    assert fault.check is not None
    try:
        state = target.state()
    except DrillError as exc:
        return True, f"balancer not answering ({exc})"
    return fault.check(state, saved.params)


def revert(target: Target) -> str:
    """Restore the pre-fault state exactly; raise, keeping the saved state, if it cannot be."""
    saved = target.saved()
    if saved is None:
        return "no fault applied: nothing to revert"
    fault = faults.get(saved.fault)
    try:
        if fault.kind == "balancer":
            _revert_balancer(target, saved)
        else:
            containers.revert(target, saved)
            target.wait("the container fault to clear", lambda: _cleared(target), REVERT_DEADLINE_S)
            target.wait(
                "the balancer's servers to match their pre-fault state",
                lambda: _matches(target, saved),
                REVERT_DEADLINE_S,
            )
    except (DrillError, OSError, KeyError, ValueError) as exc:
        raise DrillError(
            f"REVERT OF {saved.fault} ON RUN {target.run_id} IS INCOMPLETE: {exc}; "
            f"the pre-fault state is kept in {target.fault_dir}"
        ) from None
    shutil.rmtree(target.fault_dir)
    return f"reverted {saved.fault} on run {target.run_id}: config and runtime state as before"


def _revert_balancer(target: Target, saved: Saved) -> None:
    before = (target.fault_dir / "haproxy.cfg.before").read_bytes()
    changed = target.config_path.read_bytes() != before
    if changed:
        target.config_path.write_bytes(before)
    if changed or saved.route == "config":
        target.reload()
    if target.stack.kind == "nginx":  # no runtime state: the running config must be the saved file
        target.wait("nginx to run the pre-fault config", lambda: _runs_config(target, before), REVERT_DEADLINE_S)
        return
    _restore_runtime(target, saved)
    target.wait(
        "the balancer's servers to match their pre-fault state", lambda: _matches(target, saved), REVERT_DEADLINE_S
    )


def _runs_config(target: Target, before: bytes) -> tuple[bool, str]:
    running = target.state().config
    body = "".join(line for line in running.splitlines(keepends=True) if not line.startswith("# configuration file "))
    same = body.strip() == before.decode().strip()
    return same, "the running config is the saved one" if same else "the running config differs from the saved one"


def _restore_runtime(target: Target, saved: Saved) -> None:
    """Runtime API changes that survive in the running process (weights, drain, maxconn)."""
    now = _snapshot(target.state())
    for name, was in saved.servers.items():
        current = now.get(name)
        if current is None:
            continue
        server = f"{BACKEND}/{name}"
        if current["weight"] != was["weight"]:
            target.api.run(f"set weight {server} {was['weight']}")
        runtime_admin = was["admin"] & (ADMIN_FORCED_MAINT | ADMIN_FORCED_DRAIN)
        if current["admin"] & (ADMIN_FORCED_MAINT | ADMIN_FORCED_DRAIN) != runtime_admin:
            state = "maint" if runtime_admin & ADMIN_FORCED_MAINT else "drain" if runtime_admin else "ready"
            target.api.run(f"set server {server} state {state}")
        if current["limit"] != was["limit"]:  # 0: unlimited
            target.api.run(f"set maxconn server {server} {was['limit']}")
        for key, word in (("checked", "health"), ("agent", "agent")):
            if current[key] != was[key]:
                target.api.run(f"{'enable' if was[key] else 'disable'} {word} {server}")


def _matches(target: Target, saved: Saved) -> tuple[bool, str]:
    try:
        state = target.state()
    except DrillError as exc:
        return False, str(exc)
    now = _snapshot(state)
    differences = [
        f"{name}.{key}={now.get(name, {}).get(key)} (was {value})"
        for name, was in saved.servers.items()
        for key, value in was.items()
        if now.get(name, {}).get(key) != value
    ]
    if state.algo != saved.algo:
        differences.append(f"balance {state.algo} (was {saved.algo})")
    return not differences, ", ".join(differences) or "as before"


def check(target: Target, http: HttpProbe) -> tuple[bool, str]:
    """Fixed, as a facilitator means it: the fault no longer in effect AND the stack serving as
    before it. A fix that breaks the service another way (every server's maxconn set to 0, all
    servers in maintenance) is not a fix: (False, what is seen)."""
    effect, seen = in_effect(target)
    if effect:
        return False, f"in effect: {seen}"
    page = target.stack.serving_path
    status = http.status(target.stack.endpoints.url, page)
    saved = target.saved()
    same, differences = _matches(target, saved) if saved is not None else (True, "as before")
    if status != 200:
        return (
            False,
            f"not in effect ({seen}), but the stack is not serving: GET {page} -> {status or 'no answer'}",
        )
    if not same:
        return True, f"not in effect ({seen}); the stack serves, though it differs from before the fault: {differences}"
    return True, f"not in effect: {seen}; the stack serves as before the fault"


def _cleared(target: Target) -> tuple[bool, str]:
    effect, seen = in_effect(target)
    return not effect, seen
