"""Three teams' game day on a swarm of several nodes (`make swarm-3` sets it up and runs this).

Runs `drill gameday run` (a shortened traffic-tango, every team on autopilot) on the swarm that
DRILL_RUNTIME=swarm and DRILL_SWARM_NODES name, and while it runs, records on which node each
team's services run. Prints each team's placement, when its stack was running (from the start of
the game day: the first one includes copying the images to the nodes), its outcome and scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml

from drills.loader import builtin_files

TEAMS = ("red", "green", "blue")


def shortened(folder: Path) -> Path:
    doc = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
    doc["faults"] = [{"fault": "lb.weights-skew"}]
    doc["phases"] = {"baseline_s": 10, "inject_window_s": [3, 6], "time_limit_s": 180}
    doc["recovery"]["sustain_s"] = 5
    doc["playbook"] = "traffic-tango.md"
    path = folder / "swarm3-tango.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def placement(client: docker.DockerClient) -> dict[str, dict[str, str]]:
    """run id -> service -> hostname of the node running its task, for every drill stack."""
    hostnames = {n.id: n.attrs["Description"]["Hostname"] for n in client.nodes.list()}
    found: dict[str, dict[str, str]] = {}
    for service in client.services.list(filters={"label": "drill.managed=true"}):
        run = service.attrs["Spec"]["Labels"].get("drill.run", "?")
        for task in service.tasks(filters={"desired-state": "running"}):
            if task["Status"]["State"] == "running":
                found.setdefault(run, {})[service.name.rsplit("_", 1)[1]] = hostnames.get(task["NodeID"], "?")
    return found


def main() -> None:
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="drill-swarm3-") as tmp:
        drill = shortened(Path(tmp))
        argv = [sys.executable, "-m", "cli.main", "gameday", "run", str(drill), "--json"]
        for team in TEAMS:
            argv += ["--team", team, "--autopilot", team]
        started = time.monotonic()
        game = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: dict[str, dict[str, str]] = {}
        up_at: dict[str, float] = {}
        while game.poll() is None and time.monotonic() - started < 600:
            for run, services in placement(client).items():
                if len(services) >= 5 and run not in up_at:
                    up_at[run], seen[run] = time.monotonic() - started, services
            time.sleep(0.5)  # sampling the swarm while the game day runs, not waiting for a condition
        out, err = game.communicate(timeout=120)
    if game.returncode not in (0, 1):
        print(f"the game day failed (exit {game.returncode}): {out.strip()[-3000:]} {err.strip()[-3000:]}")
        raise SystemExit(1)
    result = json.loads(out)
    print(f"game day of {len(TEAMS)} teams on the swarm: {time.monotonic() - started:.0f} s in all")
    for team in result["teams"]:
        run = team["run_id"]
        nodes = sorted(set(seen.get(run, {}).values()))
        where = ", ".join(f"{s}@{n}" for s, n in sorted(seen.get(run, {}).items()))
        print(
            f"  {team['team']:<6} run {run} on {'/'.join(nodes) or '?'} (running {up_at.get(run, 0):.0f} s "
            f"after the start): {team['outcome']}, resolved after {team['scores'].get('tt_resolve_s')} s, "
            f"{team['scores'].get('points')} points; {where}"
        )
        if team["outcome"] != "resolved":
            last = team["timeline"][-3:] if team.get("timeline") else []
            print("    ended with: " + " | ".join(f"{e['event']}: {e['detail']}" for e in last))
    nodes_used = {n for services in seen.values() for n in services.values()}
    print(f"stacks on {len(nodes_used)} node(s): {', '.join(sorted(nodes_used))}")
    if game.returncode != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
