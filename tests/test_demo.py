"""``llm-telemetry demo``: the no-key workload must light up every family, and its summary must be
exactly what ``/metrics`` says (the demo is where users first compare our numbers with theirs).

One in-process run (3 s at 20 req/s) is shared by most tests; ``on_done`` scrapes ``/metrics`` after
the last request while the server is still up, so the exposition and the summary describe the same
instant. The command line is run as users run it, in subprocesses: until Ctrl-C (SIGINT) by default,
``--quiet``, spans on the console, spans and OTel metrics to an OTLP receiver.
"""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import io
import itertools
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry
from llm_telemetry import cli
from llm_telemetry._demo import SCENARIOS, DemoSummary, Progress, Step, Totals, plan, run_demo
from llm_telemetry._demo._lanes import Tally, Workload
from llm_telemetry.testing import (
    Converse,
    ConverseStream,
    Error,
    GenerateContent,
    GenerateContentStream,
    InvokeModel,
)

from .conftest import Telemetry

Sample = tuple[str, dict[str, str], float]
#: The demo's subprocesses must not pick up an OTLP endpoint from the environment running the tests.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


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


def _demo(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "llm_telemetry", "demo", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=kwargs.pop("env", ENV),
        **kwargs,
    )


def _summary_rows(out: str) -> dict[str, list[int]]:
    """The summary table's numeric cells by provider (and ``total``): calls, requests, errors,
    cancelled, retries, in tokens, out tokens."""
    table = out[out.index("llm-telemetry demo summary") :].splitlines()[2:]
    rows = {}
    for line in table:
        cells = line.split()
        if len(cells) != 10:
            break
        rows[cells[0]] = [int(c.replace(",", "")) for c in cells[1:8]]
    return rows


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
def quiet_command() -> Iterator[subprocess.Popen[str]]:
    """``python -m llm_telemetry demo --quiet --duration 2`` in a subprocess, started before the
    in-process run (which requests it) so the interpreter's start-up (importing two SDKs) overlaps it."""
    process = _demo("--quiet", "--duration", "2", "--rate", "10", stderr=subprocess.PIPE)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def run(quiet_command: subprocess.Popen[str]) -> Iterator[Run]:
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
        result["summary"] = run_demo(
            duration=3, rate=20, port=0, seed=7, out=out, on_ready=on_ready, on_done=on_done
        )
        result["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=target)
    thread.start()
    assert ready.wait(30), "the demo never served /metrics"
    # Scraped while requests are under way: once the first has finished (about a second in, later on a
    # loaded machine: the plan opens with every scenario, slow ones included).
    requests = "llm_telemetry_requests_total"
    deadline = time.monotonic() + 2.5
    during = _scrape(seen["url"])
    while _sum(during, requests) <= _sum(seen["baseline"], requests) and time.monotonic() < deadline:
        time.sleep(0.1)
        during = _scrape(seen["url"])
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
    assert any(n == "llm_telemetry_build_info" for n, _, _ in run.during)
    assert _sum(run.during, "llm_telemetry_requests_total") > _sum(
        run.baseline, "llm_telemetry_requests_total"
    )
    assert run.after_error is not None, "/metrics still served after run_demo returned"
    assert not llm_telemetry.is_instrumented()
    assert run.elapsed < 15


def test_the_banner_says_where_to_look_next(run: Run) -> None:
    banner = run.output[: run.output.index("Ctrl-C stops")]
    address = run.url.removeprefix("http://").removesuffix("/metrics")
    assert banner.startswith("llm-telemetry demo: fake OpenAI, Anthropic, Gemini and Bedrock APIs on ")
    assert "20 req/s for 3 s, seed 7" in banner
    assert f"serving Prometheus metrics at {run.url}\n" in banner
    assert f"  metrics     curl {run.url}, or scrape {address} from your Prometheus\n" in banner
    dashboards = Path(__file__).resolve().parents[1] / "dashboards"
    assert f"Grafana > Dashboards > New > Import: upload each of {dashboards}/*.json" in banner
    assert "  full stack  docker compose up --build" in banner
    assert "  spans       not exported: add --spans console to print them, or --otlp http" in banner


def test_the_workload_lights_up_every_family(run: Run) -> None:
    openai = {"provider": "openai"}
    assert run.delta("llm_telemetry_requests_total", **openai) > 0
    for family in ("input", "output", "cache_read", "reasoning"):
        assert run.delta(f"llm_telemetry_{family}_tokens_total", **openai) > 0, family
    assert run.delta("llm_telemetry_cost_usd_total", **openai) > 0
    # The v1.1 billed units: audio and image tokens, server tool calls, a provider-reported cost.
    for family in ("audio_input", "audio_output", "image_input", "image_output"):
        assert run.delta(f"llm_telemetry_{family}_tokens_total", **openai) > 0, family
    assert run.delta("llm_telemetry_server_tool_calls_total", tool="web_search", provider="anthropic") >= 1
    assert run.delta("llm_telemetry_cost_usd_total", component="reported", provider="openrouter") > 0
    assert run.delta("llm_telemetry_requests_total", operation="image_generation", **openai) >= 2
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
    # Gemini's thoughts and context cache; Bedrock's prompt cache, throttling retries and prices (the
    # clients name AWS's endpoint, so open-weight models are priced as Bedrock bills them).
    gemini, bedrock = {"provider": "gcp.gemini"}, {"provider": "aws.bedrock"}
    for family in ("input", "output", "cache_read", "reasoning"):
        assert run.delta(f"llm_telemetry_{family}_tokens_total", **gemini) > 0, family
    for family in ("input", "output", "cache_read", "cache_write"):
        assert run.delta(f"llm_telemetry_{family}_tokens_total", **bedrock) > 0, family
    assert run.delta("llm_telemetry_retries_total", error_type="rate_limit", **bedrock) >= 1
    for labels in (gemini, bedrock):
        assert run.delta("llm_telemetry_cost_usd_total", **labels) > 0, labels
        assert run.delta("llm_telemetry_unpriced_requests_total", **labels) == 0, labels
        assert run.delta("llm_telemetry_time_to_first_token_seconds_count", **labels) > 0, labels
    requests = "llm_telemetry_requests_total"
    assert _values(run.final, requests, "feature") >= {"search", "chat", "summarize", "extract"}
    assert _values(run.final, requests, "tenant") >= {"acme", "globex"}
    assert _values(run.final, requests, "stream") == {"true", "false"}
    models = _values(run.final, requests, "request_model")
    assert models >= {"gpt-4o-mini", "gpt-4.1", "o4-mini", "text-embedding-3-small"}
    assert _values(run.final, requests, "operation") >= {"chat", "embeddings", "generate_content"}


def test_every_call_is_counted(run: Run) -> None:
    s = run.summary
    assert s.unexpected == ()
    assert s.calls_by_provider["anthropic"] > 0
    assert set(s.scenarios) == set(SCENARIOS)  # the opening pass runs every scenario once
    assert s.expected_failures == sum(
        s.scenarios[n] for n in ("server_error", "context_length", "stream_cut")
    )
    for provider in ("openai", "anthropic", "gcp.gemini", "aws.bedrock"):
        assert run.delta("llm_telemetry_requests_total", provider=provider) == s.calls_by_provider[provider]
    assert not s.skipped and "skipped" not in run.output  # the dev environment has every SDK


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
    assert _summary_rows(run.output)["total"] == expected
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
    progress = Progress(terminal, duration=30, start=0.0)
    assert not progress.due(0.4) and progress.due(0.5)
    progress.show(0.5, "[   0.5s] requests 10")
    progress.show(1.0, "[   1.0s] requests 9")
    progress.end()
    assert terminal.getvalue() == "\r[   0.5s] requests 10\r[   1.0s] requests 9 \n"
    log = io.StringIO()
    progress = Progress(log, duration=0, start=0.0)
    assert not progress.due(4.9) and progress.due(5.0)  # a calmer pace for the logs of long runs
    progress.show(5.0, "a")
    progress.end()
    assert log.getvalue() == "a\n"
    shared = _Terminal()  # spans print on the same terminal: no rewriting in place
    progress = Progress(shared, duration=0, start=0.0, plain=True)
    progress.show(5.0, "b")
    progress.end()
    assert shared.getvalue() == "b\n"


def test_plan_is_reproducible_and_opens_with_every_scenario() -> None:
    first = list(itertools.islice(plan(3), 80))
    assert first == list(itertools.islice(plan(3), 80))
    assert [s.scenario for s in first] != [s.scenario for s in itertools.islice(plan(4), 80)]
    assert sorted(s.scenario for s in first[: len(SCENARIOS)]) == sorted(SCENARIOS)
    assert all(s.replies and s.latency >= 0 for s in first)
    assert {s.provider for s in first} == {"openai", "anthropic", "gemini", "bedrock"}
    weights = {name: s.weight for name, s in SCENARIOS.items()}
    assert weights["chat"] == 14 and weights["stream_cut"] == 1 and len(weights) == 31
    # Without the optional SDKs' scenarios: as reproducible, and none of their calls.
    core = [name for name, s in SCENARIOS.items() if s.extra is None]
    without = [name for name, s in SCENARIOS.items() if s.extra is not None]
    assert len(without) == 6
    second = list(itertools.islice(plan(3, without), 80))
    assert second == list(itertools.islice(plan(3, without), 80))
    assert sorted(s.scenario for s in second[: len(core)]) == sorted(core)
    assert {s.provider for s in second} == {"openai", "anthropic"}


def _planned(step: Step) -> dict[str, int]:
    """The token families the contract (v1.1) derives from a step's scripted answer, its last reply.

    Gemini: input = promptTokenCount (cached included), output = candidates + thoughts, cache_read =
    cachedContentTokenCount, reasoning = thoughts. Bedrock Converse: input = inputTokens + cache reads +
    cache writes (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html).
    InvokeModel with Anthropic's body: Anthropic's usage, whose input_tokens excludes cache reads and
    writes (https://docs.anthropic.com/en/api/messages, ``usage``).
    """
    reply = step.replies[-1]
    if isinstance(reply, GenerateContent | GenerateContentStream):
        assert reply.usage is not None
        thoughts = reply.usage.get("thoughtsTokenCount", 0)
        return {
            "input": reply.usage["promptTokenCount"],
            "output": reply.usage["candidatesTokenCount"] + thoughts,
            "cache_read": reply.usage.get("cachedContentTokenCount", 0),
            "cache_write": 0,
            "reasoning": thoughts,
        }
    if isinstance(reply, Converse | ConverseStream):
        assert reply.usage is not None
        read, write = reply.usage.get("cacheReadInputTokens", 0), reply.usage.get("cacheWriteInputTokens", 0)
        return {
            "input": reply.usage["inputTokens"] + read + write,
            "output": reply.usage["outputTokens"],
            "cache_read": read,
            "cache_write": write,
            "reasoning": 0,
        }
    assert isinstance(reply, InvokeModel)
    read, write = reply.cache_read or 0, reply.cache_write or 0
    return {
        "input": reply.input_tokens + read + write,
        "output": reply.output_tokens,
        "cache_read": read,
        "cache_write": write,
        "reasoning": 0,
    }


@pytest.mark.slow
@pytest.mark.instrument(metric_attributes=["feature"])
@pytest.mark.parametrize(("threads", "slots"), [(2, 0), (0, 2)], ids=["sync", "async"])
def test_gemini_and_bedrock_steps_record_exactly_the_planned_tokens(
    telemetry: Telemetry, threads: int, slots: int
) -> None:
    """The plan's google-genai and boto3 steps, run by the demo's own lanes (sync clients in threads, or
    async slots: ``client.aio`` and boto3 in a worker thread, the attribution scope carried along): every
    token family per (provider, model, feature) is exactly what the planner scripted, each throttled call
    one retry, every model priced."""
    steps = [
        dataclasses.replace(s, latency=0.0, chunk_delay=0.0)  # the answers, without the think time
        for s in itertools.islice(plan(7), 60)
        if s.provider in ("gemini", "bedrock")
    ]
    assert {s.scenario for s in steps} == {n for n, s in SCENARIOS.items() if s.extra is not None}
    tally, halt = Tally(), threading.Event()
    workload = Workload(steps, 100.0, tally, halt, threads, slots)
    workload.start()
    try:
        assert workload.done.wait(60), "the lanes did not finish the plan"
    finally:
        workload.close()
    assert tally.unexpected == [] and tally.expected_failures == 0
    assert sum(tally.calls.values()) == len(steps)
    expected: dict[tuple[str, str, str], Counter[str]] = {}
    for step in steps:
        key = (step.counted_as, step.kwargs.get("model") or step.kwargs["modelId"], step.feature)
        expected.setdefault(key, Counter()).update(_planned(step))
    assert {provider for provider, _, _ in expected} == {"gcp.gemini", "aws.bedrock"}
    for (provider, model, feature), tokens in expected.items():
        labels = {"provider": provider, "request_model": model, "feature": feature}
        for family in ("input", "output", "cache_read", "cache_write", "reasoning"):
            counted = telemetry.value(f"llm_telemetry_{family}_tokens_total", **labels)
            assert counted == tokens[family], (provider, model, feature, family)
        assert telemetry.value("llm_telemetry_cost_usd_total", **labels) > 0, labels
        assert telemetry.value("llm_telemetry_unpriced_requests_total", **labels) == 0, labels
    for provider in ("gcp.gemini", "aws.bedrock"):
        calls = [s for s in steps if s.counted_as == provider]
        throttled = sum(isinstance(s.replies[0], Error) for s in calls)
        assert telemetry.value("llm_telemetry_requests_total", provider=provider) == tally.calls[provider]
        assert telemetry.value("llm_telemetry_requests_total", provider=provider, outcome="success") == len(
            calls
        )
        assert telemetry.value("llm_telemetry_retries_total", provider=provider) == throttled
        assert telemetry.value("llm_telemetry_retries_total", provider=provider, error_type="rate_limit") == (
            throttled
        )
    assert sum(isinstance(s.replies[0], Error) for s in steps) >= 1
    addresses = {(span.attributes or {}).get("server.address") for span in telemetry.spans()}
    assert "bedrock-runtime.us-east-1.amazonaws.com" in addresses


@pytest.mark.slow
def test_without_google_genai_and_boto3_their_scenarios_are_skipped_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As in an environment installed with README's ``.[openai,anthropic]``: the demo runs the rest, and
    the banner and the summary say what was skipped and the install line that adds it."""
    monkeypatch.setitem(sys.modules, "google.genai", None)
    monkeypatch.setitem(sys.modules, "boto3", None)
    out = io.StringIO()
    summary = run_demo(duration=1, rate=10, port=0, seed=7, out=out)
    text = out.getvalue()
    skipped = [name for name, s in SCENARIOS.items() if s.extra is not None]
    assert summary.unexpected == () and summary.calls > 0
    assert summary.skipped.extras == ("gemini", "bedrock") and list(summary.skipped.scenarios) == skipped
    assert set(summary.calls_by_provider) <= {"openai", "anthropic", "openrouter"}
    assert not set(summary.scenarios) & set(skipped)
    assert text.startswith("llm-telemetry demo: fake OpenAI and Anthropic APIs on loopback")
    assert (
        "  skipped     the Gemini and Bedrock scenarios: google-genai and boto3 are not installed;\n"
        "              pip install -e '.[gemini,bedrock]' adds them\n"
    ) in text
    assert (
        f"skipped: {', '.join(skipped)} (google-genai and boto3 are not installed; "
        "pip install -e '.[gemini,bedrock]' adds them)\n"
    ) in text


def test_version_defaults_and_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["llm-telemetry"] == llm_telemetry.__version__
    assert {"openai", "anthropic", "litellm", "instructor", "prices"} <= lines.keys()
    defaults = cli._parser().parse_args(["demo"])
    assert (defaults.duration, defaults.port, defaults.host, defaults.spans, defaults.otlp) == (
        0.0,
        9464,
        "127.0.0.1",
        None,
        None,
    )
    bad_arguments = (
        ["demo", "--rate", "0"],
        ["demo", "--duration", "-1"],
        ["demo", "--port", "70000"],
        ["demo", "--spans", "jaeger"],
        [],
    )
    for bad in bad_arguments:
        with pytest.raises(SystemExit) as exc:
            cli.main(bad)
        assert exc.value.code == 2


def test_a_busy_port_names_the_demos_own_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["demo", "--port", str(port), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"llm-telemetry demo: cannot serve /metrics on 127.0.0.1:{port}: Address already in use; "
        "choose another port with --port (0 picks a free one) or another address with --host\n"
    )
    assert not llm_telemetry.is_instrumented()


def test_spans_without_the_otel_sdk_name_the_extra_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in an environment with only ``[openai,anthropic]`` installed: the import fails, and the demo
    stops before serving anything, naming the install line."""
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace.export", None)
    # As in a process where nobody configured a TracerProvider (the conftest did, for the other tests).
    unconfigured = trace.ProxyTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: unconfigured)
    assert cli.main(["demo", "--spans", "console", "--port", "0"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "llm-telemetry demo: --spans console needs the OpenTelemetry SDK and exporters: "
        "opentelemetry.sdk.trace.export is not installed; install it with pip install 'llm-telemetry[otel]'\n"
    )
    assert not llm_telemetry.is_instrumented()


def _read_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("Ctrl-C stops"):
        line = process.stdout.readline()
        assert line, f"the demo exited early: {''.join(lines)}"
        lines.append(line)
    return "".join(lines)


@pytest.mark.slow
def test_by_default_it_serves_until_ctrl_c_which_stops_it_cleanly(tmp_path: Path) -> None:
    """No ``--duration``: /metrics keeps being served and moving; SIGINT (Ctrl-C) ends the run with
    exit 0 and the summary. The spans printed by ``--spans console`` carry exactly the summary's
    input tokens per provider."""
    with (tmp_path / "spans").open("w+") as spans:
        process = _demo("--rate", "10", "--spans", "console", stderr=spans)
        try:
            banner = _read_banner(process)
            url = re.search(r"serving Prometheus metrics at (\S+)", banner)
            assert url, banner
            assert "10 req/s until Ctrl-C" in banner
            assert "  spans       printed to stderr, one JSON object per line\n" in banner
            first = _sum(_scrape(url[1]), "llm_telemetry_requests_total")
            time.sleep(3)
            assert process.poll() is None
            assert _sum(_scrape(url[1]), "llm_telemetry_requests_total") > first
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, out
        assert "0 unexpected" in out
        spans.seek(0)
        printed = [json.loads(line) for line in spans if line.startswith("{")]
    rows = _summary_rows(out)
    in_tokens: Counter[str] = Counter()
    for span in printed:
        attributes = span["attributes"]
        assert span["kind"] == "SpanKind.CLIENT"
        assert span["name"] == f"{attributes['gen_ai.operation.name']} {attributes['gen_ai.request.model']}"
        in_tokens[attributes["gen_ai.provider.name"]] += attributes.get("gen_ai.usage.input_tokens", 0)
    assert len(printed) == rows["total"][1]  # one span per request
    assert dict(in_tokens) == {provider: row[5] for provider, row in rows.items() if provider != "total"}


@pytest.mark.slow
def test_quiet_prints_the_summary_only(quiet_command: subprocess.Popen[str]) -> None:
    out, err = quiet_command.communicate(timeout=60)
    assert quiet_command.returncode == 0, out + err
    assert out.startswith("llm-telemetry demo summary: ")
    assert "serving" not in out and "where to look next" not in out and "req/s for" not in out
    assert re.search(r"^total\s+\d", out, re.M) and "0 unexpected" in out
    assert err == ""


class _Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP receiver on loopback: keeps each request body by path (/v1/traces, /v1/metrics)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.bodies: dict[str, list[bytes]] = {}


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.bodies.setdefault(self.path, []).append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _attributes(pairs: Any) -> dict[str, Any]:
    def value(kv: KeyValue) -> Any:
        kind = kv.value.WhichOneof("value")
        return getattr(kv.value, kind) if kind else None

    return {kv.key: value(kv) for kv in pairs}


@pytest.mark.slow
def test_otlp_sends_the_spans_and_gen_ai_metrics() -> None:
    """``--otlp`` to a real OTLP/HTTP endpoint (an in-process receiver decoding the protobuf bodies):
    the spans' and the ``gen_ai.client.token.usage`` input tokens equal the summary's."""
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_port}"
    env = {**ENV, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_SERVICE_NAME": "demo-under-test"}
    try:
        process = _demo("--quiet", "--duration", "2", "--rate", "10", "--otlp", endpoint, env=env)
        out, _ = process.communicate(timeout=60)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert process.returncode == 0, out
    total = _summary_rows(out)["total"]
    spans = [
        (_attributes(resource.resource.attributes), _attributes(span.attributes))
        for body in receiver.bodies["/v1/traces"]
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert len(spans) == total[1]
    assert {r["service.name"] for r, _ in spans} == {"demo-under-test"}
    assert sum(a.get("gen_ai.usage.input_tokens", 0) for _, a in spans) == total[5]
    (last,) = receiver.bodies["/v1/metrics"][-1:]  # cumulative: the last export has the totals
    usage = [
        point
        for resource in ExportMetricsServiceRequest.FromString(last).resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "gen_ai.client.token.usage"
        for point in metric.histogram.data_points
    ]
    by_type = Counter({_attributes(p.attributes)["gen_ai.token.type"]: 0 for p in usage})
    for point in usage:
        by_type[_attributes(point.attributes)["gen_ai.token.type"]] += int(point.sum)
    assert by_type["input"] == total[5] and by_type["output"] == total[6]
