"""``run_demo``: instrument this process, serve ``/metrics``, drive the workload, print the summary.

Why a demo: the fastest way to see what the telemetry gives you (Prometheus families, dashboards,
alert rules) is to watch it record a believable workload, for as long as you want to look at it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from prometheus_client import REGISTRY

from ..exporters.server import MetricsServer, serve
from ..instrumentation import instrument, uninstrument
from ..streams import flush
from ._console import Progress, banner, display_host, progress_line
from ._errors import DemoError
from ._lanes import Tally, Workload, lanes
from ._scenarios import Skipped, plan, skipped
from ._summary import DemoSummary, Reading, format_summary, read

__all__ = ["METRIC_ATTRIBUTES", "run_demo"]

#: Attribution labels the workload sets on every call (the Cost dashboard groups by ``feature``).
METRIC_ATTRIBUTES = ("feature", "tenant")


def _serve(host: str, port: int) -> MetricsServer:
    """``/metrics`` served by the demo itself, so a busy port is reported with the demo's own flags."""
    try:
        return serve(port, host)
    except OSError as exc:
        raise DemoError(
            f"cannot serve /metrics on {display_host(host)}:{port}: {exc.strerror or exc}; "
            "choose another port with --port (0 picks a free one) or another address with --host"
        ) from None


def run_demo(
    duration: float = 0.0,
    rate: float = 5.0,
    port: int = 9464,
    host: str = "127.0.0.1",
    seed: int = 0,
    quiet: bool = False,
    out: TextIO | None = None,
    *,
    stop: threading.Event | None = None,
    spans: str | None = None,
    on_ready: Callable[[str], None] | None = None,
    on_done: Callable[[DemoSummary], None] | None = None,
) -> DemoSummary:
    """Instrument this process, serve ``/metrics`` on ``host:port`` and drive the demo workload.

    ``duration`` 0 runs until ``stop`` is set (or Ctrl-C in the main thread); either way the calls
    under way finish and the summary is printed to ``out`` (``quiet``: nothing else). ``spans`` says
    where spans go, for the banner. The run ends with ``uninstrument()``. ``on_ready`` gets the URL
    before the first request; ``on_done`` gets the summary while ``/metrics`` is still served, so a
    caller can scrape values that match it.
    """
    if rate <= 0 or duration < 0:
        raise ValueError(f"need rate > 0 requests per second and duration >= 0 s, got {rate}, {duration}")
    out = sys.stdout if out is None else out
    halt = threading.Event()  # ours, not the caller's ``stop``, so theirs is never set behind their back
    workload: Workload | None = None
    server: MetricsServer | None = None
    instrument(metric_attributes=list(METRIC_ATTRIBUTES))
    try:
        skip = skipped()
        server = _serve(host, port)
        url = f"http://{display_host(host)}:{server.server_port}/metrics"
        baseline = read(REGISTRY)
        if on_ready is not None:
            on_ready(url)
        threads, slots = lanes(rate)
        if not quiet:
            _write(
                out,
                banner(
                    rate=rate,
                    duration=duration,
                    seed=seed,
                    lanes=(threads, slots),
                    url=url,
                    spans=spans,
                    skipped=skip,
                ),
            )
        tally = Tally()
        workload = Workload(plan(seed, skip.scenarios), rate, tally, halt, threads, slots)
        workload.start()
        progress = None if quiet else Progress(out, duration, time.monotonic(), plain=spans is not None)
        elapsed = _drive(workload, stop, duration, progress, baseline)
        flush()  # streams dropped without close() are recorded by a background thread
        summary = _summary(read(REGISTRY).since(baseline), tally, elapsed, seed, url, skip)
        _write(out, format_summary(summary))
        if on_done is not None:
            on_done(summary)
        return summary
    finally:
        halt.set()
        _release(workload, server)


def _release(workload: Workload | None, server: MetricsServer | None) -> None:
    """Stop what ``run_demo`` started, in reverse: the lanes, ``/metrics``, the instrumentation."""
    if workload is not None:
        workload.close()
    if server is not None:
        server.shutdown()
        server.server_close()
    uninstrument()


def _write(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


def _drive(
    workload: Workload,
    stop: threading.Event | None,
    duration: float,
    progress: Progress | None,
    baseline: Reading,
) -> float:
    """Wait for the lanes, halting them at the deadline or on ``stop``; returns the seconds run."""
    start = time.monotonic()
    deadline = start + duration if duration > 0 else None
    try:
        while not workload.done.wait(0.1):
            now = time.monotonic()
            if (stop is not None and stop.is_set()) or (deadline is not None and now >= deadline):
                workload.halt.set()  # lanes finish the call under way (think time cut short), then exit
            if progress is not None and progress.due(now):
                progress.show(now, progress_line(now - start, read(REGISTRY).since(baseline).total))
    except KeyboardInterrupt:  # Ctrl-C under the default handler: stop as gracefully
        workload.halt.set()
        workload.done.wait(30)
    if progress is not None:
        progress.end()
    return time.monotonic() - start


def _summary(
    reading: Reading, tally: Tally, elapsed: float, seed: int, url: str, skip: Skipped
) -> DemoSummary:
    return DemoSummary(
        elapsed=elapsed,
        seed=seed,
        metrics_url=url,
        by_provider=reading.by_provider,
        total=reading.total,
        error_types={k: v for k, v in reading.error_types.items() if v},
        calls_by_provider=dict(tally.calls),
        scenarios=dict(tally.scenarios),
        expected_failures=tally.expected_failures,
        unexpected=tuple(tally.unexpected),
        skipped=skip,
    )
