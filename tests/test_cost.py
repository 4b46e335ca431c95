"""Cost end to end: real SDK calls become exact dollar amounts per component, or unpriced requests."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import anthropic
import openai
import pytest

from llm_telemetry.testing import Chat, FakeProvider, Message, anthropic_usage, openai_usage

from .conftest import Telemetry

HI: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
COST = "llm_telemetry_cost_usd_total"


def _components(telemetry: Telemetry) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in telemetry.samples(COST):
        out[labels["component"]] = out.get(labels["component"], 0.0) + value
    return out


def _span_cost(telemetry: Telemetry) -> float:
    (span,) = telemetry.spans()
    assert span.attributes is not None
    attributes = span.attributes or {}
    assert attributes["llm.cost.usd"] == attributes["llm_telemetry.cost.usd"]  # the old name, for one minor
    return float(attributes["llm_telemetry.cost.usd"])  # type: ignore[arg-type]


def test_openai_cached_input_discount(telemetry: Telemetry, fp: FakeProvider) -> None:
    # gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    fp.script(Chat(model="gpt-4o-mini-2024-07-18", usage=openai_usage(10_000, 1_000, cached=6_000)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    expected = {"input": 4_000 * 0.15e-6, "cache_read": 6_000 * 0.075e-6, "output": 1_000 * 0.60e-6}
    got = _components(telemetry)
    assert got == pytest.approx({**expected, "cache_write": 0.0, "request": 0.0}, rel=1e-12)
    assert _span_cost(telemetry) == pytest.approx(sum(expected.values()), rel=1e-12)
    assert telemetry.value("llm_telemetry_unpriced_requests_total") == 0


def test_anthropic_cache_write_and_read(telemetry: Telemetry, fp: FakeProvider) -> None:
    # claude-sonnet-4-5: $3/M input, $0.30/M cache read, $3.75/M 5-minute cache write, $15/M output.
    usage = anthropic_usage(200, 500, cache_read=1_000, cache_write=2_000)
    fp.script(Message(model="claude-sonnet-4-5-20250929", usage=usage))
    client = anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=600, messages=HI)  # type: ignore[arg-type]
    expected = {
        "input": 200 * 3e-6,
        "cache_read": 1_000 * 0.30e-6,
        "cache_write": 2_000 * 3.75e-6,
        "output": 500 * 15e-6,
        "request": 0.0,
    }
    assert _components(telemetry) == pytest.approx(expected, rel=1e-12)
    assert telemetry.value("llm_telemetry_input_tokens_total") == 3_200
    assert _span_cost(telemetry) == pytest.approx(sum(expected.values()), rel=1e-12)


def test_unknown_model_is_unpriced_and_warned_once(
    telemetry: Telemetry, fp: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fp.script(*(Chat(model="acme-private-llm", usage=openai_usage(100, 10)) for _ in range(3)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    with caplog.at_level(logging.WARNING, logger="llm_telemetry"):
        for _ in range(3):
            client.chat.completions.create(model="acme-private-llm", messages=HI)  # type: ignore[arg-type]
    assert telemetry.value("llm_telemetry_unpriced_requests_total", request_model="acme-private-llm") == 3
    assert sum(_components(telemetry).values()) == 0
    warnings = [r for r in caplog.records if "no price known for model 'acme-private-llm'" in r.getMessage()]
    assert len(warnings) == 1
    assert all("llm_telemetry.cost.usd" not in (s.attributes or {}) for s in telemetry.spans())


def test_price_override_file_prices_a_fine_tuned_model(tmp_path: Path, fp: FakeProvider) -> None:
    from prometheus_client import CollectorRegistry

    import llm_telemetry

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"ft:gpt-4o-mini:acme::abc": {"input_mtok": 0.3, "output_mtok": 1.2}}))
    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry, price_overrides=str(prices))
    try:
        fp.script(Chat(model="ft:gpt-4o-mini:acme::abc", usage=openai_usage(1_000, 100)))
        client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
        client.chat.completions.create(model="ft:gpt-4o-mini:acme::abc", messages=HI)  # type: ignore[arg-type]
        telemetry = Telemetry(registry)
        assert _components(telemetry) == pytest.approx(
            {
                "input": 1_000 * 0.3e-6,
                "output": 100 * 1.2e-6,
                "cache_read": 0,
                "cache_write": 0,
                "request": 0,
            },
            rel=1e-12,
        )
    finally:
        llm_telemetry.uninstrument()
