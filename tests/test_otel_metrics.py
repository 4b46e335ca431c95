"""The same usage also reaches the OTel metrics gen_ai.client.token.usage and .operation.duration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llm_telemetry.testing import Chat, Error, FakeProvider, openai_usage

from .conftest import METRIC_READER, Telemetry

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as fp:
        yield fp


def _points(name: str) -> list[Any]:
    data = METRIC_READER.get_metrics_data()
    out: list[Any] = []
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    out.extend(metric.data.data_points)
    return out


def _sum(name: str, **attrs: object) -> tuple[int, float]:
    count, total = 0, 0.0
    for p in _points(name):
        if all(p.attributes.get(k) == v for k, v in attrs.items()):
            count += p.count
            total += p.sum
    return count, total


def test_token_usage_and_duration_histograms(telemetry: Telemetry, fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="x", max_retries=0)
    model = "otel-metrics-model"
    before_in = _sum(
        "gen_ai.client.token.usage", **{"gen_ai.request.model": model, "gen_ai.token.type": "input"}
    )
    before_out = _sum(
        "gen_ai.client.token.usage", **{"gen_ai.request.model": model, "gen_ai.token.type": "output"}
    )
    before_err = _sum(
        "gen_ai.client.operation.duration", **{"gen_ai.request.model": model, "error.type": "bad_request"}
    )
    fake.script(Chat(usage=openai_usage(40, 9)), Chat(usage=openai_usage(60, 1)), Error(400))
    client.chat.completions.create(model=model, messages=MESSAGES)
    client.chat.completions.create(model=model, messages=MESSAGES)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model, messages=MESSAGES)

    common = {
        "gen_ai.request.model": model,
        "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "chat",
    }
    count, total = _sum("gen_ai.client.token.usage", **common, **{"gen_ai.token.type": "input"})
    assert (count - before_in[0], total - before_in[1]) == (2, 100)
    count, total = _sum("gen_ai.client.token.usage", **common, **{"gen_ai.token.type": "output"})
    assert (count - before_out[0], total - before_out[1]) == (2, 10)
    count, _ = _sum("gen_ai.client.operation.duration", **common, **{"error.type": "bad_request"})
    assert count - before_err[0] == 1


def test_the_contract_families_over_otlp_equal_the_prometheus_ones(fake: FakeProvider) -> None:
    """A user on the OTel Collector path gets the same numbers: one workload, both exports compared."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from prometheus_client import CollectorRegistry

    import llm_telemetry
    from llm_telemetry.testing import ChatStream

    reader = InMemoryMetricReader()
    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry, meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="x", max_retries=1)
        fake.script(
            Chat(usage=openai_usage(40, 9, cached=8)),
            Error(429),
            Chat(usage=openai_usage(60, 1, reasoning=1)),
            ChatStream(usage=openai_usage(12, 2)),
            Error(400),
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # retried once
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        llm_telemetry.uninstrument()

    data = reader.get_metrics_data()
    assert data is not None
    otel: dict[tuple[str, frozenset[tuple[str, Any]]], float] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is not None:
                        otel[(metric.name, frozenset(point.attributes.items()))] = value

    def otel_sum(name: str, **attrs: Any) -> float:
        return sum(
            v for (n, a), v in otel.items() if n == name and all((k, x) in a for k, x in attrs.items())
        )

    def prom(name: str, **labels: str) -> float:
        return sum(
            s.value
            for f in registry.collect()
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    for outcome in ("success", "error", "cancelled"):
        assert otel_sum("llm_telemetry.requests", outcome=outcome) == prom(
            "llm_telemetry_requests_total", outcome=outcome
        )
    assert prom("llm_telemetry_requests_total") == 4
    for family in ("input", "output", "cache_read", "cache_write", "reasoning"):
        assert otel_sum(f"llm_telemetry.{family}_tokens") == prom(f"llm_telemetry_{family}_tokens_total"), (
            family
        )
    assert prom("llm_telemetry_input_tokens_total") == 112
    for component in ("input", "cache_read", "output"):
        assert otel_sum("llm_telemetry.cost_usd", component=component) == pytest.approx(
            prom("llm_telemetry_cost_usd_total", component=component), rel=1e-12
        )
    assert (
        otel_sum("llm_telemetry.errors", error_type="bad_request")
        == prom("llm_telemetry_errors_total", error_type="bad_request")
        == 1
    )
    assert (
        otel_sum("llm_telemetry.retries", error_type="rate_limit")
        == prom("llm_telemetry_retries_total", error_type="rate_limit")
        == 1
    )
