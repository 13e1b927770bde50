"""The load generator's own cost (issue #15). Run by hand or with `make bench`; not a test.

No Docker: a local nginx on 127.0.0.1 (a tiny asyncio server when nginx is missing) answers
200 "ok" at /health with keep-alive, pinned to SERVER_CORE. On CLIENT_CORE, in one run:
  1. reference: wrk (1 thread, 50 connections), its CPU per request and its rate;
  2. the generator as `drill load` runs it (with its monitor), in its own process:
     CPU per request for 20,000 requests at 2,000 req/s;
  3. the highest rate it holds within 2% (achieved rate, late sends, no errors; in one of two
     tries), stepping up, as a ratio to wrk's rate on the same core.
CPU is the process's own user + system time (getrusage) around the load, not its start-up.
Each figure is repeated (REPEATS, default 3) and printed as min / median.

    python benchmarks/bench_generator.py            # REPEATS=5 for steadier figures
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CLIENT_CORE, SERVER_CORE = (0, 1) if (os.cpu_count() or 1) > 1 else (0, 0)
REPEATS = int(os.environ.get("REPEATS", "3"))
RATE, REQUESTS = 2000, 20_000
STEPS = (2000, 4000, 6000, 8000, 10_000, 12_000, 15_000, 18_000, 22_000, 26_000, 30_000, 35_000, 40_000, 50_000)
STEP_S = 3.0
TRIES = 2

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


def wrk(url: str, seconds: int = 5) -> tuple[float, float]:
    """(req/s, CPU us per request) of wrk, 1 thread, 50 connections, on CLIENT_CORE."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench does, as root on Debian)")
    argv = ["taskset", "-c", str(CLIENT_CORE), "wrk", "-t1", "-c50", f"-d{seconds}s", f"{url}/health"]
    before = children_cpu()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    cpu = children_cpu() - before
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert total and rate, out
    return float(rate.group(1)), cpu / int(total.group(1)) * 1e6


def generator(url: str, rate: float, requests: int) -> dict[str, float]:
    """One load in a fresh process on CLIENT_CORE, as `drill load` runs it (monitor included)."""
    argv = ["taskset", "-c", str(CLIENT_CORE), sys.executable, __file__, "--child", url, str(rate), str(requests)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=requests / rate + 30).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def child(url: str, rate: float, requests: int) -> None:
    from orchestration.load import LoadSpec, run_load

    spec = LoadSpec(url, rps=rate, duration_s=requests / rate, path="/health", users=50)
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = run_load(spec, keep_samples=True)
    after = resource.getrusage(resource.RUSAGE_SELF)
    r = result.report
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
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


def highest_held(url: str) -> float:
    best = 0.0
    for rate in STEPS:
        for _ in range(TRIES):  # a shared machine has hiccups: a rate is held if one try holds it
            figures = generator(url, rate, int(rate * STEP_S))
            if ok := held(figures, rate):
                break
        print(
            f"  step {rate:>6}/s: achieved {figures['achieved']:8.0f}  late {figures['late']:6.0f}  "
            f"errors {figures['errors']:.0f}  p99 {figures['p99_ms']:6.1f} ms  {figures['cpu_us']:5.1f} us/req"
            f"  {'held' if ok else 'not held'}"
        )
        if not ok:
            break
        best = rate
    return best


def main() -> None:
    with local_server() as (url, what):
        print(f"server: {what} on core {SERVER_CORE}; clients on core {CLIENT_CORE}; {url}/health")
        refs = [wrk(url) for _ in range(REPEATS)]
        rates, costs = [r for r, _ in refs], [c for _, c in refs]
        print(f"wrk (1 thread, 50 conns): {spread(rates, 'req/s')}; CPU {spread(costs, 'us/request', 1)}")
        loads = [generator(url, RATE, REQUESTS) for _ in range(REPEATS)]
        cpu = [f["cpu_us"] for f in loads]
        late = [f["late"] for f in loads]
        print(
            f"generator, {REQUESTS} requests at {RATE}/s: CPU {spread(cpu, 'us/request', 1)}; "
            f"late sends {spread(late, '')}; errors {sum(f['errors'] for f in loads):.0f}"
        )
        best = highest_held(url)
        wrk_rate = statistics.median(rates)
        print(f"highest rate held within 2% on core {CLIENT_CORE}: {best:.0f} req/s = {best / wrk_rate:.2f}x wrk")
        print(f"CPU per request, generator / wrk: {statistics.median(cpu) / statistics.median(costs):.1f}x")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
