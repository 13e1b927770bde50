"""Start-up of the commands responders type all day (issue #15): `drill ack --help`, `drill note`.

Usage: .venv/bin/python -m benchmarks.bench_cli [ROUNDS]   (default 10; no Docker needed)
Times each command from process start to exit, min / median / max, against the reference in
the same run: the bare interpreter (`python -c pass`) of the same virtualenv.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scoreboard.store import open_store


def timed(argv: list[str], env: dict[str, str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.monotonic() - started)
    return times


def main(rounds: int = 10) -> None:
    drill = str(Path(sys.executable).with_name("drill"))
    with tempfile.TemporaryDirectory(prefix="drill-bench-cli-") as tmp:
        db = Path(tmp) / "drill.db"
        open_store(db, create=True).begin_run("abc123", "traffic-tango", "x.yaml", "blue", [], "2026-Q4", 1, "lb.tango")
        env = {**os.environ, "DRILL_DB": str(db), "DRILL_HOME": tmp}
        reference = timed([sys.executable, "-c", "pass"], env, rounds)
        rows = {
            "python -c pass (reference)": reference,
            "drill ack --help": timed([drill, "ack", "--help"], env, rounds),
            "drill note 'db answers PING'": timed([drill, "note", "db answers PING", "--as", "bench"], env, rounds),
            "drill --help": timed([drill, "--help"], env, rounds),
        }
    ref = statistics.median(reference)
    for name, values in rows.items():
        med = statistics.median(values)
        print(f"{name:<30} {min(values):5.3f} / {med:5.3f} / {max(values):5.3f} s   +{med - ref:5.3f} s over python")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
