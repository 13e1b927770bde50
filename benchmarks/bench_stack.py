"""`drill up` and `drill down` against the bare compose CLI on the same rendered files (issue #15).

Usage: .venv/bin/python -m benchmarks.bench_stack [ROUNDS]   (default 5; needs `make setup`)
Each round: `drill up` until it returns (it waits until every replica answers through the
balancer) and `drill down`; then, on a copy of the same rendered run directory, the compose
CLI's `up -d` plus polling until every replica answers through the balancer, and its `down`.
Prints min / median / max and the ratio of medians (drill / compose).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from doors.compose import Compose
from doors.http import UrllibProbe
from stack.rundir import RunDir


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return time.monotonic() - started, done.stdout


def served_by_all(url: str, replicas: int, deadline_s: float = 60) -> None:
    probe, end = UrllibProbe(timeout_s=2), time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if len(probe.served_by(url, 4 * replicas)) == replicas:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"compose stack at {url} never served from every replica")


def copy_rendered(home: Path, run_id: str, into: Path) -> tuple[Path, str]:
    """The run's rendered files, pointing at their own copy of the balancer config."""
    source = RunDir(run_id, home).path
    shutil.copytree(source, into, dirs_exist_ok=True)
    env = (into / ".env").read_text().replace(str(source), str(into))
    (into / ".env").write_text(env.replace(f"DRILL_RUN_ID={run_id}", "DRILL_RUN_ID=bench0"))
    port = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("DRILL_LB_PORT="))
    return into / "compose.yml", f"http://127.0.0.1:{port}"


def report(name: str, values: list[float], reference: list[float] | None = None) -> None:
    lo, med, hi = min(values), statistics.median(values), max(values)
    ratio = f"  {med / statistics.median(reference):.2f}x compose" if reference else ""
    print(f"{name:<28} {lo:6.2f} / {med:6.2f} / {hi:6.2f} s{ratio}")


def main(rounds: int = 5) -> None:
    home = Path(tempfile.mkdtemp(prefix="drill-bench-stack-"))
    env = {**os.environ, "DRILL_HOME": str(home)}
    drill = [sys.executable, "-m", "cli.main"]
    compose = list(Compose.detect().argv)
    ups, downs, cups, cdowns = [], [], [], []
    try:
        for n in range(rounds):
            up_s, out = timed([*drill, "up", "--json"], env)
            run_id = json.loads(out)["run_id"]
            files, url = copy_rendered(home, run_id, home / f"copy{n}")
            down_s, _ = timed([*drill, "down", run_id], env)
            ups.append(up_s)
            downs.append(down_s)
            project = ["--project-name", f"drill-bench{n}", "--file", str(files)]
            started = time.monotonic()
            timed([*compose, *project, "up", "--detach", "--no-build"])
            served_by_all(url, 3)
            cups.append(time.monotonic() - started)
            cdowns.append(timed([*compose, *project, "down", "--volumes", "--timeout", "5"])[0])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report("compose up + every replica", cups)
    report("drill up", ups, cups)
    report("compose down", cdowns)
    report("drill down", downs, cdowns)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
