"""How many teams' drills one machine holds (issue #15): N autopilot drills started at once.

Usage: .venv/bin/python -m benchmarks.bench_density [N]   (default 8; needs `make setup`)
Starts N `drill run traffic-tango --autopilot` (a shortened copy: same stack, traffic, faults
and rules; a shorter time limit) at the same moment, each with its own seed, waits for all,
and prints each run's outcome, its baseline p95 and its time from the fault to resolved,
with the machine's CPU over the whole batch. The reference in the same run is one drill
alone, so the figures travel as "N at once vs one alone".
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.cpu_accounting import machine_cpu_s
from drills.loader import builtin_files


def shortened(folder: Path) -> Path:
    doc = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
    doc["phases"] = {"baseline_s": 10, "inject_window_s": [5, 10], "time_limit_s": 240}
    path = folder / "density-tango.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def batch(n: int, drill: Path, home: Path) -> tuple[list[dict[str, object]], float, float]:
    env = {**os.environ, "DRILL_HOME": str(home), "DRILL_DB": str(home / "drill.db")}
    argv = [sys.executable, "-m", "cli.main", "run", str(drill), "--autopilot", "--json", "--quiet"]
    cpu0, t0 = machine_cpu_s(), time.monotonic()
    procs = [
        subprocess.Popen(
            [*argv, "--team", f"team{i}", "--seed", str(1000 + i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        try:
            results.append(json.loads(out))
        except ValueError:
            results.append({"outcome": f"crashed (exit {proc.returncode}): {err.strip().splitlines()[-1:]}"})
    return results, time.monotonic() - t0, machine_cpu_s() - cpu0


def describe(result: dict[str, object]) -> str:
    timeline = result.get("timeline") or []
    base = next((e["detail"] for e in timeline if e["event"] == "baseline_ok"), "no baseline")  # type: ignore[index]
    scores = result.get("scores") or {}
    resolve = scores.get("tt_resolve_s") if isinstance(scores, dict) else None
    return f"{result.get('team', '?'):<7} {result.get('outcome')!s:<9} baseline {base}; resolved after {resolve} s"


def main(n: int = 8) -> None:
    with tempfile.TemporaryDirectory(prefix="drill-density-") as tmp:
        folder = Path(tmp)
        drill = shortened(folder)
        alone, alone_s, _ = batch(1, drill, folder / "alone")
        print(f"reference, one drill alone ({alone_s:.0f} s): {describe(alone[0])}")
        results, seconds, cpu = batch(n, drill, folder / "many")
        resolved = [r for r in results if r.get("outcome") == "resolved"]
        print(
            f"{n} drills at once: {len(resolved)} of {n} resolved in {seconds:.0f} s; "
            f"machine CPU {cpu / seconds:.2f} cores on average"
        )
        for result in results:
            print("  " + describe(result))
        times = [float(r["scores"]["tt_resolve_s"]) for r in resolved]  # type: ignore[index]
        mine = alone[0].get("scores", {}).get("tt_resolve_s")  # type: ignore[union-attr]
        if times and mine:
            print(
                f"median time to resolve {statistics.median(times):.1f} s vs {mine} s alone "
                f"({statistics.median(times) / float(mine):.2f}x)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
