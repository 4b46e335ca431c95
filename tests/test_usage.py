"""Every usage parser: exact values for the providers' real shapes, and no garbage ever gets through."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError
from types import SimpleNamespace
from typing import Any

import anthropic.types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litellm.types.utils import Usage as LiteLLMUsage
from openai._models import construct_type
from openai.types import CompletionUsage, ImagesResponse
from openai.types.chat import ChatCompletionChunk
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import Response, ResponseUsage

from llm_telemetry.usage import (
    MAX_TOKENS,
    PRICED_TIERS,
    Billed,
    Usage,
    from_anthropic,
    from_groq_x,
    from_litellm,
    from_openai_chat,
    from_openai_images,
    from_openai_responses,
    token_count,
)

from . import usage_bodies as bodies

PARSERS = (
    from_openai_chat,
    from_openai_responses,
    from_anthropic,
    from_litellm,
    from_openai_images,
    from_groq_x,
)

# -- real shapes, as the APIs send them ------------------------------------------------------------

OPENAI_CHAT = {  # gpt-4o with a prompt-cache hit; o-series reasoning details
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 192,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
ANTHROPIC = {  # Messages API with prompt caching (both TTLs) and extended thinking
    "input_tokens": 50,
    "cache_creation_input_tokens": 2000,
    "cache_read_input_tokens": 10000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500},
    "output_tokens": 400,
    "output_tokens_details": {"thinking_tokens": 250},
    "service_tier": "standard",
    "server_tool_use": None,
}
LITELLM_ANTHROPIC = {  # LiteLLM's OpenAI-shaped usage for a Claude call: cache already in prompt_tokens
    "prompt_tokens": 12050,
    "completion_tokens": 400,
    "total_tokens": 12450,
    "prompt_tokens_details": {"cached_tokens": 10000, "audio_tokens": None},
    "completion_tokens_details": {"reasoning_tokens": 250},
    "cache_read_input_tokens": 10000,
    "cache_creation_input_tokens": 2000,
}


def test_openai_chat_dict_and_sdk_object() -> None:
    expected = Usage(input=2006, output=300, cache_read=1920, cache_write=None, reasoning=192)
    assert from_openai_chat(OPENAI_CHAT) == expected
    assert from_openai_chat(CompletionUsage.model_validate(OPENAI_CHAT)) == expected


def test_openai_chat_without_details() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}
    assert from_openai_chat(usage) == Usage(input=12, output=9)
    assert from_openai_chat(CompletionUsage.model_validate(usage)) == Usage(input=12, output=9)


def test_openai_chat_cache_write_from_an_unknown_sdk_field() -> None:
    """Fields the SDK does not declare yet live in pydantic's extras and are still read."""
    payload = {**OPENAI_CHAT, "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 900}}
    expected = Usage(input=2006, output=300, cache_read=1000, cache_write=900, reasoning=192)
    assert from_openai_chat(payload) == expected
    assert from_openai_chat(CompletionUsage.model_validate(payload)) == expected


def test_openai_embeddings() -> None:
    payload = {"prompt_tokens": 8, "total_tokens": 8}
    assert from_openai_chat(payload) == Usage(input=8)
    assert from_openai_chat(EmbeddingUsage.model_validate(payload)) == Usage(input=8)


def test_openai_responses_dict_and_sdk_object() -> None:
    expected = Usage(input=5200, output=812, cache_read=4096, cache_write=512, reasoning=640)
    assert from_openai_responses(bodies.OPENAI_RESPONSES) == expected
    assert from_openai_responses(ResponseUsage.model_validate(bodies.OPENAI_RESPONSES)) == expected


def test_anthropic_cache_reads_and_writes_are_added_to_input() -> None:
    expected = Usage(
        input=12050,
        output=400,
        cache_read=10000,
        cache_write=2000,
        reasoning=250,
        cache_write_5m=1500,
        cache_write_1h=500,
    )
    assert from_anthropic(ANTHROPIC) == expected
    assert from_anthropic(anthropic.types.Usage.model_validate(ANTHROPIC)) == expected


def test_anthropic_without_cache() -> None:
    payload = {"input_tokens": 25, "output_tokens": 7}
    assert from_anthropic(payload) == Usage(input=25, output=7)
    assert from_anthropic(anthropic.types.Usage.model_validate(payload)) == Usage(input=25, output=7)


def test_anthropic_stream_events() -> None:
    """``message_start`` carries input and cache counts; ``message_delta`` only the cumulative output."""
    start = {
        "input_tokens": 30,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 0,
        "output_tokens": 1,
    }
    assert from_anthropic(start) == Usage(input=130, output=1, cache_read=100, cache_write=0)
    delta = anthropic.types.MessageDeltaUsage.model_validate({"output_tokens": 57})
    assert from_anthropic(delta) == Usage(output=57)


def test_litellm_never_adds_anthropic_cache_twice() -> None:
    assert from_litellm(LITELLM_ANTHROPIC) == Usage(
        input=12050, output=400, cache_read=10000, cache_write=2000, reasoning=250
    )


def test_litellm_falls_back_to_anthropic_field_names() -> None:
    payload = {
        "prompt_tokens": 12050,
        "completion_tokens": 400,
        "cache_read_input_tokens": 10000,
        "cache_creation_input_tokens": 2000,
        "reasoning_tokens": 120,
    }
    expected = Usage(input=12050, output=400, cache_read=10000, cache_write=2000, reasoning=120)
    assert from_litellm(payload) == expected
    assert from_litellm(SimpleNamespace(**payload)) == expected


def test_litellm_plain_openai_shape() -> None:
    assert from_litellm(OPENAI_CHAT) == from_openai_chat(OPENAI_CHAT)
    assert from_litellm({"prompt_tokens": 3, "completion_tokens": 4}) == Usage(input=3, output=4)


SUBSET_TOO_LARGE = [
    (
        from_openai_chat,
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}},
        Usage(input=10),
    ),
    (
        from_openai_chat,
        {"completion_tokens": 5, "completion_tokens_details": {"reasoning_tokens": 6}},
        Usage(output=5),
    ),
    (
        from_openai_responses,
        {"input_tokens": 1, "input_tokens_details": {"cache_write_tokens": 2}},
        Usage(input=1),
    ),
    (from_anthropic, {"output_tokens": 3, "output_tokens_details": {"thinking_tokens": 4}}, Usage(output=3)),
    (from_litellm, {"prompt_tokens": 10, "cache_read_input_tokens": 11}, Usage(input=10)),
    (from_litellm, {"prompt_tokens": 10, "cache_creation_input_tokens": 12}, Usage(input=10)),
]


@pytest.mark.parametrize(("parser", "payload", "expected"), SUBSET_TOO_LARGE)
def test_a_subset_larger_than_its_whole_is_dropped(parser: Any, payload: Any, expected: Usage) -> None:
    assert parser(payload) == expected


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("payload", [None, "usage", b"usage", 12, 1.5, [1, 2], True])
def test_not_a_usage_object(parser: Any, payload: Any) -> None:
    result = parser(payload)
    assert result is None or result == Usage()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (7, 7),
        (MAX_TOKENS, MAX_TOKENS),
        (MAX_TOKENS + 1, None),
        (-1, None),
        (3.0, 3),
        (3.5, None),
        (-2.0, None),
        (float("nan"), None),
        (float("inf"), None),
        (True, None),
        (False, None),
        ("12", None),
        (None, None),
        ([3], None),
        ({"value": 3}, None),
    ],
)
def test_token_count(value: Any, expected: int | None) -> None:
    result = token_count(value)
    assert result == expected
    assert type(result) is (int if expected is not None else type(None))


def test_usage_reported_and_sum() -> None:
    assert Usage().reported is False
    assert Usage(input=0).reported is True
    assert Usage(output=0).reported is True
    assert Usage(cache_read=5).reported is False
    total = Usage(input=10, output=2, cache_read=4) + Usage(input=5, reasoning=1, cache_write_1h=3)
    assert total == Usage(input=15, output=2, cache_read=4, cache_write=None, reasoning=1, cache_write_1h=3)


def test_a_hostile_object_is_not_usage() -> None:
    class Hostile:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(name)

    for parser in PARSERS:
        assert parser(Hostile()) in (None, Usage())


# -- properties over arbitrary JSON-like payloads ---------------------------------------------------

FIELD_NAMES = (
    *(
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    ),
    *("cached_tokens", "cache_write_tokens", "reasoning_tokens", "input_tokens", "output_tokens"),
    *(
        "input_tokens_details",
        "output_tokens_details",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    ),
    *("cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "thinking_tokens"),
    "audio_tokens",
    *("image_tokens", "num_cached_tokens", "prompt_cache_hit_tokens", "prompt_token_details", "cost"),
    *("cost_in_usd_ticks", "is_byok", "cost_details", "upstream_inference_cost", "server_tool_use"),
    *("web_search_requests", "web_fetch_requests", "speed", "service_tier", "usage", "type"),
    *("server_side_tool_usage_details", "x_search_calls", "cache_creation_token_details"),
)
#: Every dialect, and a provider with none.
DIALECT_PROVIDERS = ("openai", "mistral_ai", "x_ai", "gcp.gemini", "openrouter", "deepseek")
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-5, max_value=5000)
    | st.sampled_from([MAX_TOKENS, MAX_TOKENS + 1, 2**63, -(2**63)])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(["12", "-1", "1e3", "", "NaN"])
)
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=5)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)
PAYLOADS = st.dictionaries(KEYS, JSON_LIKE, max_size=12) | JSON_LIKE


def check_usage(result: Usage | None) -> None:
    """None, or non-negative ints (never bools) whose subsets never exceed their wholes."""
    if result is None:
        return
    assert type(result) is Usage
    billed = result.billed or Billed()
    assert result.billed != Billed()  # nothing to say is None, not an empty Billed
    for value in (result.input, result.output, result.cache_read, result.cache_write, result.reasoning,
                  result.cache_write_5m, result.cache_write_1h, billed.audio_input, billed.audio_output,
                  billed.image_input, billed.image_output, *(n for _, n in billed.tool_calls())):  # fmt: skip
        assert value is None or (type(value) is int and value >= 0)
    for part, whole in ((result.cache_read, result.input), (result.cache_write, result.input),
                        (result.reasoning, result.output), (billed.audio_input, result.input),
                        (billed.image_input, result.input), (billed.audio_output, result.output),
                        (billed.image_output, result.output)):  # fmt: skip
        if part is not None and whole is not None:
            assert part <= whole
    cost = billed.reported_cost
    assert cost is None or (type(cost) is float and 0.0 <= cost <= 1e6)
    assert billed.service_tier is None or billed.service_tier in PRICED_TIERS
    assert billed.speed in (None, "fast")


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS)
def test_any_json_like_payload_is_parsed_safely(payload: Any) -> None:
    before = copy.deepcopy(payload)
    for parser in PARSERS:
        result = parser(payload)
        check_usage(result)
        assert parser(payload) == result  # pure: same answer twice
    for provider in DIALECT_PROVIDERS:
        check_usage(from_openai_chat(payload, provider, "flex"))
        check_usage(from_openai_responses(payload, provider, [payload], "batch"))
        check_usage(from_litellm(payload, provider))
    assert repr(payload) == repr(before)  # read by value, never mutated (repr: NaN != NaN)


@settings(max_examples=150, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_LIKE, max_size=12))
def test_any_payload_inside_sdk_objects_is_parsed_safely(payload: dict[str, Any]) -> None:
    """The attribute path (SDK models built without validation, as from a lenient decoder)."""
    models: list[tuple[Any, Any]] = [
        (CompletionUsage, from_openai_chat),
        (ResponseUsage, from_openai_responses),
        (anthropic.types.Usage, from_anthropic),
        (CompletionUsage, from_litellm),
    ]
    for model, parser in models:
        check_usage(parser(model.model_construct(**payload)))
        check_usage(parser(SimpleNamespace(**payload)))
    for provider in DIALECT_PROVIDERS:
        check_usage(from_openai_chat(CompletionUsage.model_construct(**payload), provider))
        check_usage(from_openai_chat(sdk(CompletionUsage, payload), provider))


COUNTS = st.integers(min_value=0, max_value=MAX_TOKENS // 3)


@settings(max_examples=150, deadline=None)
@given(prompt=COUNTS, completion=COUNTS, cached=COUNTS, reasoning=COUNTS)
def test_openai_chat_maps_exactly(prompt: int, completion: int, cached: int, reasoning: int) -> None:
    payload = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    expected = Usage(
        input=prompt,
        output=completion,
        cache_read=cached if cached <= prompt else None,
        reasoning=reasoning if reasoning <= completion else None,
    )
    assert from_openai_chat(payload) == expected
    assert from_openai_chat(CompletionUsage.model_validate(payload)) == expected
    assert from_litellm(payload) == expected


@settings(max_examples=150, deadline=None)
@given(uncached=COUNTS, read=COUNTS, write=COUNTS, output=COUNTS, thinking=COUNTS)
def test_anthropic_maps_exactly(uncached: int, read: int, write: int, output: int, thinking: int) -> None:
    payload = {
        "input_tokens": uncached,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        "output_tokens": output,
        "output_tokens_details": {"thinking_tokens": thinking},
    }
    expected = Usage(
        input=uncached + read + write,
        output=output,
        cache_read=read,
        cache_write=write,
        reasoning=thinking if thinking <= output else None,
    )
    assert from_anthropic(payload) == expected
    assert from_anthropic(anthropic.types.Usage.model_validate(payload)) == expected


# -- dialects: each body is a provider's documented or recorded usage, its source cited -------------


def chat(payload: dict[str, Any]) -> CompletionUsage:
    """The usage as the openai SDK builds it from the wire (undeclared fields land in its extras)."""
    return sdk(CompletionUsage, payload)


def sdk(model: type[Any], payload: dict[str, Any]) -> Any:
    """An openai SDK object built as the SDK builds responses: leniently, without validation."""
    return construct_type(type_=model, value=payload)


def test_mistral_num_cached_tokens() -> None:
    # Recorded Mistral response, vercel/ai packages/mistral/src/__fixtures__/mistral-usage-details.json
    # (its prompt_token_details spelling and audio tokens included; reasoning 7 > completion 2 is noise).
    recorded = {
        "prompt_tokens": 20,
        "completion_tokens": 2,
        "total_tokens": 22,
        "prompt_audio_seconds": 1,
        "request_count": 1,
        "service_tier": "standard",
        "num_cached_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 1},
        "prompt_token_details": {"cached_tokens": 0, "audio_tokens": 1},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }
    expected = Usage(input=20, output=2, cache_read=0, billed=Billed(audio_input=1))
    assert from_openai_chat(chat(recorded), "mistral_ai") == expected
    assert from_openai_chat(recorded, "mistral_ai") == expected
    # Cache hit as Mistral's current API reports it, and num_cached_tokens preferred over details.
    hit = bodies.MISTRAL_CACHE_HIT
    assert from_openai_chat(chat(hit), "mistral_ai") == Usage(input=100, output=50, cache_read=60)
    both = {**hit, "num_cached_tokens": 40, "prompt_tokens_details": {"cached_tokens": 30}}
    assert from_openai_chat(chat(both), "mistral_ai") == Usage(input=100, output=50, cache_read=40)
    alternate = {"prompt_tokens": 150, "completion_tokens": 25, "prompt_token_details": {"cached_tokens": 50}}
    assert from_openai_chat(chat({**alternate, "total_tokens": 175}), "mistral_ai").cache_read == 50  # type: ignore[union-attr]


def test_deepseek_cache_hit_tokens_without_details() -> None:
    body = bodies.DEEPSEEK_2024
    expected = Usage(input=1000, output=100, cache_read=800)
    assert from_openai_chat(chat(body), "deepseek") == expected
    assert from_openai_chat(chat(body), "openai") == expected  # a relay behind an unknown host
    # DeepSeek's current shape carries both; unchanged. Recorded in a public session log (opencode):
    current = {
        "prompt_tokens": 89008,
        "completion_tokens": 192,
        "total_tokens": 89200,
        "prompt_tokens_details": {"cached_tokens": 88960},
        "completion_tokens_details": {"reasoning_tokens": 94},
        "prompt_cache_hit_tokens": 88960,
        "prompt_cache_miss_tokens": 48,
    }
    assert from_openai_chat(chat(current), "deepseek") == Usage(
        input=89008, output=192, cache_read=88960, reasoning=94
    )


def test_groq_x_groq_usage_on_the_last_chunk() -> None:
    # Recorded Groq stream, last chunk: vercel/ai packages/groq/src/groq-chat-language-model.test.ts
    # (usage only under x_groq, not in the chunk's usage field).
    chunk = sdk(
        ChatCompletionChunk,
        {
            "id": "chatcmpl-e7f8e220-656c-4455-a132-dacfc1370798",
            "object": "chat.completion.chunk",
            "created": 1729171479,
            "model": "gemma2-9b-it",
            "system_fingerprint": "fp_10c08bf97d",
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}],
            "x_groq": {"id": "req_01jadadp0femyae9kav1gpkhe8", "usage": bodies.GROQ_X_USAGE},
        },
    )
    assert chunk.usage is None
    x_groq = chunk.model_extra["x_groq"]  # type: ignore[index]
    assert from_groq_x(x_groq) == Usage(input=18, output=439)
    assert from_groq_x({"id": "req_1"}) is None  # the other chunks carry only an id
    assert from_groq_x(None) is None


def test_xai_reasoning_outside_completion_tokens_and_ticks() -> None:
    body = bodies.XAI_REASONING
    assert from_openai_chat(chat(body), "x_ai") == Usage(input=32, output=103, cache_read=6, reasoning=94)
    # Another provider's identical numbers keep the OpenAI meaning (reasoning inside completion).
    assert from_openai_chat(chat(body), "openai") == Usage(input=32, output=9, cache_read=6)
    # A relay that already folded reasoning in (total = prompt + completion) is left alone: doc.302.ai.
    folded = {**body, "completion_tokens": 123, "total_tokens": 809, "prompt_tokens": 686}
    folded["completion_tokens_details"] = {"text_tokens": 11, "reasoning_tokens": 112}
    folded["prompt_tokens_details"] = {"cached_tokens": 679}
    assert from_openai_chat(chat(folded), "x_ai") == Usage(
        input=686, output=123, cache_read=679, reasoning=112
    )
    # The billed amount: 1 USD = 10^10 ticks; "cost_in_usd_ticks": 37756000 cost $0.0037756
    # (https://docs.x.ai/developers/cost-tracking).
    billed = from_openai_chat(chat({**body, "cost_in_usd_ticks": 37756000}), "x_ai")
    assert billed is not None and billed.reported_cost == pytest.approx(0.0037756, rel=1e-12)
    assert billed.output == 103


def test_xai_responses_server_side_tools_and_cost() -> None:
    # xAI Responses usage with server-side tools, as its cost-tracking docs describe the fields
    # (https://docs.x.ai/developers/cost-tracking); body recorded in a public Grok API notes file.
    usage = {
        "input_tokens": 9212,
        "input_tokens_details": {"cached_tokens": 3072},
        "output_tokens": 3417,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12629,
        "num_sources_used": 0,
        "num_server_side_tools_used": 3,
        "cost_in_usd_ticks": 318319000,
        "server_side_tool_usage_details": {
            "web_search_calls": 0,
            "x_search_calls": 3,
            "code_interpreter_calls": 0,
            "file_search_calls": 0,
            "mcp_calls": 0,
            "document_search_calls": 0,
            "image_generation_calls": 0,
        },
    }
    parsed = from_openai_responses(sdk(ResponseUsage, usage), "x_ai")
    assert parsed is not None
    assert (parsed.input, parsed.output, parsed.cache_read, parsed.reasoning) == (9212, 3417, 3072, 0)
    assert parsed.reported_cost == pytest.approx(0.0318319, rel=1e-12)
    assert parsed.tool_calls() == (("other", 3),)


def test_gemini_compatible_endpoint_thinking_only_in_total() -> None:
    body = bodies.GEMINI_THINKING
    assert from_openai_chat(chat(body), "gcp.gemini") == Usage(input=20, output=603, reasoning=405)
    assert from_openai_chat(chat(body), "openai") == Usage(input=20, output=198)  # only that provider
    consistent = {"prompt_tokens": 20, "completion_tokens": 603, "total_tokens": 623}
    assert from_openai_chat(chat(consistent), "gcp.gemini") == Usage(input=20, output=603)


def test_openrouter_cost_and_byok() -> None:
    body = bodies.OPENROUTER_COST
    parsed = from_openai_chat(chat(body), "openrouter")
    assert parsed == Usage(input=194, output=2, cache_read=0, reasoning=0, billed=Billed(reported_cost=0.95))
    # With the user's own key, cost is OpenRouter's fee and the provider billed the upstream amount.
    byok = from_openai_chat(chat({**body, "is_byok": True}), "openrouter")
    assert byok is not None and byok.reported_cost == pytest.approx(19.95)
    # "cost" means nothing in another provider's usage.
    assert from_openai_chat(chat(body), "openai") == Usage(input=194, output=2, cache_read=0, reasoning=0)
    # A free model reports 0: an answer, kept.
    free = from_openai_chat(chat({**body, "cost": 0}), "openrouter")
    assert free is not None and free.reported_cost == 0.0


def test_openai_audio_tokens() -> None:
    body = bodies.OPENAI_AUDIO
    expected = Usage(
        input=45, output=216, cache_read=0, reasoning=0, billed=Billed(audio_input=31, audio_output=175)
    )
    assert from_openai_chat(chat(body)) == expected
    assert from_openai_chat(body) == expected
    assert (expected.audio_input, expected.audio_output) == (31, 175)
    # Responses: input_tokens_details.audio_tokens
    responses = {
        "input_tokens": 40,
        "input_tokens_details": {"cached_tokens": 0, "audio_tokens": 25},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 50,
    }
    assert from_openai_responses(sdk(ResponseUsage, responses)) == Usage(
        input=40, output=10, cache_read=0, reasoning=0, billed=Billed(audio_input=25)
    )


def test_service_tier_is_price_context() -> None:
    body = chat({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    assert from_openai_chat(body, "openai", "flex") == Usage(
        input=10, output=5, billed=Billed(service_tier="flex")
    )
    assert from_openai_chat(body, "openai", "priority").service_tier == "priority"  # type: ignore[union-attr]
    for default in ("default", "auto", "standard", "on_demand", "made-up", 7):
        assert from_openai_chat(body, "openai", default) == Usage(input=10, output=5)


def test_openai_responses_server_tool_calls() -> None:
    # Web search in the Responses API: one web_search_call output item per search
    # (https://platform.openai.com/docs/guides/tools-web-search, "Output and citations").
    response = sdk(
        Response,
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1741476542,
            "model": "gpt-4.1-2025-04-14",
            "status": "completed",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": [
                {
                    "type": "web_search_call",
                    "id": "ws_67c9fa0502748190b7dd390736892e100be649c1a5ff9609",
                    "status": "completed",
                },
                {"type": "web_search_call", "id": "ws_2", "status": "completed"},
                {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"},
                {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}"},
                {
                    "type": "message",
                    "id": "msg_1",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "On March 6, 2025...", "annotations": []}],
                },
            ],
            "usage": bodies.OPENAI_RESPONSES,
            "service_tier": "default",
        },
    )
    parsed = from_openai_responses(response.usage, "openai", response.output, response.service_tier)
    assert parsed == Usage(
        input=5200,
        output=812,
        cache_read=4096,
        cache_write=512,
        reasoning=640,
        billed=Billed(web_search_calls=2, file_search_calls=1),
    )
    assert parsed.tool_calls() == (("web_search", 2), ("file_search", 1))  # type: ignore[union-attr]


def test_anthropic_server_tool_use_speed_and_tier() -> None:
    # Web search and fetch, billed per request: https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool
    # (usage.server_tool_use.web_search_requests); speed and service_tier as the SDK declares them
    # (anthropic/types/usage.py: speed "standard" | "fast", service_tier "standard" | "priority" | "batch").
    body = {
        "input_tokens": 105,
        "output_tokens": 6039,
        "cache_read_input_tokens": 7123,
        "cache_creation_input_tokens": 7345,
        "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 2},
        "service_tier": "standard",
        "speed": "fast",
    }
    expected = Usage(
        input=14573,
        output=6039,
        cache_read=7123,
        cache_write=7345,
        billed=Billed(web_search_calls=1, web_fetch_calls=2, speed="fast"),
    )
    assert from_anthropic(body) == expected
    assert from_anthropic(anthropic.types.Usage.model_validate(body)) == expected
    assert expected.tool_calls() == (("web_search", 1), ("web_fetch", 2))
    batch = from_anthropic(
        {"input_tokens": 10, "output_tokens": 2, "service_tier": "batch", "speed": "standard"}
    )
    assert batch == Usage(input=10, output=2, billed=Billed(service_tier="batch"))


def test_openai_images_usage() -> None:
    body = bodies.IMAGES
    expected = Usage(input=50, output=50, billed=Billed(image_input=40, image_output=50))
    assert from_openai_images(body) == expected
    assert from_openai_images(ImagesResponse.model_validate({"created": 1, "usage": body}).usage) == expected
    split = {**body, "output_tokens_details": {"image_tokens": 45, "text_tokens": 5}}
    assert from_openai_images(split) == Usage(
        input=50, output=50, billed=Billed(image_input=40, image_output=45)
    )
    assert from_openai_images(None) is None


def test_litellm_anthropic_1h_cache_and_web_search() -> None:
    """LiteLLM's Usage for a Claude call with 1-hour cache writes and a web search (LiteLLM's own types)."""
    usage = LiteLLMUsage(
        prompt_tokens=12050,
        completion_tokens=400,
        total_tokens=12450,
        prompt_tokens_details={
            "cached_tokens": 10000,
            "cache_creation_tokens": 2000,
            "cache_creation_token_details": {
                "ephemeral_5m_input_tokens": 500,
                "ephemeral_1h_input_tokens": 1500,
            },
        },
        cache_read_input_tokens=10000,
        cache_creation_input_tokens=2000,
        server_tool_use={"web_search_requests": 3},
    )
    assert from_litellm(usage, "anthropic") == Usage(
        input=12050,
        output=400,
        cache_read=10000,
        cache_write=2000,
        cache_write_5m=500,
        cache_write_1h=1500,
        billed=Billed(web_search_calls=3),
    )


# Shapes that were exact before the dialects and must stay so, each under its provider's label.
EXACT_TODAY = [
    ("deepseek", bodies.DEEPSEEK_CURRENT, Usage(input=1200, output=300, cache_read=1024)),
    (  # Groq's current usage (https://console.groq.com/docs/api-reference#chat-create; timings included)
        "groq",
        {
            "queue_time": 0.037,
            "prompt_tokens": 18,
            "prompt_time": 0.0007,
            "completion_tokens": 5,
            "completion_time": 0.46,
            "total_tokens": 23,
            "total_time": 0.46,
        },
        Usage(input=18, output=5),
    ),
    (
        "openrouter",
        bodies.OPENROUTER_CACHED_REASONING,
        Usage(input=163, output=241, cache_read=162, cache_write=0, reasoning=204),
    ),
    ("fireworks_ai", bodies.FIREWORKS_CACHED, Usage(input=2048, output=64, cache_read=1536)),
    ("together_ai", bodies.TOGETHER_EOS, Usage(input=21, output=9)),
    (  # vLLM stream_options.continuous_usage_stats (https://docs.vllm.ai, OpenAI-compatible server)
        "openai",
        {"prompt_tokens": 12, "total_tokens": 19, "completion_tokens": 7},
        Usage(input=12, output=7),
    ),
    ("openai", bodies.OPENAI_PREDICTION, Usage(input=100, output=50, reasoning=0)),
]


@pytest.mark.parametrize(("provider", "body", "expected"), EXACT_TODAY)
def test_shapes_exact_before_stay_exact(provider: str, body: dict[str, Any], expected: Usage) -> None:
    assert from_openai_chat(chat(body), provider) == expected
    assert from_openai_chat(body, provider) == expected
    assert from_litellm(body, provider) == expected


def test_usage_sum_covers_billed_units() -> None:
    a = Usage(
        input=10,
        output=5,
        billed=Billed(audio_input=2, web_search_calls=1, reported_cost=0.5, service_tier="flex"),
    )
    b = Usage(
        input=1,
        output=1,
        billed=Billed(audio_input=3, web_fetch_calls=4, reported_cost=0.25, service_tier="flex"),
    )
    assert a + b == Usage(
        input=11,
        output=6,
        billed=Billed(
            audio_input=5, web_search_calls=1, web_fetch_calls=4, reported_cost=0.75, service_tier="flex"
        ),
    )
    c = Usage(input=1, billed=Billed(service_tier="priority", speed="fast"))
    assert (a + c).billed == Billed(audio_input=2, web_search_calls=1, reported_cost=0.5)  # contexts disagree
    assert (a + Usage(input=1)).billed == a.billed
    assert (Usage(input=1) + a).billed == a.billed


def test_the_fast_construction_is_a_real_usage() -> None:
    parsed = from_openai_chat(chat(OPENAI_CHAT))
    assert type(parsed) is Usage
    with pytest.raises(FrozenInstanceError):
        parsed.input = 3  # type: ignore[misc,union-attr]
    assert hash(parsed) == hash(Usage(input=2006, output=300, cache_read=1920, reasoning=192))
    assert pickle.loads(pickle.dumps(parsed)) == parsed == copy.deepcopy(parsed)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -1, -0.5, True, "0.5", None, 2**2000, 10**17, [1]]
)
def test_a_reported_cost_that_is_no_amount_is_dropped(value: Any) -> None:
    body = {"prompt_tokens": 1, "completion_tokens": 1, "cost": value, "cost_in_usd_ticks": value}
    for provider in ("openrouter", "x_ai"):
        parsed = from_openai_chat(body, provider)
        assert parsed is not None and parsed.reported_cost is None
