"""Multiprocess mode: worker processes' counters add up on one /metrics (gunicorn/uvicorn workers)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llm_telemetry.testing import FakeProvider

WORKER = textwrap.dedent(
    """
    import sys
    import openai
    import llm_telemetry

    llm_telemetry.instrument(metric_attributes=["worker"])
    client = openai.OpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)
    with llm_telemetry.attributes(worker=sys.argv[2]):
        for _ in range(int(sys.argv[3])):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            for _ in stream:
                pass
    """
)

SCRAPE = textwrap.dedent(
    """
    import urllib.request
    import llm_telemetry

    llm_telemetry.instrument(metric_attributes=["worker"], metrics_port=0)
    port = llm_telemetry.metrics_server_port()
    print(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode())
    """
)


@pytest.mark.slow
def test_workers_add_up_on_one_metrics_endpoint(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    calls = 3
    with FakeProvider() as fp:
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER, fp.openai_base_url, f"w{i}", str(calls)], env=env)
            for i in range(3)
        ]
        assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    out = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout

    values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(out):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            values[key] = values.get(key, 0.0) + s.value

    def total(name: str, **labels: str) -> float:
        return sum(v for (n, ls), v in values.items() if n == name and set(labels.items()) <= ls)

    assert total("llm_telemetry_requests_total") == 3 * calls * 2
    assert total("llm_telemetry_requests_total", outcome="success", stream="true") == 3 * calls
    for i in range(3):
        assert total("llm_telemetry_requests_total", worker=f"w{i}") == calls * 2
    # Default fake replies: chat 12 in / 3 out, chat stream 12 in / 2 out.
    assert total("llm_telemetry_input_tokens_total") == 3 * calls * (12 + 12)
    assert total("llm_telemetry_output_tokens_total") == 3 * calls * (3 + 2)
    assert total("llm_telemetry_request_duration_seconds_count") == 3 * calls * 2
    assert total("llm_telemetry_in_flight_requests") == 0
    assert total("llm_telemetry_build_info") == 1
    assert total("llm_telemetry_cost_usd_total") > 0
