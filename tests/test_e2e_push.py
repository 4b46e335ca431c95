"""End to end, the short-lived path: a script's spend reaches Prometheus through a Pushgateway after it exits.

A real Pushgateway and a real Prometheus scraping it (``honor_labels: true``, as the Pushgateway docs
require) on loopback ports; the script runs in its own process through the real openai SDK against
the fake provider, configured only by environment variables, and exits without calling ``flush()``:
the exit push is what delivers its numbers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_telemetry.testing import Chat, FakeProvider, openai_usage

from . import services

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        services.missing("prometheus", services.PUSHGATEWAY),
        reason="needs Debian's prometheus and prometheus-pushgateway (installed by .ci/run)",
    ),
]

SCRIPT = textwrap.dedent(
    """
    import sys
    import openai
    import llm_telemetry

    llm_telemetry.instrument()  # push_gateway, push_job, push_interval from LLM_TELEMETRY_PUSH_*
    client = openai.OpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, services.Prometheus]]:
    with services.pushgateway() as gateway:
        scrape = services.scrape_config("pushgateway", gateway.removeprefix("http://"), honor_labels=True)
        with services.prometheus(tmp_path_factory.mktemp("push"), scrape) as prometheus:
            yield gateway, prometheus


def test_exited_script_spend_is_queryable(stack: tuple[str, services.Prometheus], tmp_path: Path) -> None:
    gateway, prometheus = stack
    env = {
        **os.environ,
        "LLM_TELEMETRY_PUSH_GATEWAY": gateway,
        "LLM_TELEMETRY_PUSH_JOB": "nightly-eval",
        "LLM_TELEMETRY_PUSH_INTERVAL": "3600",  # no interval push: only the one at exit
        "OTEL_TRACES_EXPORTER": "none",
    }
    with FakeProvider() as fp:
        fp.script(*(Chat(model="gpt-4o-mini-2024-07-18", usage=openai_usage(1_200, 340, cached=200)),) * 3)
        script = subprocess.Popen([sys.executable, "-c", SCRIPT, fp.openai_base_url], env=env, cwd=tmp_path)
        assert script.wait(timeout=120) == 0
    job = 'job="nightly-eval"'
    services.wait(
        lambda: prometheus.values(f"sum(llm_telemetry_requests_total{{{job}}})") == [3.0],
        60,
        "Prometheus to scrape the pushed group",
    )
    assert prometheus.values(f"sum(llm_telemetry_input_tokens_total{{{job}}})") == [3_600]
    assert prometheus.values(f"sum(llm_telemetry_output_tokens_total{{{job}}})") == [1_020]
    assert prometheus.values(f"sum(llm_telemetry_cache_read_tokens_total{{{job}}})") == [600]
    # gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    (cost,) = prometheus.values(f"sum(llm_telemetry_cost_usd_total{{{job}}})")
    assert cost == pytest.approx(3 * (1_000 * 0.15e-6 + 200 * 0.075e-6 + 340 * 0.60e-6), rel=1e-12)
    # One group per process: the script's host name and pid are its instance.
    result = prometheus.query(f"sum by (instance) (llm_telemetry_requests_total{{{job}}})")["data"]["result"]
    assert [r["metric"]["instance"] for r in result] == [f"{socket.gethostname()}-{script.pid}"]
