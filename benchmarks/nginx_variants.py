"""Every traffic-tango-nginx variant on autopilot: what a responder sees first and how long it takes.

Usage: .venv/bin/python -m benchmarks.nginx_variants   (needs `make setup`; about a minute a variant)
Each variant runs alone in a shortened copy of the drill (baseline 6 s, fault 1-2 s later, recovery
held 5 s, the same traffic and alerts), seed 1, `drill run --autopilot --json`. Prints one row a
variant: the first alert after the fault (rule and value), time to detect, diagnose, mitigate and
resolve (from the fault), and the worst error rate the timeline's alerts saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from drills.loader import builtin_files

DRILL = "traffic-tango-nginx"


def shortened(folder: Path, index: int) -> Path:
    doc = yaml.safe_load(builtin_files()[DRILL].read_text())
    doc["faults"] = [doc["faults"][index]]
    doc["phases"] = {"baseline_s": 6, "inject_window_s": [1, 2], "time_limit_s": 180}
    doc["recovery"]["sustain_s"] = 5
    path = folder / f"{DRILL}-{index}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def row(result: dict[str, Any]) -> str:
    events = result["timeline"]
    fault_at = next(e["offset_s"] for e in events if e["event"] == "fault_injected")
    alerts = [e for e in events if e["event"] == "alert_fired" and e["offset_s"] >= fault_at]
    first = alerts[0]["detail"] if alerts else "-"
    s = result["scores"]
    times = " ".join(
        f"{s.get(k, 0) or 0:6.1f}" for k in ("tt_detect_s", "tt_diagnose_s", "tt_mitigate_s", "tt_resolve_s")
    )
    return f"{result['fault']:<34} {result['outcome']:<9} {times}  {first}"


def main() -> None:
    variants = yaml.safe_load(builtin_files()[DRILL].read_text())["faults"]
    print(f"{'variant':<34} {'outcome':<9} {'detect':>6} {'diagn.':>6} {'mitig.':>6} {'resolv':>6}  first alert")
    with tempfile.TemporaryDirectory(prefix="drill-bench-") as tmp:
        for index in range(len(variants)):
            path = shortened(Path(tmp), index)
            argv = [sys.executable, "-m", "cli.main", "run", str(path), "--autopilot", "--json", "--quiet"]
            argv += ["--seed", "1", "--db", str(Path(tmp) / f"d{index}.db")]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=400)
            if not done.stdout.strip():
                print(f"{variants[index]['fault']:<34} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            print(row(json.loads(done.stdout)), flush=True)


if __name__ == "__main__":
    main()
