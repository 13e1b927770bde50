"""A team's responder shell: a container on the team's stack networks, from drill/shell.

It holds the team's balancer config directory (read-write, at /lb), the replicas' and the
balancer's logs (read-only at /logs, copied every few seconds by `drill shell` while the shell
is open: the shell itself has no Docker) and the tools a responder uses at work (socat for the
runtime API, curl, redis-cli, vim.tiny, `reload`, `runtime`, `stats`, `logs`); nothing else of
the run directory (not the fault's snapshot, not the store) and no Docker socket. `reload` asks
the game day, which watches /lb/.reload-requested and signals the team's balancer (SIGUSR2, a
graceful reload). The container carries the run's labels, so the run's teardown removes it.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from pathlib import Path

from drills.errors import DrillError, UsageError
from stack.resources import images_dir
from stack.rundir import RunDir, home_id, project_name
from stack.spec import IMAGES, TAG

IMAGE = f"drill/shell:{TAG}"  # FROM this checkout's drill/lb (DRILL_IMAGE_TAG keeps checkouts apart)
RELOAD_REQUEST = ".reload-requested"


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise UsageError("drill shell needs the docker command line (apt-get install docker.io)")
    return found


def _inspect(docker: str, image: str, template: str) -> str | None:
    found = subprocess.run([docker, "image", "inspect", "-f", template, image], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def ensure_image() -> str:
    """drill/shell, built FROM this checkout's drill/lb on first use and again when drill/lb changed
    (about 20 s; needs a Debian mirror)."""
    docker = _docker()
    lb = _inspect(docker, IMAGES["lb"], "{{.Id}}")
    if lb is None:
        raise UsageError(f"{IMAGES['lb']} is not built: run `drill images build` first")
    if _inspect(docker, IMAGE, '{{index .Config.Labels "drill.shell-base"}}') == lb:
        return IMAGE
    context = images_dir() / "shell"
    argv = [docker, "build", "-q", "--label", "drill.image=true", "--label", f"drill.shell-base={lb}"]
    argv += ["--build-arg", f"BASE_IMAGE={IMAGES['lb']}", "-t", IMAGE, str(context)]
    built = subprocess.run(argv, capture_output=True, text=True)
    if built.returncode != 0:
        raise DrillError(f"could not build {IMAGE}: {built.stderr.strip().splitlines()[-1:]}")
    return IMAGE


def create(run_id: str, command: str | None = None) -> str:
    """Create (not start) the team's shell container; its name."""
    docker = _docker()
    lb_dir = RunDir(run_id).lb_config_dir
    if not any((lb_dir / name).is_file() for name in ("haproxy.cfg", "nginx.conf")):
        raise UsageError(f"run {run_id} has no balancer config: is its stack up?")
    name = f"drill-{run_id}-shell-{uuid.uuid4().hex[:6]}"
    project = project_name(run_id)
    tools = images_dir() / "shell"
    argv = [docker, "create", "--name", name, "--hostname", "responder", "--init"]
    argv += ["--label", "drill.managed=true", "--label", f"drill.run={run_id}", "--label", f"drill.home={home_id()}"]
    argv += ["--network", f"{project}_front", "-v", f"{lb_dir}:/lb", "-v", f"{tools / 'bin'}:/opt/drill/bin:ro"]
    argv += ["-v", f"{motd(lb_dir)}:/etc/motd:ro", "-v", f"{logs_dir(run_id)}:/logs:ro"]
    argv += ["-i", "-t"] if command is None else []
    argv += [ensure_image(), "bash"] + (["-c", command] if command else ["-c", "cat /etc/motd; exec bash -i"])
    made = subprocess.run(argv, capture_output=True, text=True)
    if made.returncode != 0:
        raise DrillError(f"could not create the responder shell: {made.stderr.strip()}")
    joined = subprocess.run([docker, "network", "connect", f"{project}_back", name], capture_output=True, text=True)
    if joined.returncode != 0:
        subprocess.run([docker, "rm", "-f", name], capture_output=True)
        raise DrillError(f"could not attach the responder shell to the stack: {joined.stderr.strip()}")
    return name


def motd(lb_dir: Path) -> Path:
    """What the shell greets responders with: the tools for the team's balancer (nginx or HAProxy)."""
    nginx = (lb_dir / "nginx.conf").is_file()
    return images_dir() / "shell" / ("motd-nginx" if nginx else "motd")


def run(run_id: str, command: str | None = None) -> int:
    """The shell, interactive (command None) or running one command; removed afterwards."""
    docker = _docker()
    refresh_logs(run_id)
    name = create(run_id, command)
    stop = threading.Event()

    def copy_logs() -> None:
        while not stop.wait(3.0):
            refresh_logs(run_id)

    threading.Thread(target=copy_logs, name="drill-shell-logs", daemon=True).start()
    try:
        attach = [docker, "start", "-a", "-i", name] if command is None else [docker, "start", "-a", name]
        return subprocess.run(attach).returncode
    finally:
        stop.set()
        subprocess.run([docker, "rm", "-f", name], capture_output=True)


def logs_dir(run_id: str) -> Path:
    return RunDir(run_id).path / "shell-logs"


def refresh_logs(run_id: str) -> None:
    """The last lines of the balancer's and each replica's log, as files the shell reads."""
    docker = _docker()
    out = logs_dir(run_id)
    if not out.parent.is_dir():
        return  # the run's directory is gone: its stack is down, nothing left to copy
    out.mkdir(exist_ok=True)
    listed = subprocess.run(
        [
            docker,
            "ps",
            "--filter",
            f"label=drill.run={run_id}",
            "--format",
            '{{.Names}} {{.Label "com.docker.compose.service"}}',
        ],
        capture_output=True,
        text=True,
    )
    for line in listed.stdout.splitlines():
        name, _, service = line.partition(" ")
        if service == "lb" or service.startswith("app"):
            got = subprocess.run([docker, "logs", "--tail", "300", name], capture_output=True, text=True)
            (out / f"{service}.log").write_text(got.stdout + got.stderr)


def reload_requested(run_id: str) -> bool:
    """Did the team's shell ask for a reload? (Takes the request.)"""
    request = RunDir(run_id).lb_config_dir / RELOAD_REQUEST
    try:
        request.unlink()
    except FileNotFoundError:
        return False
    return True


def lb_dir(run_id: str) -> Path:
    return RunDir(run_id).lb_config_dir
