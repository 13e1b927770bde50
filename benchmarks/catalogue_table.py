"""The catalogue's closing-note table: every built-in drill's every variant on autopilot.

Each variant runs as a copy of its drill with that variant only and a short baseline and
injection window (what a responder sees and how long the autopilot takes do not depend on
them); everything else as written (alerts, recovery, sustain, level). Needs Docker and the
stack's images (`drill images build`). Prints a Markdown table:

    python benchmarks/catalogue_table.py [--only NAME] [--variant N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drills.loader import builtin_files  # noqa: E402

DRILL = str(ROOT / ".venv" / "bin" / "drill")


def variant_copy(folder: Path, name: str, index: int) -> Path:
    doc = yaml.safe_load(builtin_files()[name].read_text())
    doc["faults"] = [doc["faults"][index]]
    doc["phases"] = {**doc.get("phases", {}), "baseline_s": 6, "inject_window_s": [1, 2]}
    path = folder / f"{name}-{index}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_one(path: Path, db: Path) -> dict[str, Any]:
    argv = [DRILL, "run", str(path), "--autopilot", "--json", "--quiet", "--seed", "1", "--db", str(db)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if not done.stdout.strip():
        return {"outcome": f"failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"}
    result = json.loads(done.stdout)
    timeline = result["timeline"]
    alert = next((e for e in timeline if e["event"] == "alert_fired"), None)
    return {
        "outcome": result["outcome"],
        "fault": result["fault"],
        "first_alert": alert["detail"] if alert else "(none)",
        "tt_detect_s": result["scores"].get("tt_detect_s"),
        "tt_resolve_s": result["scores"].get("tt_resolve_s"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a built-in drill (repeatable; default: all)")
    parser.add_argument("--variant", type=int, action="append", help="only this variant index (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="drill-table-") as tmp:
        folder = Path(tmp)
        for name, file in builtin_files().items():
            if args.only and name not in args.only:
                continue
            doc = yaml.safe_load(file.read_text())
            balancer = (doc.get("stack") or {}).get("balancer", "haproxy")
            for index in range(len(doc["faults"])):
                if args.variant and index not in args.variant:
                    continue
                row = {"drill": name, "balancer": balancer, "level": doc.get("level", "standard"), "variant": index}
                row |= run_one(variant_copy(folder, name, index), folder / "d.db")
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print("| drill | balancer | level | variant | outcome | first alert | detect | resolve |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        detect = f"{r['tt_detect_s']:.0f} s" if isinstance(r.get("tt_detect_s"), int | float) else "-"
        resolve = f"{r['tt_resolve_s']:.0f} s" if isinstance(r.get("tt_resolve_s"), int | float) else "-"
        print(
            f"| {r['drill']} | {r['balancer']} | {r['level']} | {r.get('fault', r['variant'])} | {r['outcome']} "
            f"| {r.get('first_alert', '')} | {detect} | {resolve} |"
        )


if __name__ == "__main__":
    os.environ.setdefault("DRILL_IMAGE_TAG", "latest")
    main()
