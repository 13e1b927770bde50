"""The swarm runtime (`drill --runtime swarm`, or DRILL_RUNTIME=swarm): each run's stack is a
swarm stack, deployed with `docker stack deploy` from the run's rendered compose file adapted for
swarm (doors.swarmfile), on overlay networks of its own.

Only bringing a stack up differs from the compose runtime. Everything else is DockerEngine's:
a swarm task is a container on a node's engine, labelled like a compose container (drill.run,
the service's name), so inspect, exec, logs, signals (a balancer reload is SIGUSR2 to its task's
container; the config file is bind-mounted from the run directory as on compose), pause, CPU
quota and tc helpers act on it there; starting a killed task again gives its service a new task
(DockerEngine.start); teardown removes the run's services by label before its containers and
networks, whichever runtime was chosen when `drill down` runs.

Ports: swarm cannot publish on 127.0.0.1 only (ingress and host mode both bind every interface),
so a relay container (HAProxy in TCP mode, image of the stack's `lb` service) on the stack's
network publishes them on 127.0.0.1, as compose would. Images: on a single node the stack runs
the engine's own images (`--resolve-image never`: no registry is asked). On several nodes,
DRILL_SWARM_NODES names the other nodes' engines and the images are copied to each before the
deploy (`docker save | docker load`, once per image id).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml

from doors import yamlfile
from doors.engine import DockerEngine, _first_line, _sdk
from doors.runtime import LABEL_HOME, LABEL_MANAGED, LABEL_RUN
from doors.swarmfile import RELAY_LABEL, Published, parse_env, relay_config, stack_document, substitute
from drills.errors import DrillError, EngineUnavailable

DEPLOY_TIMEOUT_S = 120.0
_PLACING = threading.Lock()
_DISTRIBUTING = threading.Lock()
NODES_ENV = "DRILL_SWARM_NODES"  # space-separated DOCKER_HOST values of the other nodes' engines


class SwarmEngine(DockerEngine):
    """doors.runtime.ContainerRuntime on a swarm whose manager is this engine; `nodes` are the
    other nodes' engines (DRILL_SWARM_NODES), where their tasks' containers are found."""

    def __init__(self, client: docker.DockerClient, nodes: tuple[docker.DockerClient, ...] = ()) -> None:
        super().__init__(client)
        self.nodes = nodes

    @classmethod
    def connect(cls) -> SwarmEngine:
        hosts = os.environ.get(NODES_ENV, "").split()
        engine = cls(DockerEngine.connect().client, tuple(docker.DockerClient(base_url=h, timeout=300) for h in hosts))
        swarm = engine.client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            raise EngineUnavailable(
                "--runtime swarm needs this Docker engine to be a swarm manager: "
                "`docker swarm init --advertise-addr 127.0.0.1` makes a single-node swarm"
            )
        if shutil.which("docker") is None:
            raise EngineUnavailable("--runtime swarm needs the docker command line (apt-get install docker.io)")
        return engine

    def compose_up(self, project: str, compose_file: Path) -> None:
        """Deploy the run's stack: the swarm file and the relay's config next to the compose file,
        the images on every node, `docker stack deploy`, then the relay."""
        run_dir = compose_file.parent
        env_file = run_dir / ".env"
        env = parse_env(env_file.read_text()) if env_file.is_file() else {}
        compose = substitute(yaml.safe_load(compose_file.read_text()), env)
        document, published = stack_document(compose, _free_port)
        self._distribute({str(s["image"]) for s in document["services"].values()})
        stack_file = run_dir / "stack.yml"
        with _PLACING:  # one stack placed at a time, so teams starting together spread over the nodes
            node = self._least_busy_node()
            for service in document["services"].values():
                if node:
                    service["deploy"]["placement"] = {"constraints": [f"node.id=={node}"]}
            stack_file.write_text(yamlfile.dump(document))  # '557e30' stays a string for docker's parser
            _docker_cli(["stack", "deploy", "--resolve-image", "never", "--compose-file", str(stack_file), project])
        if published:
            self._start_relay(project, run_dir, document, published)

    def _clients(self) -> list[docker.DockerClient]:
        return [self.client, *self.nodes]

    def _least_busy_node(self) -> str | None:
        """On a swarm of several nodes, the node a whole stack goes to (a team's balancer and its
        replicas together, as on compose): the worker (else any node) holding the fewest drill
        stacks now. None on a single node."""
        nodes = [n.attrs for n in self.client.nodes.list()]
        ready = [n for n in nodes if n["Status"]["State"] == "ready" and n["Spec"]["Availability"] == "active"]
        if len(nodes) < 2 or not ready:
            return None
        workers = [n for n in ready if n["Spec"]["Role"] == "worker"] or ready
        stacks: dict[str, set[str]] = {n["ID"]: set() for n in workers}
        for service in self._services({"label": [f"{LABEL_MANAGED}=true"]}):
            spec = service.attrs["Spec"]
            for constraint in (spec["TaskTemplate"].get("Placement") or {}).get("Constraints") or []:
                node_id = constraint.partition("node.id==")[2]
                if node_id in stacks:
                    stacks[node_id].add(spec.get("Labels", {}).get("com.docker.stack.namespace", ""))
        by_load = sorted(workers, key=lambda n: (len(stacks[n["ID"]]), n["Description"]["Hostname"]))
        return str(by_load[0]["ID"])

    def _start_relay(self, project: str, run_dir: Path, document: dict[str, Any], published: list[Published]) -> None:
        config_dir = run_dir / "relay"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "haproxy.cfg").write_text(relay_config(published))
        stack_labels = document["services"][published[0].service]["deploy"]["labels"]
        labels = {k: stack_labels[k] for k in (LABEL_MANAGED, LABEL_RUN, LABEL_HOME) if k in stack_labels}
        networks = sorted({f"{project}_{p.network}" for p in published})
        with _sdk(f"start the port relay of {project}"):
            relay = self.client.containers.create(
                document["services"].get("lb", document["services"][published[0].service])["image"],
                name=f"{project}-relay",
                labels={**labels, RELAY_LABEL: "true"},
                ports={f"{p.host}/tcp": ("127.0.0.1", p.host) for p in published},
                volumes={str(config_dir): {"bind": "/etc/drill-lb", "mode": "ro"}},
                network=networks[0],
                init=True,
            )
            for network in networks[1:]:
                self.client.networks.get(network).connect(relay)
            relay.start()

    def _distribute(self, images: set[str]) -> None:
        """Copy the stack's images to every other node (DRILL_SWARM_NODES) that lacks them."""

        def copy_to(node: docker.DockerClient) -> None:
            for image in sorted(images):
                if _image_id(node, image) != _image_id(self.client, image):
                    _copy_image(self.client, node, image)

        with _DISTRIBUTING, ThreadPoolExecutor(max_workers=max(1, len(self.nodes))) as pool:
            list(pool.map(copy_to, self.nodes))  # every node at once


def _image_id(client: docker.DockerClient, image: str) -> str | None:
    try:
        return str(client.images.get(image).id)
    except docker.errors.ImageNotFound:
        return None


def _copy_image(source: docker.DockerClient, target: docker.DockerClient, image: str) -> None:
    """docker save | docker load, streamed."""
    try:
        target.images.load(source.api.get_image(image))  # the tarball names the image as asked
    except docker.errors.DockerException as exc:
        raise DrillError(f"copying {image} to a swarm node failed: {_first_line(exc)}") from None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _docker_cli(args: list[str]) -> str:
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=DEPLOY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DrillError(f"`docker {args[0]} {args[1]}` did not finish within {DEPLOY_TIMEOUT_S:.0f}s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise DrillError(f"`docker {' '.join(args[:2])}` failed: {lines[-1] if lines else 'no output'}")
    return done.stdout
