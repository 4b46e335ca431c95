"""``opentelemetry-instrument python app.py`` with nothing but the ``otel`` extra installed: a real
agent run, configured only by ``OTEL_*`` variables, yields our span and metrics.

The app is a plain openai SDK script that never mentions instrumentation; it talks to the fake
provider over real HTTP. The agent's console exporters print every span and metrics export as JSON
on stdout, which is parsed back here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = """
import sys
import urllib.request

import openai

import llm_telemetry
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

with FakeProvider() as fp:
    fp.script(Chat(model="gpt-4o-mini-2024-07-18", usage=openai_usage(12, 3)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="test")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
# LLM_TELEMETRY_METRICS_PORT=0: the agent's instrument() serves /metrics on a free port
url = f"http://127.0.0.1:{llm_telemetry.metrics_server_port()}/metrics"
exposition = urllib.request.urlopen(url, timeout=10).read().decode()
print(exposition, file=sys.stderr)
"""


def _documents(text: str) -> list[dict[str, Any]]:
    """The console exporters print indented JSON objects one after another."""
    decoder, at, found = json.JSONDecoder(), 0, []
    while text[at:].strip():
        document, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        found.append(document)
    return found


@pytest.fixture(scope="module")
def agent_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:
    app = tmp_path_factory.mktemp("app") / "app.py"
    app.write_text(APP)
    agent = Path(sys.executable).parent / "opentelemetry-instrument"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_TELEMETRY_"))}
    env |= {
        "OTEL_SERVICE_NAME": "agent-under-test",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "console",
        "OTEL_LOGS_EXPORTER": "none",
        "LLM_TELEMETRY_METRICS_PORT": "0",
    }
    result = subprocess.run(
        [str(agent), sys.executable, str(app)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return _documents(result.stdout), result.stderr


@pytest.mark.slow
def test_the_agent_exports_our_one_span(agent_run: tuple[list[dict[str, Any]], str]) -> None:
    documents, _ = agent_run
    spans = [d for d in documents if "resource_metrics" not in d]
    assert len(spans) == 1
    (span,) = spans
    assert (span["name"], span["kind"], span["status"]["status_code"]) == (
        "chat gpt-4o-mini",
        "SpanKind.CLIENT",
        "UNSET",
    )
    assert span["resource"]["attributes"]["service.name"] == "agent-under-test"
    expected = {
        "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.stream": False,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "server.address": "127.0.0.1",
    }
    assert {k: span["attributes"].get(k) for k in expected} == expected


@pytest.mark.slow
def test_the_agent_exports_the_gen_ai_metrics_and_prometheus_counts(
    agent_run: tuple[list[dict[str, Any]], str],
) -> None:
    documents, stderr = agent_run
    exports = [d for d in documents if "resource_metrics" in d]
    assert exports, "no metrics export"
    metrics = {
        metric["name"]: metric["data"]["data_points"]
        for resource in exports[-1]["resource_metrics"]  # cumulative: the last export has the totals
        for scope in resource["scope_metrics"]
        if scope["scope"]["name"] == "llm_telemetry"
        for metric in scope["metrics"]
    }
    usage = {
        p["attributes"]["gen_ai.token.type"]: (p["count"], p["sum"])
        for p in metrics["gen_ai.client.token.usage"]
    }
    assert usage == {"input": (1, 12), "output": (1, 3)}
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration["count"] == 1 and duration["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    # The Prometheus families too, served on /metrics as configured by LLM_TELEMETRY_METRICS_PORT.
    tokens = {
        line.split("{")[0]: line.rsplit(" ", 1)[1]
        for line in stderr.splitlines()
        if line.startswith("llm_telemetry_") and 'response_model="gpt-4o-mini-2024-07-18"' in line
    }
    assert tokens["llm_telemetry_input_tokens_total"] == "12.0"
    assert tokens["llm_telemetry_output_tokens_total"] == "3.0"
