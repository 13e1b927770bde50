"""lb.tango's rollercoaster under one audience model: a shortened traffic-tango with only lb.tango,
the autopilot watching 65 s before it acts, then the stored SLIs read as the fidelity test reads
them (swings: p95 above 5x the baseline and back below 2x).

    python -m benchmarks.tango_swings waves      # the default audience
    python -m benchmarks.tango_swings poisson    # a constant one
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from drills.loader import builtin_files
from scoreboard import store as timeline
from tests.integration.test_drill import fidelity

ROOT = Path(__file__).resolve().parents[1]


def main(model: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tango-swings-"))
    doc = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
    doc["faults"] = [v for v in doc["faults"] if v["fault"] == "lb.tango"]
    doc["phases"] = {"baseline_s": 6, "inject_window_s": [1, 2], "time_limit_s": 120}
    doc["recovery"]["sustain_s"] = 5
    doc["playbook"] = "traffic-tango.md"
    doc["traffic"]["model"] = model
    (tmp / "d.yaml").write_text(yaml.safe_dump(doc))
    argv = [sys.executable, "-m", "cli.main", "run", str(tmp / "d.yaml"), "--autopilot", "--autopilot-watch", "65"]
    argv += ["--json", "--quiet", "--seed", "1", "--db", str(tmp / "d.db")]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300)
    result = json.loads(done.stdout)
    print(model, result["outcome"], json.dumps(fidelity(timeline.open_store(tmp / "d.db"), result)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "waves")
