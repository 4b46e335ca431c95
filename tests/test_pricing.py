"""Cost components against hand-computed dollar amounts and against genai-prices' own totals.

Rates quoted in comments are USD per million tokens as held by the genai-prices snapshot bundled
with the installed package (checked with 0.2.3).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from genai_prices import types as gp_types
from genai_prices.data import providers as gp_providers

from llm_telemetry import pricing
from llm_telemetry.pricing import COMPONENTS, Cost, ModelPrice, Pricer, load_overrides
from llm_telemetry.usage import (
    Billed,
    Usage,
    from_anthropic,
    from_litellm,
    from_openai_chat,
    from_openai_images,
    from_openai_responses,
)

REL = 1e-12


def approx(value: float) -> Any:
    return pytest.approx(value, rel=REL, abs=1e-18)


def gp_usage(usage: Usage) -> genai_prices.Usage:
    """The same usage in genai-prices' vocabulary (its full unit model)."""
    billed = usage.billed or Billed()
    return genai_prices.Usage(
        input_tokens=usage.input,
        output_tokens=usage.output,
        cache_read_tokens=usage.cache_read,
        cache_write_tokens=usage.cache_write,
        cache_write_5m_tokens=usage.cache_write_5m,
        cache_write_1h_tokens=usage.cache_write_1h,
        output_reasoning_tokens=usage.reasoning,
        input_audio_tokens=billed.audio_input,
        output_audio_tokens=billed.audio_output,
        input_image_tokens=billed.image_input,
        output_image_tokens=billed.image_output,
        web_searches=billed.web_search_calls,
        storage_searches=billed.file_search_calls,
        code_executions=billed.code_interpreter_calls,
    )


def gp_total(provider_id: str, model: str, usage: Usage, when: datetime | None = None) -> float:
    billed = usage.billed
    context = pricing.price_context(billed) if billed is not None else None
    calc = genai_prices.calc_price(
        gp_usage(usage), model, provider_id=provider_id, genai_request_timestamp=when, price_context=context
    )
    return float(calc.total_price)


def assert_cost(cost: Cost | None, **expected: float) -> Cost:
    assert cost is not None
    actual = dict(cost.components())
    for name in COMPONENTS:
        assert actual[name] == approx(expected.get(name, 0.0)), name
    assert cost.total == approx(sum(expected.values()))
    return cost


# --------------------------------------------------------------------------------------------------
# Cost


def test_cost_components_in_contract_order_and_total() -> None:
    cost = Cost(
        input=1.0,
        cache_read=0.25,
        cache_write=0.5,
        output=2.0,
        request=0.125,
        audio_input=4.0,
        audio_output=8.0,
        image_input=16.0,
        image_output=32.0,
        tool=64.0,
    )
    assert cost.components() == (
        ("input", 1.0),
        ("cache_read", 0.25),
        ("cache_write", 0.5),
        ("output", 2.0),
        ("audio_input", 4.0),
        ("audio_output", 8.0),
        ("image_input", 16.0),
        ("image_output", 32.0),
        ("tool", 64.0),
        ("request", 0.125),
        ("reported", 0.0),
    )
    assert tuple(name for name, _ in cost.components()) == COMPONENTS
    assert cost.total == 127.875
    assert cost.source == "computed"
    assert pricing.reported_cost(0.5) == Cost(0.0, 0.0, 0.0, 0.0, 0.0, reported=0.5, source="reported")


def test_fast_built_cost_is_a_real_cost() -> None:
    cost = Pricer().price("openai", "gpt-4o-mini", Usage(input=1_000, output=1_000))
    assert type(cost) is Cost
    assert cost == Cost(0.00015, 0.0, 0.0, 0.0006, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cost.input = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Bundled prices


def test_gpt_4o_mini_cached_input_discount() -> None:
    usage = from_openai_chat(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 1_000,
            "prompt_tokens_details": {"cached_tokens": 4_000},
        }
    )
    assert usage is not None
    cost = Pricer().price("openai", "gpt-4o-mini", usage)
    assert_cost(
        cost,
        input=0.0009,  # 6_000 uncached x $0.15/MTok
        cache_read=0.0003,  # 4_000 cached x $0.075/MTok
        output=0.0006,  # 1_000 x $0.60/MTok
    )
    assert cost is not None
    assert cost.total == approx(gp_total("openai", "gpt-4o-mini", usage))


def test_gpt_4o_mini_dated_snapshot_and_reasoning_included_in_output() -> None:
    usage = Usage(input=1_000, output=2_000, reasoning=1_500)
    cost = Pricer().price("openai", "gpt-4o-mini-2024-07-18", usage)
    assert_cost(cost, input=0.00015, output=0.0012)  # $0.15/MTok in, $0.60/MTok out (reasoning too)


def test_claude_sonnet_4_5_cache_read_and_5m_cache_write() -> None:
    usage = from_anthropic(
        {
            "input_tokens": 2_000,
            "cache_read_input_tokens": 5_000,
            "cache_creation_input_tokens": 3_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 3_000, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 800,
        }
    )
    assert usage is not None and usage.input == 10_000
    cost = Pricer().price("anthropic", "claude-sonnet-4-5-20250929", usage)
    assert_cost(
        cost,
        input=0.006,  # 2_000 x $3/MTok
        cache_read=0.0015,  # 5_000 x $0.30/MTok
        cache_write=0.01125,  # 3_000 x $3.75/MTok (5m TTL)
        output=0.012,  # 800 x $15/MTok
    )
    assert cost is not None
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5-20250929", usage))


def test_claude_sonnet_4_5_cache_write_without_ttl_split_is_5m_rate() -> None:
    usage = Usage(input=5_000, output=0, cache_write=4_000)
    cost = Pricer().price("anthropic", "claude-sonnet-4-5", usage)
    assert_cost(cost, input=0.003, cache_write=0.015)  # 1_000 x $3/MTok; 4_000 x $3.75/MTok


def test_anthropic_1h_cache_write_has_its_own_rate() -> None:
    usage = from_anthropic(
        {
            "input_tokens": 1_000,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 3_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 2_000},
            "output_tokens": 100,
        }
    )
    assert usage is not None
    cost = Pricer().price("anthropic", "claude-3-5-sonnet-20241022", usage)
    assert_cost(
        cost,
        input=0.003,  # 1_000 x $3/MTok
        cache_write=0.01575,  # 1_000 x $3.75/MTok (5m) + 2_000 x $6/MTok (1h)
        output=0.0015,  # 100 x $15/MTok
    )
    assert cost is not None
    assert cost.total == approx(gp_total("anthropic", "claude-3-5-sonnet-20241022", usage))


def test_claude_sonnet_4_5_long_context_tier_over_200k() -> None:
    usage = Usage(
        input=250_000,
        output=2_000,
        cache_read=50_000,
        cache_write=10_000,
        cache_write_5m=6_000,
        cache_write_1h=4_000,
    )
    cost = Pricer().price("anthropic", "claude-sonnet-4-5", usage)
    # > 200k total input (cache included): every token of every kind at the long-context rate.
    assert_cost(
        cost,
        input=1.14,  # 190_000 x $6/MTok
        cache_read=0.03,  # 50_000 x $0.60/MTok
        cache_write=0.093,  # 6_000 x $7.50/MTok (5m) + 4_000 x $12/MTok (1h)
        output=0.045,  # 2_000 x $22.50/MTok
    )
    assert cost is not None
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5", usage))


def test_long_context_threshold_is_exclusive() -> None:
    usage = Usage(input=200_000, output=1_000)
    cost = Pricer().price("anthropic", "claude-sonnet-4-5", usage)
    assert_cost(cost, input=0.6, output=0.015)  # exactly 200k: base $3/MTok in, $15/MTok out
    assert cost is not None
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5", usage))


def test_gemini_1_5_pro_long_context_tier_over_128k() -> None:
    pricer = Pricer()
    short = Usage(input=100_000, output=1_000)
    assert_cost(
        pricer.price("gcp.vertex_ai", "gemini-1.5-pro", short), input=0.125, output=0.005
    )  # $1.25, $5
    long = Usage(input=200_000, output=1_000)
    cost = pricer.price("gcp.gemini", "gemini-1.5-pro", long)
    assert_cost(cost, input=0.5, output=0.01)  # > 128k: $2.50/MTok in, $10/MTok out
    assert cost is not None
    assert cost.total == approx(gp_total("google", "gemini-1.5-pro", long))


def test_request_fee_component() -> None:
    cost = Pricer().price("perplexity", "sonar", Usage(input=1_000, output=500))
    # $1/MTok in, $1/MTok out, $12 per 1000 requests
    assert_cost(cost, input=0.001, output=0.0005, request=0.012)


def test_time_of_day_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = Usage(input=10_000, output=1_000, cache_read=4_000)
    pricer = Pricer()
    peak = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    off_peak = datetime(2026, 6, 1, 20, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(pricing, "_now", peak.timestamp)
    # 00:30-16:30 UTC: $0.27/MTok in, $0.07/MTok cached, $1.10/MTok out
    cost = assert_cost(
        pricer.price("deepseek", "deepseek-chat", usage), input=0.00162, cache_read=0.00028, output=0.0011
    )
    assert cost.total == approx(gp_total("deepseek", "deepseek-chat", usage, peak))
    monkeypatch.setattr(pricing, "_now", off_peak.timestamp)
    # otherwise: $0.135/MTok in, $0.035/MTok cached, $0.55/MTok out
    cost = assert_cost(
        pricer.price("deepseek", "deepseek-chat", usage), input=0.00081, cache_read=0.00014, output=0.00055
    )
    assert cost.total == approx(gp_total("deepseek", "deepseek-chat", usage, off_peak))


@pytest.mark.parametrize(
    ("provider", "model", "input_mtok", "output_mtok"),
    [
        ("azure.ai.openai", "gpt-4o-mini", 0.15, 0.6),  # azure falls back to OpenAI's models
        ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", 3.0, 15.0),
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.3, 16.5),  # regional endpoint
        ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", 3.0, 15.0),
        ("x_ai", "grok-3", 3.0, 15.0),
        ("mistral_ai", "mistral-large-latest", 2.0, 6.0),
        ("cohere", "command-r-plus", 2.5, 10.0),
        ("groq", "llama-3.1-8b-instant", 0.05, 0.08),
        ("some.unknown.provider", "gpt-4o-mini", 0.15, 0.6),  # model-only matching
        ("openai", "openai/gpt-4o-mini", 0.15, 0.6),  # provider-prefixed name
        ("openai", "  GPT-4o-mini ", 0.15, 0.6),
    ],
)
def test_provider_mapping(provider: str, model: str, input_mtok: float, output_mtok: float) -> None:
    # 100k tokens each way (under every long-context threshold): a tenth of the per-MTok rate
    cost = Pricer().price(provider, model, Usage(input=100_000, output=100_000))
    assert_cost(cost, input=input_mtok / 10, output=output_mtok / 10)


def test_free_model_costs_zero_but_non_token_pricing_is_unpriced() -> None:
    pricer = Pricer()
    # an empty price in genai-prices means free: a known price of $0, not an unpriced request
    assert_cost(pricer.price("openrouter", "deepseek-chat:free", Usage(input=1_000, output=1_000)))
    # priced per audio hour only: tokens cannot express it, so no cost is invented
    assert pricer.price("groq", "whisper-large-v3", Usage(input=1_000, output=1_000)) is None


def test_embeddings_input_only() -> None:
    cost = Pricer().price("openai", "text-embedding-3-small", Usage(input=50_000))
    assert_cost(cost, input=0.001)  # 50_000 x $0.02/MTok


# --------------------------------------------------------------------------------------------------
# v1.1 billed units: audio, images, server tools, price context, reported amounts


def test_audio_tokens_at_their_own_rates() -> None:
    # gpt-audio: $2.50/MTok text in, $32 audio in, $10 text out, $64 audio out
    usage = from_openai_chat(
        {
            "prompt_tokens": 45,
            "completion_tokens": 216,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 31, "text_tokens": 14},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 175, "text_tokens": 41},
        }
    )
    assert usage is not None
    cost = assert_cost(
        Pricer().price("openai", "gpt-audio", usage),
        input=0.000035,  # 14 x $2.50/MTok
        audio_input=0.000992,  # 31 x $32/MTok
        output=0.00041,  # 41 x $10/MTok
        audio_output=0.0112,  # 175 x $64/MTok
    )
    assert cost.total == approx(gp_total("openai", "gpt-audio", usage))
    # a model without audio rates prices them as text, as genai-prices does (component still audio)
    assert_cost(
        Pricer().price("openai", "gpt-4o-audio-preview", usage),
        input=0.000035,
        audio_input=0.0000775,  # 31 x $2.50/MTok
        output=0.00041,
        audio_output=0.00175,  # 175 x $10/MTok
    )


def test_gpt_image_1_images_api() -> None:
    usage = from_openai_images(
        {
            "input_tokens": 50,
            "output_tokens": 50,
            "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
        }
    )
    assert usage is not None
    cost = assert_cost(
        Pricer().price("openai", "gpt-image-1", usage),
        input=0.00005,  # 10 text x $5/MTok
        image_input=0.0004,  # 40 x $10/MTok
        image_output=0.002,  # 50 x $40/MTok
    )
    assert cost.total == approx(gp_total("openai", "gpt-image-1", usage))


NOVEMBER = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)  # after the price variants' start dates


@pytest.mark.parametrize(
    ("tier", "input_mtok", "cached_mtok", "output_mtok"),
    [
        (None, 0.25, 0.025, 2.0),
        ("flex", 0.125, 0.0125, 1.0),
        ("priority", 0.45, 0.045, 3.6),
        ("fast", 0.45, 0.045, 3.6),
        ("batch", 0.125, 0.0125, 1.0),
        ("scale", 0.25, 0.025, 2.0),  # no variant for it: the standard price
    ],
)
def test_openai_service_tier_prices(
    monkeypatch: pytest.MonkeyPatch,
    tier: str | None,
    input_mtok: float,
    cached_mtok: float,
    output_mtok: float,
) -> None:
    monkeypatch.setattr(pricing, "_now", NOVEMBER.timestamp)
    usage = from_openai_chat(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 1_000,
            "prompt_tokens_details": {"cached_tokens": 4_000},
        },
        "openai",
        tier,
    )
    assert usage is not None and usage.service_tier == (None if tier is None else tier)
    cost = assert_cost(
        Pricer().price("openai", "gpt-5-mini", usage),
        input=6_000 * input_mtok / 1e6,
        cache_read=4_000 * cached_mtok / 1e6,
        output=1_000 * output_mtok / 1e6,
    )
    assert cost.total == approx(gp_total("openai", "gpt-5-mini", usage, NOVEMBER))


def test_a_tier_variant_follows_its_start_date(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = Usage(input=1_000_000, output=0, billed=Billed(service_tier="flex"))
    pricer = Pricer()
    before = datetime(2026, 10, 1, tzinfo=timezone.utc)
    monkeypatch.setattr(pricing, "_now", before.timestamp)
    assert_cost(pricer.price("openai", "gpt-5-mini", usage), input=0.25)  # variant not in force yet
    assert gp_total("openai", "gpt-5-mini", usage, before) == approx(0.25)
    monkeypatch.setattr(pricing, "_now", NOVEMBER.timestamp)
    assert_cost(pricer.price("openai", "gpt-5-mini", usage), input=0.125)


def test_anthropic_fast_speed_and_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing, "_now", NOVEMBER.timestamp)
    fast = from_anthropic({"input_tokens": 1_000, "output_tokens": 100, "speed": "fast"})
    assert fast is not None
    # claude-opus-4-8: $5/$25 standard, $10/$50 fast
    cost = assert_cost(Pricer().price("anthropic", "claude-opus-4-8", fast), input=0.01, output=0.005)
    assert cost.total == approx(gp_total("anthropic", "claude-opus-4-8", fast, NOVEMBER))
    batch = from_anthropic({"input_tokens": 1_000, "output_tokens": 100, "service_tier": "batch"})
    assert batch is not None
    # claude-sonnet-4-5 batch: $1.50 in, $7.50 out
    cost = assert_cost(Pricer().price("anthropic", "claude-sonnet-4-5", batch), input=0.0015, output=0.00075)
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5", batch, NOVEMBER))


def test_a_context_applies_only_to_the_providers_own_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """genai-prices applies price variants only to a model its provider lists (not a fallback's)."""
    monkeypatch.setattr(pricing, "_now", NOVEMBER.timestamp)
    usage = Usage(input=1_000_000, output=0, billed=Billed(service_tier="flex"))
    assert_cost(Pricer().price("azure.ai.openai", "gpt-5-mini", usage), input=0.25)
    assert gp_total("azure", "gpt-5-mini", usage, NOVEMBER) == approx(0.25)


def test_server_tool_calls_per_call() -> None:
    searched = from_anthropic(
        {
            "input_tokens": 1_000,
            "output_tokens": 100,
            "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 2},
        }
    )
    assert searched is not None
    # claude-sonnet-4-5: $10 per 1,000 searches; web fetch has no per-call price (tokens only)
    cost = assert_cost(
        Pricer().price("anthropic", "claude-sonnet-4-5", searched), input=0.003, output=0.0015, tool=0.03
    )
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5", searched))
    responses = from_openai_responses(
        {"input_tokens": 1_000, "output_tokens": 100},
        "openai",
        [{"type": "web_search_call"}, {"type": "web_search_call"}, {"type": "file_search_call"}],
    )
    assert responses is not None
    # gpt-4.1: $10 per 1,000 web searches, $2.50 per 1,000 file searches
    cost = assert_cost(
        Pricer().price("openai", "gpt-4.1", responses), input=0.002, output=0.0008, tool=0.0225
    )
    assert cost.total == approx(gp_total("openai", "gpt-4.1", responses))


def test_litellm_anthropic_1h_cache_writes_and_web_search() -> None:
    usage = from_litellm(
        {
            "prompt_tokens": 12050,
            "completion_tokens": 400,
            "prompt_tokens_details": {
                "cached_tokens": 10000,
                "cache_creation_token_details": {
                    "ephemeral_5m_input_tokens": 500,
                    "ephemeral_1h_input_tokens": 1500,
                },
            },
            "cache_read_input_tokens": 10000,
            "cache_creation_input_tokens": 2000,
            "server_tool_use": {"web_search_requests": 3},
        },
        "anthropic",
    )
    assert usage is not None
    cost = assert_cost(
        Pricer().price("anthropic", "claude-sonnet-4-5", usage),
        input=0.00015,  # 50 x $3/MTok
        cache_read=0.003,  # 10_000 x $0.30/MTok
        cache_write=0.010875,  # 500 x $3.75/MTok (5m) + 1_500 x $6/MTok (1h)
        output=0.006,  # 400 x $15/MTok
        tool=0.03,  # 3 searches x $10/1,000
    )
    assert cost.total == approx(gp_total("anthropic", "claude-sonnet-4-5", usage))


def test_deepseek_2024_cache_hits_priced_as_cache_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    peak = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(pricing, "_now", peak.timestamp)
    usage = from_openai_chat(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 1_000,
            "prompt_cache_hit_tokens": 8_000,
            "prompt_cache_miss_tokens": 2_000,
        },
        "deepseek",
    )
    assert usage is not None
    cost = assert_cost(
        Pricer().price("deepseek", "deepseek-chat", usage), input=0.00054, cache_read=0.00056, output=0.0011
    )
    as_if_uncached = Pricer().price("deepseek", "deepseek-chat", Usage(input=10_000, output=1_000))
    assert as_if_uncached is not None
    assert as_if_uncached.total / cost.total == approx(3800 / 2200)  # the +73% the dialect removes


@pytest.mark.parametrize(
    "usage",
    [
        from_openai_chat(
            {
                "prompt_tokens": 194,
                "completion_tokens": 2,
                "cost": 0.95,
                "cost_details": {"upstream_inference_cost": 19},
            },
            "openrouter",
        ),
        from_openai_chat(
            {"prompt_tokens": 32, "completion_tokens": 9, "cost_in_usd_ticks": 9_500_000_000}, "x_ai"
        ),
    ],
)
def test_a_reported_amount_is_the_whole_cost(usage: Usage | None) -> None:
    assert usage is not None
    for model in ("anthropic/claude-sonnet-4-5", "grok-4", "no-such-model"):
        cost = Pricer().price("openrouter", model, usage)
        assert cost == Cost(0.0, 0.0, 0.0, 0.0, 0.0, reported=0.95, source="reported")
        assert cost.total == 0.95


def test_no_invented_cost_for_self_hosted_open_weights() -> None:
    usage = Usage(input=1_000, output=1_000)
    pricer = Pricer()
    # vLLM serving gpt-oss at a private address; Ollama; LiteLLM's self-hosted providers
    assert pricer.price("openai", "openai/gpt-oss-120b", usage, "10.0.0.5") is None
    assert pricer.price("openai", "deepseek-r1:7b", usage, "127.0.0.1") is None
    assert pricer.price("ollama_chat", "deepseek-r1:7b", usage) is None
    assert pricer.price("hosted_vllm", "openai/gpt-oss-20b", usage, "gpu.example.com") is None
    assert pricer.price("lm_studio", "qwen2.5-7b-instruct", usage, "localhost") is None
    # the same names at a hosted API are priced, and owner-only models behind a proxy too
    assert pricer.price("groq", "openai/gpt-oss-120b", usage, "api.groq.com") is not None
    proxied = pricer.price("openai", "gpt-4o-mini", usage, "127.0.0.1")
    assert proxied == pricer.price("openai", "gpt-4o-mini", usage, "api.openai.com")
    assert_cost(proxied, input=0.00015, output=0.0006)


def test_a_zero_override_prices_a_self_hosted_model_at_zero() -> None:
    pricer = Pricer(load_overrides({"deepseek-r1:7b": {"input_mtok": 0, "output_mtok": 0}}))
    cost = pricer.price("ollama_chat", "deepseek-r1:7b", Usage(input=1_000, output=1_000), "127.0.0.1")
    assert cost == Cost(0.0, 0.0, 0.0, 0.0, 0.0)  # a known price of 0, not "unpriced"
    # an override by the last path segment works behind a provider prefix too
    assert pricer.price("hosted_vllm", "ollama/deepseek-r1:7b", Usage(input=1), "10.0.0.2") == Cost(
        0.0, 0.0, 0.0, 0.0, 0.0
    )


# --------------------------------------------------------------------------------------------------
# Unknown models, robustness, caching


def test_unknown_model_is_none_and_cached() -> None:
    pricer = Pricer()
    usage = Usage(input=10, output=10)
    assert pricer.price("openai", "totally-made-up-model-xyz", usage) is None
    assert pricer.price("openai", "totally-made-up-model-xyz", usage) is None
    assert pricer._cache[("openai", "totally-made-up-model-xyz", None)].base is None


def test_known_model_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pricer = Pricer()
    calls: list[str] = []
    real = pricing._find_model

    def counting(provider: str, ref: str) -> Any:
        calls.append(ref)
        return real(provider, ref)

    monkeypatch.setattr(pricing, "_find_model", counting)
    for _ in range(5):
        assert pricer.price("openai", "gpt-4o-mini", Usage(input=1, output=1)) is not None
    assert calls == ["gpt-4o-mini"]


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing, "_MAX_CACHE", 3)
    pricer = Pricer()
    for i in range(10):
        pricer.price("openai", f"unknown-{i}", Usage(input=1))
    assert len(pricer._cache) == 3
    assert ("openai", "unknown-9", None) in pricer._cache


@pytest.mark.parametrize("model", [None, ["unhashable"], 3, ""])
def test_a_model_that_is_no_name_has_no_price(model: Any) -> None:
    assert Pricer().price("openai", model, Usage(input=1)) is None


def test_a_pricing_bug_raises_instead_of_looking_unpriced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller counts it as an internal error (stage ``price``), not as a model without a price."""

    def broken(provider: str, ref: str) -> Any:
        raise RuntimeError("price data bug")

    monkeypatch.setattr(pricing, "_find_model", broken)
    pricer = Pricer()
    for _ in range(2):  # not cached as "unpriced" either
        with pytest.raises(RuntimeError, match="price data bug"):
            pricer.price("openai", "gpt-4o-mini", Usage(input=1))
    assert pricer._cache == {}


def test_missing_counts_are_zero_and_uncached_never_negative() -> None:
    pricer = Pricer()
    assert_cost(pricer.price("openai", "gpt-4o-mini", Usage()))
    assert_cost(pricer.price("openai", "gpt-4o-mini", Usage(output=1_000)), output=0.0006)
    # inconsistent report: cache reads exceed input; uncached clamps to 0, reads still priced
    assert_cost(
        pricer.price("openai", "gpt-4o-mini", Usage(input=100, cache_read=1_000)), cache_read=0.000075
    )


def test_version() -> None:
    assert Pricer().version == f"genai-prices {genai_prices.__version__}"


# --------------------------------------------------------------------------------------------------
# Overrides


FT = "ft:gpt-4o-mini:acme::abc"


def test_override_for_fine_tuned_model() -> None:
    overrides = load_overrides(
        {FT: {"input_mtok": 0.30, "output_mtok": 1.20, "cache_read_mtok": 0.15, "request": 0.001}}
    )
    pricer = Pricer(overrides)
    usage = Usage(input=10_000, output=2_000, cache_read=4_000, cache_write=1_000)
    cost = pricer.price("openai", FT, usage)
    assert_cost(
        cost,
        input=0.0015,  # 5_000 x $0.30/MTok
        cache_read=0.0006,  # 4_000 x $0.15/MTok
        cache_write=0.0003,  # 1_000 x $0.30/MTok (no cache-write price: input rate)
        output=0.0024,  # 2_000 x $1.20/MTok
        request=0.001,
    )
    # lookup by normalized name, whatever the provider
    assert pricer.price("azure.ai.openai", "  FT:GPT-4o-mini:ACME::abc", usage) == cost


def test_override_wins_over_bundled_prices() -> None:
    pricer = Pricer({"GPT-4o-mini": ModelPrice(input_mtok=1.0, output_mtok=2.0, cache_write_mtok=1.5)})
    cost = pricer.price(
        "openai",
        "gpt-4o-mini",
        Usage(input=3_000_000, output=1_000_000, cache_read=1_000_000, cache_write=1_000_000),
    )
    assert_cost(cost, input=1.0, cache_read=1.0, cache_write=1.5, output=2.0)


def test_load_overrides_json_and_toml_files(tmp_path: Path) -> None:
    json_file = tmp_path / "prices.json"
    json_file.write_text(json.dumps({FT: {"input_mtok": 0.3, "output_mtok": 1.2}}))
    toml_file = tmp_path / "prices.toml"
    toml_file.write_text(f'["{FT}"]\ninput_mtok = 0.3\noutput_mtok = 1.2\ncache_read_mtok = 0.15\n')
    expected = ModelPrice(input_mtok=0.3, output_mtok=1.2)
    assert load_overrides(json_file) == {FT: expected}
    assert load_overrides(str(json_file)) == {FT: expected}
    assert load_overrides(toml_file) == {
        FT: ModelPrice(input_mtok=0.3, output_mtok=1.2, cache_read_mtok=0.15)
    }
    assert load_overrides(json.dumps({" My-Model ": {"input_mtok": 1, "output_mtok": 2}})) == {
        "my-model": ModelPrice(input_mtok=1, output_mtok=2)
    }


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({FT: {"input_mtok": -1, "output_mtok": 1}}, [FT, "input_mtok", "greater than or equal to 0"]),
        ({FT: {"input_mtok": 1, "output_mtok": 1, "cached_mtok": 1}}, [FT, "unknown field 'cached_mtok'"]),
        ({FT: {"output_mtok": 1}}, [FT, "input_mtok", "is required"]),
        ({FT: {"input_mtok": True, "output_mtok": 1}}, [FT, "input_mtok"]),
        ({FT: {"input_mtok": "0.3", "output_mtok": 1}}, [FT, "input_mtok"]),
        ({FT: {"input_mtok": 1, "output_mtok": float("nan")}}, [FT, "output_mtok"]),
        ({FT: {"input_mtok": 1, "output_mtok": 1, "request": -0.5}}, [FT, "request"]),
        ({FT: 0.3}, [FT, "expected an object"]),
        ({"": {"input_mtok": 1, "output_mtok": 1}}, ["non-empty"]),
        (
            {"A": {"input_mtok": 1, "output_mtok": 1}, "a": {"input_mtok": 1, "output_mtok": 1}},
            ["'a'", "twice"],
        ),
    ],
)
def test_load_overrides_errors_name_model_and_field(data: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        load_overrides(data)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_load_overrides_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ValueError, match="cannot read price overrides file"):
        load_overrides(missing)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json.*invalid JSON"):
        load_overrides(bad_json)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[[[")
    with pytest.raises(ValueError, match=r"bad\.toml.*invalid TOML"):
        load_overrides(bad_toml)
    not_mapping = tmp_path / "list.json"
    not_mapping.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected an object"):
        load_overrides(not_mapping)
    bad_field = tmp_path / "field.json"
    bad_field.write_text(json.dumps({FT: {"input_mtok": 1, "output_mtok": -2}}))
    with pytest.raises(ValueError, match=r"field\.json.*ft:gpt-4o-mini:acme::abc.*output_mtok"):
        load_overrides(bad_field)


def test_model_price_is_strict() -> None:
    with pytest.raises(ValueError):
        ModelPrice(input_mtok=1, output_mtok=1, surprise=1)  # type: ignore[call-arg]
    price = ModelPrice(input_mtok=1, output_mtok=2)
    assert (price.cache_read_mtok, price.cache_write_mtok, price.request) == (None, None, 0.0)


# --------------------------------------------------------------------------------------------------
# Every bundled model: components sum to genai-prices' total


_SWEEP_USAGES = [
    Usage(
        input=1_000,
        output=500,
        cache_read=300,
        cache_write=200,
        reasoning=100,
        cache_write_5m=50,
        cache_write_1h=100,
    ),
    Usage(
        input=130_000,
        output=5_000,
        cache_read=20_000,
        cache_write=10_000,
        reasoning=4_000,
        cache_write_1h=10_000,
    ),
    Usage(input=300_000, output=70_000, cache_read=250_000, cache_write=40_000, cache_write_5m=40_000),
    Usage(input=2_500_000, output=100, cache_read=1_000_000, reasoning=100),
    Usage(input=7, output=3),
    Usage(
        input=20_000,
        output=6_000,
        cache_read=2_000,
        reasoning=1_000,
        billed=Billed(
            audio_input=3_000,
            image_input=4_000,
            audio_output=1_500,
            image_output=1_000,
            web_search_calls=3,
            file_search_calls=2,
            code_interpreter_calls=1,
        ),
    ),
    Usage(input=250_000, output=300, billed=Billed(image_input=200_000, web_search_calls=1)),
]


def _sweep_times() -> list[datetime]:
    return [
        datetime(2024, 3, 1, 3, 0, tzinfo=timezone.utc),
        datetime(2025, 9, 10, 12, 0, tzinfo=timezone.utc),
        datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc),
    ]


def test_every_bundled_model_matches_genai_prices_total() -> None:
    checked = skipped = unpriced = 0
    for provider in gp_providers:
        for model in provider.models:
            entry = pricing._compile_model(model)
            if entry is None:
                unpriced += 1
                continue
            for when in _sweep_times():
                rates = entry.select(when.timestamp()) if isinstance(entry, pricing._Timed) else entry
                for usage in _SWEEP_USAGES:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            expected = model.calc_price(
                                gp_usage(usage), provider, genai_request_timestamp=when
                            )
                    except ValueError:
                        skipped += 1  # genai-prices rejects this model's own price data
                        continue
                    cost = rates.cost(usage)
                    assert cost.total == approx(float(expected.total_price)), (
                        provider.id,
                        model.id,
                        usage,
                        when,
                    )
                    assert min(value for _, value in cost.components()) >= 0
                    checked += 1
    print(f"checked={checked} skipped={skipped} unpriced={unpriced}")
    assert unpriced < 50
    assert checked > 5_000
    assert skipped < checked / 100


def test_every_price_variant_matches_genai_prices_total() -> None:
    """Each model's price variants (service tier, batch, speed) under the context that selects them."""
    checked = 0
    for provider in gp_providers:
        for model in provider.models:
            for context in {tuple(sorted(variant.when.items())) for variant in model.price_variants or ()}:
                for when in _sweep_times():
                    in_context = pricing._InContext(model, dict(context))
                    rates = in_context.select(when.timestamp())
                    if rates is None:
                        continue
                    for usage in _SWEEP_USAGES:
                        try:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore")
                                expected = model.calc_price(
                                    gp_usage(usage),
                                    provider,
                                    genai_request_timestamp=when,
                                    price_context=dict(context),
                                )
                        except ValueError:
                            continue
                        assert rates.cost(usage).total == approx(float(expected.total_price)), (
                            provider.id,
                            model.id,
                            context,
                            usage,
                            when,
                        )
                        checked += 1
    print(f"checked={checked}")
    assert checked > 1_000


def test_decimal_rates_survive_float_conversion() -> None:
    # the compiled per-token rate of a price like $0.075/MTok is exact to double precision
    rates = pricing._compile_price(
        gp_types.ModelPrice(input_mtok=Decimal("0.075"), output_mtok=Decimal("0.3"))
    )
    assert rates is not None
    assert rates.cost(Usage(input=1_000_000)).input == approx(0.075)
