"""``llm-telemetry demo``: the no-key workload must light up every family, and its summary must be
exactly what ``/metrics`` says (the demo is where users first compare our numbers with theirs).

One in-process run (3 s at 20 req/s) is shared by most tests; ``on_done`` scrapes ``/metrics`` after
the last request while the server is still up, so the exposition and the summary describe the same
instant. Anthropic counts are not asserted on: that integration lands separately.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry
from llm_telemetry import cli
from llm_telemetry._demo import SCENARIOS, DemoSummary, Totals, _Progress, plan, run_demo

Sample = tuple[str, dict[str, str], float]


def _parse(text: str) -> list[Sample]:
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("llm_telemetry_")
    ]


def _scrape(url: str) -> list[Sample]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return _parse(response.read().decode())


def _sum(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items()))


def _values(samples: list[Sample], name: str, label: str) -> set[str]:
    """Label values of ``name`` series that counted something."""
    return {lab[label] for n, lab, v in samples if n == name and v > 0 and label in lab}


@dataclass
class Run:
    summary: DemoSummary
    output: str
    url: str
    baseline: list[Sample]
    during: list[Sample]
    final: list[Sample]
    elapsed: float
    after_error: BaseException | None

    def delta(self, name: str, **labels: str) -> float:
        """What the run added to ``name`` (the default registry may hold earlier tests' counts)."""
        return _sum(self.final, name, **labels) - _sum(self.baseline, name, **labels)


@pytest.fixture(scope="module")
def command_line() -> Iterator[subprocess.Popen[str]]:
    """``python -m llm_telemetry demo --duration 2 ...`` in a subprocess, started before the in-process
    run (which requests it) so the interpreter's start-up (importing two SDKs) overlaps that run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_EXPORTER_OTLP")}
    args = ["demo", "--duration", "2", "--rate", "10", "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_telemetry", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def run(command_line: subprocess.Popen[str]) -> Iterator[Run]:
    ready = threading.Event()
    seen: dict[str, Any] = {}

    def on_ready(url: str) -> None:
        seen["url"] = url
        seen["baseline"] = _parse(generate_latest(REGISTRY).decode())
        ready.set()

    def on_done(summary: DemoSummary) -> None:
        seen["final"] = _scrape(seen["url"])

    out = io.StringIO()
    result: dict[str, Any] = {}

    def target() -> None:
        start = time.monotonic()
        result["summary"] = run_demo(3, 20, 0, "127.0.0.1", 7, False, out, on_ready=on_ready, on_done=on_done)
        result["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=target)
    thread.start()
    assert ready.wait(30), "the demo never served /metrics"
    time.sleep(1.5)
    during = _scrape(seen["url"])  # scraped while requests are under way
    thread.join(30)
    assert not thread.is_alive(), "the demo did not end after its duration"
    after: BaseException | None = None
    try:
        _scrape(seen["url"])
    except (urllib.error.URLError, ConnectionError) as exc:
        after = exc
    yield Run(
        result["summary"],
        out.getvalue(),
        seen["url"],
        seen["baseline"],
        during,
        seen["final"],
        result["elapsed"],
        after,
    )


@pytest.mark.slow
def test_metrics_are_served_while_running_then_everything_is_released(run: Run) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", run.url)
    assert f"serving Prometheus metrics at {run.url}" in run.output
    assert any(n == "llm_telemetry_build_info" for n, _, _ in run.during)
    assert _sum(run.during, "llm_telemetry_requests_total") > _sum(
        run.baseline, "llm_telemetry_requests_total"
    )
    assert run.after_error is not None, "/metrics still served after run_demo returned"
    assert not llm_telemetry.is_instrumented()
    assert llm_telemetry.metrics_server_port() is None
    assert run.elapsed < 15


def test_the_workload_lights_up_every_family(run: Run) -> None:
    openai = {"provider": "openai"}
    assert run.delta("llm_telemetry_requests_total", **openai) > 0
    for family in ("input", "output", "cache_read", "reasoning"):
        assert run.delta(f"llm_telemetry_{family}_tokens_total", **openai) > 0, family
    assert run.delta("llm_telemetry_cost_usd_total", **openai) > 0
    for error_type in ("server", "context_length", "stream_interrupted"):
        assert run.delta("llm_telemetry_errors_total", error_type=error_type, **openai) >= 1, error_type
    for error_type in ("rate_limit", "server"):
        assert run.delta("llm_telemetry_retries_total", error_type=error_type, **openai) >= 1, error_type
    for reason in ("not_requested", "interrupted"):
        assert run.delta("llm_telemetry_usage_missing_total", reason=reason, **openai) >= 1, reason
    for reason in ("length", "tool_calls", "stop"):
        assert run.delta("llm_telemetry_finish_reasons_total", finish_reason=reason, **openai) >= 1, reason
    assert run.delta("llm_telemetry_requests_total", outcome="cancelled", **openai) >= 1
    assert run.delta("llm_telemetry_time_to_first_token_seconds_count", **openai) > 0
    requests = "llm_telemetry_requests_total"
    assert _values(run.final, requests, "feature") >= {"search", "chat", "summarize", "extract"}
    assert _values(run.final, requests, "tenant") >= {"acme", "globex"}
    assert _values(run.final, requests, "stream") == {"true", "false"}
    models = _values(run.final, requests, "request_model")
    assert models >= {"gpt-4o-mini", "gpt-4.1", "o4-mini", "text-embedding-3-small"}
    assert _values(run.final, requests, "operation") >= {"chat", "embeddings"}


def test_every_openai_call_is_counted_and_anthropic_calls_ran_cleanly(run: Run) -> None:
    s = run.summary
    assert s.unexpected == ()
    assert s.calls_by_provider["anthropic"] > 0
    assert set(s.scenarios) == set(SCENARIOS)  # the opening pass runs every scenario once
    assert s.expected_failures == sum(
        s.scenarios[n] for n in ("server_error", "context_length", "stream_cut")
    )
    assert run.delta("llm_telemetry_requests_total", provider="openai") == s.calls_by_provider["openai"]


def test_summary_matches_the_counters_exactly(run: Run) -> None:
    def totals(**labels: str) -> Totals:
        count = {
            "requests": run.delta("llm_telemetry_requests_total", **labels),
            "errors": run.delta("llm_telemetry_errors_total", **labels),
            "cancelled": run.delta("llm_telemetry_requests_total", outcome="cancelled", **labels),
            "retries": run.delta("llm_telemetry_retries_total", **labels),
            "input_tokens": run.delta("llm_telemetry_input_tokens_total", **labels),
            "output_tokens": run.delta("llm_telemetry_output_tokens_total", **labels),
            "cache_read_tokens": run.delta("llm_telemetry_cache_read_tokens_total", **labels),
            "cache_write_tokens": run.delta("llm_telemetry_cache_write_tokens_total", **labels),
            "reasoning_tokens": run.delta("llm_telemetry_reasoning_tokens_total", **labels),
        }
        assert all(v == int(v) for v in count.values())
        return Totals(
            **{k: int(v) for k, v in count.items()},
            spend_usd=run.delta("llm_telemetry_cost_usd_total", **labels),
        )

    s = run.summary
    for provider, mine in [*s.by_provider.items(), ("", s.total)]:
        theirs = totals(provider=provider) if provider else totals()
        for f in fields(Totals):
            if f.name == "spend_usd":
                assert math.isclose(getattr(mine, f.name), theirs.spend_usd, rel_tol=1e-9), provider
            else:
                assert getattr(mine, f.name) == getattr(theirs, f.name), (provider, f.name)
    assert s.total.requests > 0 and s.total.spend_usd > 0
    by_type = {t: run.delta("llm_telemetry_errors_total", error_type=t) for t in s.error_types}
    assert s.error_types == by_type
    assert (
        sum(s.error_types.values())
        == s.total.errors
        == run.delta("llm_telemetry_requests_total", outcome="error")
    )


def test_printed_summary_is_the_summary(run: Run) -> None:
    s, t = run.summary, run.summary.total
    (total_row,) = [line for line in run.output.splitlines() if line.startswith("total ")]
    cells = total_row.split()[1:]
    expected = [s.calls, t.requests, t.errors, t.cancelled, t.retries, t.input_tokens, t.output_tokens]
    assert [int(c.replace(",", "")) for c in cells[:7]] == expected
    assert cells[7] == f"{t.cache_hit_ratio:.1%}" and cells[8] == f"{t.spend_usd:.6f}"
    assert f"reasoning {t.reasoning_tokens:,}" in run.output
    assert "driver: " in run.output and "0 unexpected" in run.output
    # Not a TTY: plain progress lines, one per second for a short run.
    progress = [line for line in run.output.splitlines() if re.match(r"\[\s*\d+\.\ds\] requests \d", line)]
    assert progress and all(
        "cache hit" in line and "spend $" in line and "req/s" in line for line in progress
    )
    assert "\r" not in run.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_otherwise() -> None:
    terminal = _Terminal()
    progress = _Progress(terminal, duration=30, quiet=False, start=0.0)
    assert not progress.due(0.4) and progress.due(0.5)
    progress.show(0.5, "[   0.5s] requests 10")
    progress.show(1.0, "[   1.0s] requests 9")
    progress.end()
    assert terminal.getvalue() == "\r[   0.5s] requests 10\r[   1.0s] requests 9 \n"
    log = io.StringIO()
    progress = _Progress(log, duration=0, quiet=False, start=0.0)
    assert not progress.due(4.9) and progress.due(5.0)  # a calmer pace for the logs of long runs
    progress.show(5.0, "a")
    progress.end()
    assert log.getvalue() == "a\n"
    assert not _Progress(_Terminal(), 30, quiet=True, start=0.0).due(100)


def test_plan_is_reproducible_and_opens_with_every_scenario() -> None:
    first = list(itertools.islice(plan(3), 80))
    assert first == list(itertools.islice(plan(3), 80))
    assert [s.scenario for s in first] != [s.scenario for s in itertools.islice(plan(4), 80)]
    assert sorted(s.scenario for s in first[: len(SCENARIOS)]) == sorted(SCENARIOS)
    assert all(s.replies and s.latency >= 0 for s in first)
    assert {s.provider for s in first} == {"openai", "anthropic"}


def test_version_and_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["llm-telemetry"] == llm_telemetry.__version__
    assert {"openai", "anthropic", "litellm", "instructor", "prices"} <= lines.keys()
    for bad in (["demo", "--rate", "0"], ["demo", "--duration", "-1"], ["demo", "--port", "70000"], []):
        with pytest.raises(SystemExit) as exc:
            cli.main(bad)
        assert exc.value.code == 2


@pytest.mark.slow
def test_ctrl_c_ends_an_unbounded_run_gracefully(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (pytest runs tests in the main thread, where signal handlers live): SIGINT once the
    demo serves /metrics; the run must finish its calls, print the summary and return 0."""
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    returned = threading.Event()

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while llm_telemetry.metrics_server_port() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)
        if not returned.wait(20):  # not stopped: a second Ctrl-C interrupts it (and fails the test)
            os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt, daemon=True).start()
    try:
        code = cli.main(["demo", "--duration", "0", "--rate", "10", "--port", "0", "--quiet"])
    finally:
        returned.set()
    out = capsys.readouterr().out
    assert code == 0, out
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    assert out.startswith("serving Prometheus metrics at ")
    assert "llm-telemetry demo summary" in out and "0 unexpected" in out
    assert not llm_telemetry.is_instrumented()


@pytest.mark.slow
def test_command_line_runs_for_its_duration_and_exits_0(command_line: subprocess.Popen[str]) -> None:
    """Last, so the in-process runs above overlap the subprocess (started with the module's first run)."""
    out, _ = command_line.communicate(timeout=60)
    assert command_line.returncode == 0, out
    assert re.search(r"serving Prometheus metrics at http://127\.0\.0\.1:\d+/metrics", out)
    assert "for 2 s" in out and "llm-telemetry demo summary" in out
    assert re.search(r"^total\s+\d", out, re.M) and "0 unexpected" in out
