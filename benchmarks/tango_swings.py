"""lb.tango's rollercoaster under one audience model: a shortened traffic-tango with only lb.tango,
the autopilot watching WATCH s before it acts (default: the every-variant test's WATCH_S), then the stored
SLIs read as the fidelity test reads them (swings: p95 above 5x the baseline and back below 2x).
Runs RUNS times (default 1, seeds 1..RUNS) and prints each run, then the lowest and mean swings a minute.

    python -m benchmarks.tango_swings waves [RUNS] [WATCH]   # the default audience
    python -m benchmarks.tango_swings poisson                # a constant one
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
from scoreboard import store as timeline
from tests.integration.test_drill import WATCH_S, fidelity

ROOT = Path(__file__).resolve().parents[1]


def one_run(model: str, watch: str, seed: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="tango-swings-"))
    doc = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
    doc["faults"] = [v for v in doc["faults"] if v["fault"] == "lb.tango"]
    doc["phases"] = {"baseline_s": 6, "inject_window_s": [1, 2], "time_limit_s": 120}
    doc["recovery"]["sustain_s"] = 5
    doc["playbook"] = "traffic-tango.md"
    doc["traffic"]["model"] = model
    (tmp / "d.yaml").write_text(yaml.safe_dump(doc))
    argv = [sys.executable, "-m", "cli.main", "run", str(tmp / "d.yaml"), "--autopilot", "--autopilot-watch", watch]
    argv += ["--json", "--quiet", "--seed", str(seed), "--db", str(tmp / "d.db")]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300)
    result = json.loads(done.stdout)
    felt = fidelity(timeline.open_store(tmp / "d.db"), result)
    print(model, f"seed={seed}", result["outcome"], json.dumps(felt), flush=True)
    return felt


def main(model: str, runs: int, watch: str) -> None:
    rates = [one_run(model, watch, seed)["swings_per_min"] for seed in range(1, runs + 1)]
    print(f"{model}: {runs} runs, swings/min lowest {min(rates)}, mean {sum(rates) / len(rates):.2f}: {rates}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "waves", int(args[1]) if len(args) > 1 else 1, args[2] if len(args) > 2 else WATCH_S)
