"""Container faults (red herrings and other drills), through the Docker SDK door.

container.latency adds delay with tc netem inside the target's network namespace, from a
throwaway helper container, as Pumba does; kernels built without sch_netem (some VM
kernels) refuse it, and `route=cpu` slows the container by starving its CPU quota instead.
"""

from __future__ import annotations

from chaos.plan import Plan
from chaos.target import Saved, Target
from drills.errors import DrillError

TC_IMAGES = ("drill/base:bookworm", "drill/lb:latest")  # images with tc (iproute2) when built locally
CPU_PERIOD_US = 100_000
ADD_NETEM = (
    "for d in $(ls /sys/class/net); do [ $d = lo ] || tc qdisc replace dev $d root netem delay {ms}ms || exit 1; done"
)
DEL_NETEM = (
    "for d in $(ls /sys/class/net); do tc qdisc show dev $d | grep -q netem && tc qdisc del dev $d root; done; true"
)


def before(target: Target, service: str) -> dict[str, str]:
    """What a revert needs to know about the target before the fault."""
    info = target.runtime.inspect(target.run_id, service)
    return {"target": service, "status": info.status, "cpu_quota": str(info.cpu_quota)}


def apply(target: Target, p: Plan) -> None:
    service = p.params["target"]
    if p.fault == "container.pause":
        target.runtime.pause(target.run_id, service)
    elif p.fault == "container.kill":
        target.runtime.kill(target.run_id, service)
    elif p.route == "cpu":
        quota = max(int(float(p.params["cpus"]) * CPU_PERIOD_US), 1000)
        target.runtime.set_cpu_quota(target.run_id, service, CPU_PERIOD_US, quota)
    else:
        _netns(target, service, ADD_NETEM.format(ms=int(float(p.params["delay_ms"]))))


def in_effect(target: Target, saved: Saved) -> tuple[bool, str]:
    service = saved.container["target"]
    container = target.runtime.inspect(target.run_id, service)
    if saved.fault == "container.pause":
        return container.status == "paused", f"{service} is {container.status}"
    if saved.fault == "container.kill":
        return container.status != "running", f"{service} is {container.status}"
    if container.status != "running":
        return False, f"{service} is {container.status}"
    if saved.route == "cpu":
        quota = container.cpu_quota
        throttled = quota > 0 and str(quota) != saved.container.get("cpu_quota", "0")
        return throttled, f"{service} CPU quota {quota} us per {CPU_PERIOD_US} us" if quota > 0 else "no CPU quota"
    shown = _netns(target, service, "tc qdisc show")
    return "netem" in shown, f"qdiscs of {service}: {' | '.join(shown.strip().splitlines())}"


def revert(target: Target, saved: Saved) -> None:
    service = saved.container["target"]
    status = target.runtime.inspect(target.run_id, service).status
    if status == "paused":
        target.runtime.unpause(target.run_id, service)
    elif status != "running":
        target.runtime.start(target.run_id, service)
    if saved.fault == "container.latency" and saved.route == "cpu":
        was = int(saved.container.get("cpu_quota", "0"))
        target.runtime.set_cpu_quota(target.run_id, service, CPU_PERIOD_US, was if was > 0 else -1)
    elif saved.fault == "container.latency":
        _netns(target, service, DEL_NETEM)


def _netns(target: Target, service: str, script: str) -> str:
    """Run `script` in a throwaway container sharing `service`'s network namespace."""
    image = next((i for i in TC_IMAGES if target.runtime.image_labels(i) is not None), None)
    if image is None:
        raise DrillError("container.latency needs an image with tc (iproute2): `drill images build --base local`")
    code, output = target.runtime.run_in_netns(target.run_id, service, image, ["sh", "-c", script])
    if "qdisc kind is unknown" in output:
        raise DrillError(
            "this kernel has no sch_netem, so tc cannot add delay; use --param route=cpu to slow the container instead"
        )
    if code != 0:
        raise DrillError(f"tc in {service}'s network namespace failed ({code}): {output.strip()[:200]}")
    return output
