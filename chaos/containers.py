"""Container faults (red herrings and other drills), through the Docker SDK door.

container.latency adds delay with tc netem inside the target's network namespace, from a
throwaway helper container, as Pumba does; kernels built without sch_netem (some VM
kernels) refuse it, and `route=cpu` slows the container by starving its CPU quota instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docker.models.containers import Container

from chaos.faults import Plan
from drills.errors import DrillError

if TYPE_CHECKING:
    from chaos.inject import Saved, Target

TC_IMAGES = ("drill/base:bookworm", "drill/lb:latest")  # images with tc (iproute2) when built locally
CPU_PERIOD_US = 100_000
ADD_NETEM = (
    "for d in $(ls /sys/class/net); do [ $d = lo ] || tc qdisc replace dev $d root netem delay {ms}ms || exit 1; done"
)
DEL_NETEM = (
    "for d in $(ls /sys/class/net); do tc qdisc show dev $d | grep -q netem && tc qdisc del dev $d root; done; true"
)


def before(container: Container) -> dict[str, str]:
    """What a revert needs to know about the target before the fault."""
    container.reload()
    quota = (container.attrs.get("HostConfig") or {}).get("CpuQuota") or 0
    return {"target": _service(container), "status": container.status, "cpu_quota": str(quota)}


def _service(container: Container) -> str:
    return str((container.labels or {}).get("com.docker.compose.service", container.name or ""))


def apply(target: Target, p: Plan) -> None:
    container = target.engine.container(target.run_id, p.params["target"])
    if p.fault == "container.pause":
        container.pause()
    elif p.fault == "container.kill":
        container.kill()
    elif p.route == "cpu":
        quota = max(int(float(p.params["cpus"]) * CPU_PERIOD_US), 1000)
        container.update(cpu_period=CPU_PERIOD_US, cpu_quota=quota)
    else:
        _netns(target, p.params["target"], ADD_NETEM.format(ms=int(float(p.params["delay_ms"]))))


def in_effect(target: Target, saved: Saved) -> tuple[bool, str]:
    service = saved.container["target"]
    container = target.engine.container(target.run_id, service)
    if saved.fault == "container.pause":
        return container.status == "paused", f"{service} is {container.status}"
    if saved.fault == "container.kill":
        return container.status != "running", f"{service} is {container.status}"
    if container.status != "running":
        return False, f"{service} is {container.status}"
    if saved.route == "cpu":
        quota = (container.attrs.get("HostConfig") or {}).get("CpuQuota") or 0
        throttled = quota > 0 and str(quota) != saved.container.get("cpu_quota", "0")
        return throttled, f"{service} CPU quota {quota} us per {CPU_PERIOD_US} us" if quota > 0 else "no CPU quota"
    shown = _netns(target, service, "tc qdisc show")
    return "netem" in shown, f"qdiscs of {service}: {' | '.join(shown.strip().splitlines())}"


def revert(target: Target, saved: Saved) -> None:
    service = saved.container["target"]
    container = target.engine.container(target.run_id, service)
    if container.status == "paused":
        container.unpause()
    elif container.status != "running":
        container.start()
    if saved.fault == "container.latency" and saved.route == "cpu":
        was = int(saved.container.get("cpu_quota", "0"))
        container.update(cpu_period=CPU_PERIOD_US, cpu_quota=was if was > 0 else -1)
    elif saved.fault == "container.latency":
        _netns(target, service, DEL_NETEM)


def _netns(target: Target, service: str, script: str) -> str:
    """Run `script` in a throwaway container sharing `service`'s network namespace."""
    image = next((i for i in TC_IMAGES if target.engine.image_labels(i) is not None), None)
    if image is None:
        raise DrillError("container.latency needs an image with tc (iproute2): `drill images build --base local`")
    code, output = target.engine.run_in_netns(target.run_id, service, image, ["sh", "-c", script])
    if "qdisc kind is unknown" in output:
        raise DrillError(
            "this kernel has no sch_netem, so tc cannot add delay; use --param route=cpu to slow the container instead"
        )
    if code != 0:
        raise DrillError(f"tc in {service}'s network namespace failed ({code}): {output.strip()[:200]}")
    return output
