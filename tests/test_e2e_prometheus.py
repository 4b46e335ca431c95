"""End to end: a real Prometheus scrapes the demo; every dashboard query and rule is evaluated against it.

The demo runs as its own process (exactly what ``llm-telemetry demo`` does), Prometheus (Debian's
``prometheus`` package) scrapes it every second on a free loopback port with our recording and
alerting rules loaded, and each shipped PromQL expression goes through Prometheus's HTTP API, the
dashboard panels that read recorded series included.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from . import services
from .promql import RULE_FILES, RULES_FILE, all_queries, dashboard_targets, recorded_series, substitute

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        services.missing("prometheus", "promtool"),
        reason="needs Debian's prometheus package (installed by .ci/run)",
    ),
]

#: Queries whose value must be strictly positive once the demo has run for a while.
MUST_BE_POSITIVE = (
    "llm-overview.json: Spend",
    "llm-overview.json: Requests",
    "llm-overview.json: Tokens",
    "llm-overview.json: Cache hit",
    "llm-overview.json: p95 latency",
)

#: Families the telemetry creates on first use rather than at zero.
FIRST_USE = (
    "llm_telemetry_audio_input_tokens_total",
    "llm_telemetry_audio_output_tokens_total",
    "llm_telemetry_image_input_tokens_total",
    "llm_telemetry_image_output_tokens_total",
    "llm_telemetry_server_tool_calls_total",
)


@dataclass
class Stack:
    """The demo's /metrics and the Prometheus scraping it."""

    metrics_url: str
    prometheus: services.Prometheus


def _warm_up(s: Stack) -> None:
    """Until every recorded series exists: two scrapes of moving counters, then a rule evaluation."""
    services.wait(lambda: "llm_telemetry_requests_total" in services.get(s.metrics_url), 60, "the demo")
    prometheus = s.prometheus
    # rate() over [1m] needs two samples of counters that the demo has already moved.
    services.wait(
        lambda: prometheus.values("sum(rate(llm_telemetry_retries_total[1m])) > 0"),
        60,
        "two scrapes with retries under way",
    )
    for name in recorded_series():
        services.wait(lambda name=name: prometheus.values(f"count({name})"), 60, f"recorded {name}")
    # Created on their first non-zero value (contract v1.1), by scenarios that may come late in the
    # demo's opening pass: rate() has data once two scrapes saw them.
    for name in FIRST_USE:
        services.wait(lambda name=name: prometheus.values(f"count(rate({name}[1m]))"), 60, f"two of {name}")
    time.sleep(3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    demo_port = services.free_port()
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    command = ["-m", "llm_telemetry", "demo", "--duration", "0", "--rate", "25", "--quiet", "--port"]
    demo = subprocess.Popen(
        [sys.executable, *command, str(demo_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    scrape = services.scrape_config("llm-app", f"127.0.0.1:{demo_port}")
    try:
        with services.prometheus(tmp_path_factory.mktemp("prometheus"), scrape, RULE_FILES) as prometheus:
            s = Stack(f"http://127.0.0.1:{demo_port}/metrics", prometheus)
            _warm_up(s)
            yield s
    finally:
        demo.terminate()
        try:
            demo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            demo.kill()


def test_every_dashboard_query_and_rule_evaluates(stack: Stack) -> None:
    empty, failed = [], []
    for where, expr in all_queries():
        answer = stack.prometheus.query(expr)
        if answer.get("status") != "success":
            failed.append(f"{where}: {answer.get('error')}")
            continue
        # An alert's expression is empty unless it fires; a recording rule's and a panel's never are.
        if not where.startswith(RULES_FILE.name) and not answer["data"]["result"]:
            empty.append(f"{where}: {expr}")
    assert failed == []
    assert empty == [], "dashboard queries or recording rules with no data:\n" + "\n".join(empty)


def test_key_panels_show_non_zero_values(stack: Stack) -> None:
    checked = 0
    for where, expr in dashboard_targets():
        if where.startswith(MUST_BE_POSITIVE):
            values = stack.prometheus.values(substitute(expr))
            assert values, where
            assert max(values) > 0, where
            checked += 1
    assert checked >= len(MUST_BE_POSITIVE)


def test_every_provider_the_demo_calls_is_charted_with_its_spend(stack: Stack) -> None:
    """Every dashboard filters by ``provider`` (a variable over the request counter's values): the demo's
    Gemini and Bedrock traffic is there, priced, as OpenAI's and Anthropic's are."""
    answer = stack.prometheus.query("sum by (provider) (llm_telemetry_cost_usd_total) > 0")
    priced = {r["metric"]["provider"] for r in answer["data"]["result"]}
    assert priced == {"openai", "anthropic", "openrouter", "gcp.gemini", "aws.bedrock"}


def test_rules_are_loaded_and_healthy(stack: Stack) -> None:
    rules = stack.prometheus.rules
    services.wait(lambda: rules() and all(r.get("health") == "ok" for r in rules()), 20, "rules evaluated")
    names = {r["name"] for r in rules()}
    assert recorded_series().keys() <= names
    assert sum(r["type"] == "alerting" for r in rules()) >= 7


def test_every_metric_name_queried_is_exposed(stack: Stack) -> None:
    exposition = services.get(stack.metrics_url)
    exposed = {
        line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line.startswith("llm_")
    }
    # Recorded series (level:metric:operations) are Prometheus's own; every other name must be exposed.
    referenced = {
        name
        for _, expr in all_queries()
        for name in re.findall(r"(?<![\w:])(llm_telemetry_[a-z_]+)(?![\w:])", expr)
    }
    assert referenced, "no metric referenced"
    assert sorted(referenced - exposed) == []


def test_promtool_accepts_the_exposition(stack: Stack) -> None:
    exposition = services.get(stack.metrics_url)
    command = ["promtool", "check", "metrics"]
    result = subprocess.run(command, input=exposition, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
