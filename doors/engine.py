"""The real container runtime: the Docker engine through the Docker SDK (one client per
process), and compose through its CLI (doors.compose) for `up` and `down`.

It implements doors.runtime.ContainerRuntime and hands out plain values only: callers never
hold an SDK object, so they can run against doors.fakes.FakeRuntime in unit tests.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from doors.clock import SYSTEM_CLOCK, wait_for
from doors.compose import Compose
from doors.runtime import LABEL_HOME, LABEL_MANAGED, LABEL_RUN, SERVICE_LABEL, ContainerInfo, Reaped
from doors.swarmfile import PORTS_LABEL, published_ports
from drills.errors import DrillError, EngineUnavailable

SWARM_SERVICE_ID = "com.docker.swarm.service.id"  # on a swarm task's container
TASK_START_DEADLINE_S = 60.0
NETWORK_GONE_DEADLINE_S = 30.0


def _info(container: Container) -> ContainerInfo:
    attrs = container.attrs
    labels = attrs.get("Config", {}).get("Labels") or {}
    state = attrs.get("State", {})
    ports: list[tuple[str, int]] = []
    for private, bindings in (attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
        for binding in bindings or []:
            if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
                ports.append((private, int(binding["HostPort"])))
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    if SWARM_SERVICE_ID in labels:
        # A swarm task: its ports are published by the run's relay; its overlay addresses are not
        # routable from the host (a connection there could even reach some other host's 10.x).
        ports, networks = list(published_ports(labels.get(PORTS_LABEL, ""))), {}
    return ContainerInfo(
        name=container.name or "",
        service=labels.get(SERVICE_LABEL, ""),
        run_id=labels.get(LABEL_RUN, ""),
        status=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        ports=tuple(ports),
        started_at=str(state.get("StartedAt") or ""),
        cpu_quota=int((attrs.get("HostConfig") or {}).get("CpuQuota") or 0),
        addresses=tuple((name, str(net.get("IPAddress") or "")) for name, net in networks.items()),
    )


class DockerEngine:
    """doors.runtime.ContainerRuntime and ImageBuilder on a Docker engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    @classmethod
    def connect(cls) -> DockerEngine:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        try:
            client = docker.from_env(timeout=120)
            client.ping()
        except docker.errors.DockerException as exc:
            raise EngineUnavailable(
                f"no Docker engine answers at {where}: start one (`make setup` does, as root on Debian) "
                f"or set DOCKER_HOST ({_first_line(exc)})"
            ) from None
        return cls(client)

    def _clients(self) -> list[docker.DockerClient]:
        """The engines whose containers are the runs': this one (a swarm adds its other nodes')."""
        return [self.client]

    def _listed(self, filters: dict[str, Any]) -> list[Container]:
        """Listed sparse, then inspected one by one: a container removed in between (a teardown
        running beside us) is skipped, where the SDK's own list would raise NotFound."""
        found = []
        for client in self._clients():
            for sparse in client.containers.list(all=True, filters=filters, sparse=True):
                with contextlib.suppress(docker.errors.NotFound):
                    found.append(client.containers.get(sparse.id))
        return found

    def _labels(self, run_id: str | None) -> list[str]:
        return [f"{LABEL_RUN}={run_id}"] if run_id else [f"{LABEL_MANAGED}=true"]

    def containers(self, run_id: str | None = None) -> list[ContainerInfo]:
        """The run's containers; of a swarm service's tasks, only the current one (a replica
        started again after a kill is a new task, the old one's container lingers as history)."""
        found = self._listed({"label": self._labels(run_id)})
        current: dict[str, Container] = {}
        for container in _by_preference(found):
            key = (container.labels or {}).get(SWARM_SERVICE_ID) or str(container.id)
            current.setdefault(key, container)
        return sorted((_info(c) for c in current.values()), key=lambda c: c.name)

    def _container(self, run_id: str, service: str) -> Container:
        """The service's container: the running one if any, else the newest (a swarm service keeps
        its ended tasks' containers for a while)."""
        found = self._listed({"label": [f"{LABEL_RUN}={run_id}", f"{SERVICE_LABEL}={service}"]})
        if not found:
            raise DrillError(f"run {run_id} has no {service!r} container; is it up? (`drill status`)")
        return _by_preference(found)[0]

    def inspect(self, run_id: str, service: str) -> ContainerInfo:
        with _sdk(f"inspect {service} of run {run_id}"):
            return _info(self._container(run_id, service))

    def exec(self, run_id: str, service: str, argv: list[str]) -> tuple[int, str]:
        with _sdk(f"exec in {service} of run {run_id}"):
            result = self._container(run_id, service).exec_run(argv, demux=False)
        return result.exit_code, (result.output or b"").decode(errors="replace")

    def signal(self, run_id: str, service: str, signal: str) -> None:
        with _sdk(f"signal {signal} to {service} of run {run_id}"):
            self._container(run_id, service).kill(signal=signal)

    def start(self, run_id: str, service: str) -> None:
        """Start the service's container again. A swarm task cannot be restarted (its network
        attachment went with it): its service gets a new task, and this returns once it runs."""
        with _sdk(f"start {service} of run {run_id}"):
            container = self._container(run_id, service)
            service_id = (container.labels or {}).get(SWARM_SERVICE_ID)
            if service_id is None:
                container.start()
                return
            self.client.services.get(service_id).force_update()

        def running() -> tuple[bool, str]:
            now = self._container(run_id, service)
            return now.id != container.id and now.status == "running", f"{service}: {now.name} {now.status}"

        wait_for(f"a new task of {service} running", running, TASK_START_DEADLINE_S, 0.2, clock=SYSTEM_CLOCK)

    def pause(self, run_id: str, service: str) -> None:
        with _sdk(f"pause {service} of run {run_id}"):
            self._container(run_id, service).pause()

    def unpause(self, run_id: str, service: str) -> None:
        with _sdk(f"unpause {service} of run {run_id}"):
            self._container(run_id, service).unpause()

    def kill(self, run_id: str, service: str) -> None:
        with _sdk(f"kill {service} of run {run_id}"):
            self._container(run_id, service).kill()

    def set_cpu_quota(self, run_id: str, service: str, period_us: int, quota_us: int) -> None:
        """quota_us -1 lifts the quota."""
        with _sdk(f"CPU quota of {service} of run {run_id}"):
            self._container(run_id, service).update(cpu_period=period_us, cpu_quota=quota_us)

    def compose_up(self, project: str, compose_file: Path) -> None:
        Compose.detect().up(project, compose_file)

    def run_in_netns(self, run_id: str, service: str, image: str, argv: list[str]) -> tuple[int, str]:
        """Run argv in a throwaway container sharing the service's network namespace, with
        NET_ADMIN (for tc), labelled with the run and removed before returning."""
        target = self._container(run_id, service)
        helper = target.client.containers.run(  # on the target's own engine (its swarm node)
            image,
            argv,
            detach=True,
            network_mode=f"container:{target.id}",
            cap_add=["NET_ADMIN"],
            labels={LABEL_MANAGED: "true", LABEL_RUN: run_id},
            entrypoint=[],
        )
        try:
            code = int(helper.wait(timeout=60).get("StatusCode", -1))
            return code, helper.logs().decode(errors="replace")
        finally:
            _ignore_missing(lambda: helper.remove(force=True))

    def run_ids(self, home: str | None = None) -> set[str]:
        """Run ids of everything labelled drill.managed (and, given `home`, that home's): containers,
        networks and volumes."""
        filters = {"label": [f"{LABEL_MANAGED}=true", *([f"{LABEL_HOME}={home}"] if home else [])]}
        found = self._listed(filters)
        ids = {str((c.labels or {}).get(LABEL_RUN, "")) for c in found}
        ids |= {(n.attrs.get("Labels") or {}).get(LABEL_RUN, "") for n in self.client.networks.list(filters=filters)}
        ids |= {(v.attrs.get("Labels") or {}).get(LABEL_RUN, "") for v in self.client.volumes.list(filters=filters)}
        ids |= {str(s.attrs["Spec"].get("Labels", {}).get(LABEL_RUN, "")) for s in self._services(filters)}
        ids.discard("")
        return ids

    def leftovers(self, run_id: str | None = None) -> list[str]:
        """Names of every container, network and volume still carrying the run's label."""
        filters = {"label": self._labels(run_id)}
        names = [f"service {s.name}" for s in self._services(filters)]
        names += [f"container {c.name}" for c in self._listed(filters)]
        names += [f"network {n.name}" for n in self.client.networks.list(filters=filters)]
        names += [f"volume {v.name}" for v in self.client.volumes.list(filters=filters)]
        return names

    def _services(self, filters: dict[str, list[str]]) -> list[Any]:
        """Swarm services with these labels; none where this engine is no swarm manager."""
        try:
            return list(self.client.services.list(filters=filters))
        except docker.errors.APIError:
            return []

    def reap(self, run_id: str | None) -> Reaped:
        """Force-remove every swarm service, container, network and volume with the run's label
        (all runs if None). Services go first, or swarm would start their tasks again."""
        with _sdk(f"removing run {run_id or '(all)'}"):
            return self._reap({"label": self._labels(run_id)})

    def _reap(self, filters: dict[str, list[str]]) -> Reaped:
        for service in self._services(filters):
            _ignore_missing(service.remove)
        containers = self._listed(filters)
        with ThreadPoolExecutor(max_workers=max(1, min(len(containers), 8))) as pool:
            list(pool.map(lambda c: _ignore_missing(lambda: c.remove(force=True, v=True)), containers))
        networks = self.client.networks.list(filters=filters)
        for network in networks:
            _remove_network(network)
        if networks:  # a removed overlay lingers on the node until its agent catches up

            def gone() -> tuple[bool, str]:
                left = self.client.networks.list(filters=filters)
                return not left, "still listed: " + ", ".join(str(n.name) for n in left)

            wait_for("the run's networks gone", gone, NETWORK_GONE_DEADLINE_S, 0.1, clock=SYSTEM_CLOCK)
        volumes = self.client.volumes.list(filters=filters)
        for volume in volumes:
            _ignore_missing(lambda v=volume: v.remove(force=True))
        return Reaped(len(containers), len(networks), len(volumes))

    # Images -----------------------------------------------------------------

    def image_labels(self, tag: str) -> dict[str, str] | None:
        try:
            return dict(self.client.images.get(tag).labels or {})
        except docker.errors.ImageNotFound:
            return None

    def pull(self, reference: str) -> bool:
        """Pull an image; False when no registry can be reached or it is not there."""
        repository, _, tag = reference.partition(":")
        try:
            self.client.images.pull(repository, tag=tag or "latest")
        except docker.errors.DockerException:
            return False
        return True

    def build(self, context: str, tag: str, buildargs: dict[str, str], labels: dict[str, str]) -> Iterator[str]:
        """Build an image, yielding its progress lines; raise DrillError on a failed step."""
        stream = self.client.api.build(
            path=context, tag=tag, buildargs=buildargs, labels=labels, rm=True, forcerm=True, decode=True
        )
        for chunk in stream:
            if "error" in chunk:
                raise DrillError(f"building {tag} failed: {str(chunk['error']).strip()}")
            line = str(chunk.get("stream", "")).strip()
            if line:
                yield line

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        repository, _, version = tag.partition(":")
        result: Any = self.client.api.import_image_from_file(
            tarball, repository=repository, tag=version, changes=changes
        )
        if self.image_labels(tag) is None:  # the daemon's answer is free text; the image is the proof
            raise DrillError(f"docker import of {tag} failed: {str(result).strip()[:200]}")


@contextlib.contextmanager
def _sdk(what: str) -> Iterator[None]:
    """SDK errors become DrillError at the door, so callers above never see docker's types."""
    try:
        yield
    except docker.errors.DockerException as exc:
        raise DrillError(f"{what}: {_first_line(exc)}") from None


def _by_preference(found: list[Container]) -> list[Container]:
    """Running first, then the newest."""
    newest = sorted(found, key=lambda c: str(c.attrs.get("Created") or ""), reverse=True)
    return sorted(newest, key=lambda c: c.status != "running")


def _remove_network(network: Any) -> None:
    """Remove a network; an overlay can stay busy for a moment after its services' tasks are gone."""

    def removed() -> tuple[bool, str]:
        try:
            network.remove()
        except docker.errors.NotFound:
            return True, "removed"
        except docker.errors.APIError as exc:
            return False, _first_line(exc)
        return True, "removed"

    wait_for(f"network {network.name} removed", removed, NETWORK_GONE_DEADLINE_S, 0.2, clock=SYSTEM_CLOCK)


def _ignore_missing(action: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        action()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
