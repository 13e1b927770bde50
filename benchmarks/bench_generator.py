"""The load generator's own cost (issue #15). Run by hand or with `make bench`; not a test.

Per core, no Docker: a local nginx on 127.0.0.1 (a tiny asyncio server when nginx is missing)
answers 200 "ok" at /health with keep-alive, pinned to SERVER_CORE. On CLIENT_CORE:
  1. reference: wrk (1 thread, 50 connections), its CPU per request and its rate;
  2. the generator as `drill load` runs it (with its monitor), in its own process:
     CPU per request for 20,000 requests at 2,000 req/s;
  3. the highest rate it holds within 2% (achieved rate, late sends, no errors; in one of two
     tries), stepping up, as a ratio to wrk's rate on the same core.
On a drill stack (the issue's reference; needs `make setup`; skipped with STACK=0): a stack is
brought up as `drill up` does, and its /health is loaded through the published port, the
endpoint `drill load --run` is pointed at, all cores shared, nothing pinned:
  4. wrk -t2 -c50 (wrk uses threads), then the highest rate `drill load --processes 2` holds
     within 2%, stepping up by tenths of that wrk rate: the ratio, once per repeat.
CPU is the process's own user + system time (getrusage) around the load, not its start-up;
with child processes, theirs too. Each figure is repeated (REPEATS, default 3) and printed as
min / median.

    python benchmarks/bench_generator.py            # REPEATS=5 for steadier figures
    STACK_PROCESSES="1 2" python benchmarks/bench_generator.py   # the stack ladder for each count
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

CLIENT_CORE, SERVER_CORE = (0, 1) if (os.cpu_count() or 1) > 1 else (0, 0)
REPEATS = int(os.environ.get("REPEATS", "3"))
RATE, REQUESTS = 2000, 20_000
STEPS = (2000, 4000, 6000, 8000, 10_000, 12_000, 15_000, 18_000, 22_000, 26_000, 30_000, 35_000, 40_000, 50_000)
STEP_S = 3.0
TRIES = 2
STACK = os.environ.get("STACK", "1") != "0"
STACK_PROCESSES = [int(n) for n in os.environ.get("STACK_PROCESSES", "2").split()]
STACK_FRACTIONS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # of wrk's rate on the stack

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    server {{
        listen 127.0.0.1:{port};
        location = /health {{ default_type text/plain; return 200 "ok"; }}
    }}
}}
"""

TINY_SERVER = """
import asyncio, sys
ANSWER = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"
class Http(asyncio.Protocol):
    def connection_made(self, transport): self.t, self.buf = transport, b""
    def data_received(self, data):
        self.buf += data
        n = self.buf.count(b"\\r\\n\\r\\n")
        if n:
            self.buf = self.buf[self.buf.rfind(b"\\r\\n\\r\\n") + 4:]
            self.t.write(ANSWER * n)
async def main():
    server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout_s: float = 5.0) -> None:
    until = time.monotonic() + timeout_s
    while time.monotonic() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the local server did not listen on 127.0.0.1:{port}")


@contextmanager
def local_server() -> Iterator[tuple[str, str]]:
    """(url, what) of a keep-alive server on SERVER_CORE, stopped on the way out."""
    port = free_port()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    with tempfile.TemporaryDirectory(prefix="drill-bench-") as tmp:
        if nginx is not None:
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
            argv = ["taskset", "-c", str(SERVER_CORE), nginx, "-c", str(conf), "-g", "daemon off;"]
            what = "nginx, 1 worker"
        else:
            argv = ["taskset", "-c", str(SERVER_CORE), sys.executable, "-c", TINY_SERVER, str(port)]
            what = "a tiny asyncio server (no nginx)"
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(port)
            yield f"http://127.0.0.1:{port}", what
        finally:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pinned(core: int | None) -> list[str]:
    return [] if core is None else ["taskset", "-c", str(core)]


def wrk(url: str, seconds: int = 5, threads: int = 1, core: int | None = CLIENT_CORE) -> tuple[float, float]:
    """(req/s, CPU us per request) of wrk, 50 connections, on `core` (None: wherever it runs)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench does, as root on Debian)")
    argv = [*pinned(core), "wrk", f"-t{threads}", "-c50", f"-d{seconds}s", f"{url}/health"]
    before = children_cpu()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    cpu = children_cpu() - before
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert total and rate, out
    return float(rate.group(1)), cpu / int(total.group(1)) * 1e6


def generator(
    url: str, rate: float, requests: int, processes: int = 1, core: int | None = CLIENT_CORE
) -> dict[str, float]:
    """One load in a fresh process on `core`, as `drill load` runs it (monitor included)."""
    argv = [*pinned(core), sys.executable, __file__, "--child", url, str(rate), str(requests), str(processes)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=requests / rate + 60).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def child(url: str, rate: float, requests: int, processes: int) -> None:
    from orchestration.load import LoadSpec, run_load

    spec = LoadSpec(url, rps=rate, duration_s=requests / rate, path="/health", users=50, processes=processes)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime + children_cpu()
    result = run_load(spec, keep_samples=True)
    after = resource.getrusage(resource.RUSAGE_SELF)
    r = result.report
    cpu = after.ru_utime + after.ru_stime + children_cpu() - cpu_before  # the load's processes, reaped by now
    print(
        json.dumps(
            {
                "requests": r.requests,
                "achieved": r.achieved_rate,
                "late": r.late,
                "errors": r.errors,
                "p99_ms": r.p99_ms,
                "cpu_us": cpu / max(r.requests, 1) * 1e6,
            }
        )
    )


def held(figures: dict[str, float], rate: float) -> bool:
    """Within 2%: achieved rate (over the real send span), late sends, and no errors."""
    return (
        abs(figures["achieved"] - rate) <= 0.02 * rate
        and figures["late"] <= 0.02 * figures["requests"]
        and figures["errors"] == 0
    )


def spread(values: list[float], unit: str, digits: int = 0) -> str:
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} {unit} (min / median of {len(values)})"


def highest_held(url: str, steps: Iterable[float], processes: int = 1, core: int | None = CLIENT_CORE) -> float:
    best = 0.0
    for rate in steps:
        for _ in range(TRIES):  # a shared machine has hiccups: a rate is held if one try holds it
            figures = generator(url, rate, int(rate * STEP_S), processes, core)
            if ok := held(figures, rate):
                break
        print(
            f"  step {rate:>6.0f}/s: achieved {figures['achieved']:8.0f}  late {figures['late']:6.0f}  "
            f"errors {figures['errors']:.0f}  p99 {figures['p99_ms']:6.1f} ms  {figures['cpu_us']:5.1f} us/req"
            f"  {'held' if ok else 'not held'}",
            flush=True,
        )
        if not ok:
            break
        best = rate
    return best


def per_core() -> None:
    with local_server() as (url, what):
        print(f"server: {what} on core {SERVER_CORE}; clients on core {CLIENT_CORE}; {url}/health", flush=True)
        refs = [wrk(url) for _ in range(REPEATS)]
        rates, costs = [r for r, _ in refs], [c for _, c in refs]
        print(f"wrk (1 thread, 50 conns): {spread(rates, 'req/s')}; CPU {spread(costs, 'us/request', 1)}")
        loads = [generator(url, RATE, REQUESTS) for _ in range(REPEATS)]
        cpu = [f["cpu_us"] for f in loads]
        late = [f["late"] for f in loads]
        print(
            f"generator, {REQUESTS} requests at {RATE}/s: CPU {spread(cpu, 'us/request', 1)}; "
            f"late sends {spread(late, '')}; errors {sum(f['errors'] for f in loads):.0f}",
            flush=True,
        )
        best = highest_held(url, STEPS)
        wrk_rate = statistics.median(rates)
        print(f"highest rate held within 2% on core {CLIENT_CORE}: {best:.0f} req/s = {best / wrk_rate:.2f}x wrk")
        print(f"CPU per request, generator / wrk: {statistics.median(cpu) / statistics.median(costs):.1f}x")


@contextmanager
def drill_stack() -> Iterator[str]:
    """A drill stack (traffic-tango's, as benchmarks/bench_cpu.py brings up); its published URL; removed after."""
    from doors import kit
    from orchestration import teardown
    from stack import provision
    from stack.handle import open_stack
    from stack.spec import AppSettings, StackSpec

    doors = kit.real()
    record = provision.up(doors, StackSpec(3, app=AppSettings(capacity=2, service_ms=20)), progress=lambda line: None)
    try:
        yield open_stack(doors, record.run_id).endpoints.url  # 127.0.0.1:published port, through docker-proxy
    finally:
        teardown.down(doors, record.run_id)


def on_stack() -> None:
    """Per repeat: wrk's rate, then each process count's ladder in tenths of it (the machine
    drifts: each ratio is against the wrk run just before it)."""
    with drill_stack() as url:
        print(f"drill stack (HAProxy, 3 apps), {url}/health through its published port; nothing pinned", flush=True)
        rates: list[float] = []
        ratios: dict[int, list[float]] = {n: [] for n in STACK_PROCESSES}
        for repeat in range(REPEATS):
            wrk_rate, cost = wrk(url, threads=2, core=None)
            rates.append(wrk_rate)
            print(f" repeat {repeat + 1}: wrk -t2 -c50 {wrk_rate:.0f} req/s, {cost:.1f} us/request", flush=True)
            for processes in STACK_PROCESSES:
                print(f" generator, {processes} process(es):")
                steps = [round(f * wrk_rate, -2) for f in STACK_FRACTIONS]
                ratios[processes].append(highest_held(url, steps, processes, core=None) / wrk_rate)
        print(f"wrk -t2 -c50 on the stack: {spread(rates, 'req/s')}")
        for processes, values in ratios.items():
            print(f"highest rate held within 2%, {processes} process(es), as a ratio to wrk: {spread(values, 'x', 2)}")


def main() -> None:
    per_core()
    if STACK:
        on_stack()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(main())
