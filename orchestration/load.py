"""`drill load`: one bounded load test with its monitor, from spec to result."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from doors.balancer import BalancerApi
from doors.tls import Trust
from drills.definition import WAVES_EVERY_S
from drills.errors import Interrupted, UsageError
from drills.rules import AlertRule, default_rules
from stack.handle import RunStack
from telemetry.exporter import MetricsServer
from telemetry.monitor import BalancerView, Monitor
from telemetry.rules import AlertEvent, Alerting
from telemetry.sinks import Sink, TerminalSink, WebhookSink
from telemetry.windows import Slis, Window, expected_from_weights
from traffic.crowd import Crowd, WaveSpec
from traffic.fleet import Fleet
from traffic.generator import Generator, Target, check_reachable
from traffic.generator import run as run_loop
from traffic.playback import Playback, PlayerSpec
from traffic.sample import LoadReport, Sample, summarize
from traffic.schedule import MODELS, Arrivals, Audience
from traffic.split import MAX_PROCESSES, LoadShare

# One generator process holds about 15,000-35,000 on one core, more with --processes
# (benchmarks/bench_generator.py).
MAX_RPS = 50_000
OVERDUE_MARGIN_S = 0.5  # child processes report in-flight requests this close to the SLO, or past it
MAX_DURATION_S = 3_600


@dataclass(frozen=True)
class LoadSpec:
    url: str
    rps: float = 100.0
    duration_s: float = 10.0
    users: int = 50
    model: str = "constant"
    path: str | None = None
    slo_ms: float = 400.0
    window_s: float = 5.0
    seed: int = 0
    trust: Trust = field(default_factory=Trust)
    paths: tuple[str, ...] = ()  # a team's own app's pages (traffic.schedule.Audience's journey)
    processes: int = 1  # generator processes sharing the load (traffic.split)
    waves_every_s: tuple[float, float] = WAVES_EVERY_S  # model waves: seconds between titles' starts

    def __post_init__(self) -> None:
        if not 0 < self.rps <= MAX_RPS:
            raise UsageError(f"--rps must be between 1 and {MAX_RPS}, got {self.rps:g}")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise UsageError(f"--duration must be between 1 and {MAX_DURATION_S} seconds, got {self.duration_s:g}")
        if self.users < 1:
            raise UsageError(f"--users must be at least 1, got {self.users}")
        if self.model not in MODELS:
            raise UsageError(f"--model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.path is not None and not self.path.startswith("/"):
            raise UsageError(f"--path must start with '/', got {self.path!r}")
        if not 1 <= self.processes <= min(MAX_PROCESSES, self.users):
            raise UsageError(
                f"--processes must be between 1 and {min(MAX_PROCESSES, self.users)} (each process sends for its own "
                f"viewers, and there are {self.users}), got {self.processes}"
            )
        Target.parse(self.url)

    def share(self, waves: bool) -> LoadShare:
        """What each of `processes` child processes is told (part 0's; `of` gives the others)."""
        return LoadShare(
            self.url,
            self.rps,
            self.duration_s,
            self.users,
            self.model,
            self.seed,
            self.path,
            self.paths,
            waves,
            self.trust.ca_file,
            self.trust.insecure,
            0,
            self.processes,
            overdue_after_s=max(0.0, self.slo_ms / 1000 - OVERDUE_MARGIN_S),
            waves_every_s=self.waves_every_s,
        )


@dataclass
class LoadResult:
    report: LoadReport
    events: list[AlertEvent]
    expected_shares: dict[str, float]
    balancer_counts: dict[str, int] | None
    final: Slis | None
    samples: list[Sample] = field(default_factory=list, repr=False)
    stalls: int = 0  # times the load's own event loop was held up (those windows were not judged)

    def replica_rows(self) -> dict[str, dict[str, float | int | None]]:
        r = self.report
        return {
            name: {
                "requests": r.replicas.get(name, 0),
                "share": r.shares.get(name, 0.0),
                "expected_share": self.expected_shares.get(name),
                "balancer_responses": (self.balancer_counts or {}).get(name),
            }
            for name in sorted(set(r.replicas) | set(self.expected_shares) | set(self.balancer_counts or {}))
        }

    def as_dict(self) -> dict[str, object]:
        r = self.report
        return {
            "target_rate": r.target_rate,
            "achieved_rate": round(r.achieved_rate, 2),
            "duration_s": r.duration_s,
            "requests": r.requests,
            "late_sends": r.late,
            "errors": r.errors,
            "latency_ms": {"p50": r.p50_ms, "p95": r.p95_ms, "p99": r.p99_ms, "max": r.max_ms},
            "replicas": self.replica_rows(),
            "audience_affected": self.final.audience_affected if self.final else None,
            "rebuffering_ratio": self.final.rebuffering_ratio if self.final else None,
            "alerts": [event.as_dict() for event in self.events],
            "stalls": self.stalls,
        }


def run_load(
    spec: LoadSpec,
    *,
    rules: list[AlertRule] | None = None,
    sinks: list[Sink] | None = None,
    balancer: BalancerApi | None = None,
    metrics_port: int | None = None,
    on_tick: Callable[[Slis], None] | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    stop: Callable[[], bool] | None = None,
    keep_samples: bool = True,
) -> LoadResult:
    """One bounded load with its monitor. A drill runs it in a thread for the whole run:
    `stop` ends it early, `on_sample` sees every answer, and keep_samples=False keeps a long
    run's memory flat (the report is then built from the drill's own records)."""
    target = Target.parse(spec.url)
    context = spec.trust.context() if target.tls else None
    check_reachable(target, context)
    view = BalancerView(balancer) if balancer is not None else None
    expected = expected_from_weights(view.weights()) if view is not None else {}
    metrics = MetricsServer(metrics_port) if metrics_port is not None else None
    samples: list[Sample] = []
    waves = WaveSpec(every_s=spec.waves_every_s)
    crowd = Crowd(spec.users, waves, seed=spec.seed) if spec.model == "waves" and spec.path is None else None
    window = Window(spec.window_s, spec.slo_ms, expected, playback(spec, crowd))
    alerting = Alerting(rules if rules is not None else default_rules())
    monitor = Monitor(window, alerting, sinks or [], balancer=view, metrics=metrics, on_tick=on_tick)

    def record(sample: Sample) -> None:
        if keep_samples:
            samples.append(sample)
        monitor.on_sample(sample)
        if on_sample is not None:
            on_sample(sample)

    generator = _sender(spec, target, context, crowd, record)
    monitor.in_flight = generator.in_flight
    if view is not None:
        view.begin()
    try:
        run_loop(_drive(generator, monitor, stop))
    finally:
        if metrics is not None:
            metrics.close()
    report = summarize(samples, spec.rps, spec.duration_s)
    counts = view.counts_since_start() if view is not None else None
    return LoadResult(report, monitor.events, expected, counts, monitor.latest, samples, monitor.stalls)


def _sender(
    spec: LoadSpec,
    target: Target,
    context: ssl.SSLContext | None,
    crowd: Crowd | None,
    record: Callable[[Sample], None],
) -> Generator | Fleet:
    """The load's sender: this process's generator, or a fleet of `spec.processes` of them."""
    if spec.processes > 1:
        return Fleet(spec.share(waves=crowd is not None), record)
    arrivals = Arrivals(spec.rps, spec.duration_s, spec.model, spec.seed)
    audience = Audience(spec.users, seed=spec.seed, fixed_path=spec.path, journey=spec.paths, crowd=crowd)
    return Generator(target, arrivals, audience, record, context)


def playback(spec: LoadSpec, crowd: Crowd | None = None) -> Playback | None:
    """The audience's players: only a streaming audience has them (not a fixed --path)."""
    if spec.path is not None:
        return None
    watching = crowd.watching if crowd is not None else None
    return Playback(PlayerSpec(interval_s=spec.users / spec.rps), spec.users, watching=watching)


async def _drive(generator: Generator | Fleet, monitor: Monitor, stop: Callable[[], bool] | None = None) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    done = asyncio.Event()

    def elapsed() -> float:
        """From the schedule's start (samples count their offsets from there), once it has started."""
        return loop.time() - (started if generator.t0 is None else generator.t0)

    watcher = loop.create_task(monitor.watch(elapsed, done))
    generator.on_late_wake = lambda lag: monitor.loop_lag(elapsed(), lag)
    try:
        await generator.run(stop=stop)
    finally:
        done.set()
        await watcher


def format_result(result: LoadResult) -> str:
    """The end-of-load table."""
    r = result.report
    lines = [
        f"rate      {r.achieved_rate:8.1f} req/s achieved of {r.target_rate:g} target "
        f"({r.requests} requests in {r.duration_s:g}s)",
        f"late      {r.late:8d} sends more than 10 ms behind schedule; {result.stalls} stall(s) of this load's "
        "own loop (no alert judges those windows)",
        f"errors    {r.errors:8d} ({(r.errors / r.requests if r.requests else 0):.1%})",
        f"latency   p50 {r.p50_ms:.1f} ms   p95 {r.p95_ms:.1f} ms   p99 {r.p99_ms:.1f} ms   max {r.max_ms:.1f} ms",
    ]
    if result.final is not None:
        lines.append(
            f"audience  {result.final.audience_affected:.0%} of viewers affected in the last window "
            f"(rebuffering {result.final.rebuffering_ratio:.1%})"
        )
    lines.append(f"{'replica':<10}{'requests':>10}{'share':>8}{'expected':>10}{'balancer':>10}")
    for name, row in result.replica_rows().items():
        expected = "" if row["expected_share"] is None else f"{row['expected_share']:.1%}"
        balancer = "" if row["balancer_responses"] is None else str(row["balancer_responses"])
        lines.append(f"{name:<10}{row['requests']:>10}{row['share']:>8.1%}{expected:>10}{balancer:>10}")
    lines += [event.describe() for event in result.events]
    return "\n".join(lines)


def load_command(
    url: str | None,
    stack: RunStack | None,
    rps: float,
    duration_s: float,
    users: int,
    model: str,
    path: str | None,
    slo_ms: float,
    webhook: str | None,
    metrics_port: int | None,
    progress: Callable[[str], None],
    trust: Trust = Trust(),
    processes: int = 1,
) -> LoadResult:
    """`drill load`: resolve the target, wire the sinks, run, and close what was opened.

    The CA file trusts the webhook's server too (in addition to the system's CAs, so Slack
    still verifies); --insecure is for the load target only."""
    balancer = None
    if stack is not None:
        url, balancer = stack.endpoints.audience_url, stack.balancer
    if url is None:
        raise UsageError("give --url URL or --run RUN_ID (one of them)")
    spec = LoadSpec(url, rps, duration_s, users, model, path, slo_ms, trust=trust, processes=processes)
    hook = WebhookSink(webhook, trust=Trust(ca_file=trust.ca_file)) if webhook else None
    sinks: list[Sink] = [TerminalSink(progress), *([hook] if hook else [])]
    last = [-1]

    def show(slis: Slis) -> None:
        if int(slis.at) > last[0]:
            last[0] = int(slis.at)
            progress(
                f"  {slis.at:5.1f}s  {slis.rate:7.1f} req/s  p95 {slis.p95_latency_ms:6.1f} ms  "
                f"errors {slis.error_rate:6.1%}  late {slis.late_sends}"
            )

    try:
        return run_load(spec, sinks=sinks, balancer=balancer, metrics_port=metrics_port, on_tick=show)
    except KeyboardInterrupt:
        raise Interrupted("interrupted: load stopped; nothing was left running") from None
    finally:
        if hook is not None:
            hook.close()
            if hook.dropped:
                progress(hook.summary())
