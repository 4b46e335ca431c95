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
