"""Every usage parser: exact values for the providers' real shapes, and no garbage ever gets through."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import anthropic.types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types import CompletionUsage
from openai.types.create_embedding_response import Usage as EmbeddingUsage
from openai.types.responses import ResponseUsage

from llm_telemetry.usage import (
    MAX_TOKENS,
    Usage,
    from_anthropic,
    from_litellm,
    from_openai_chat,
    from_openai_responses,
    token_count,
)

PARSERS = (from_openai_chat, from_openai_responses, from_anthropic, from_litellm)

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
OPENAI_RESPONSES = {
    "input_tokens": 5200,
    "input_tokens_details": {"cached_tokens": 4096, "cache_write_tokens": 512},
    "output_tokens": 812,
    "output_tokens_details": {"reasoning_tokens": 640},
    "total_tokens": 6012,
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
    assert from_openai_responses(OPENAI_RESPONSES) == expected
    assert from_openai_responses(ResponseUsage.model_validate(OPENAI_RESPONSES)) == expected


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
)
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
    assert isinstance(result, Usage)
    for value in (result.input, result.output, result.cache_read, result.cache_write, result.reasoning,
                  result.cache_write_5m, result.cache_write_1h):  # fmt: skip
        assert value is None or (type(value) is int and value >= 0)
    for part, whole in ((result.cache_read, result.input), (result.cache_write, result.input),
                        (result.reasoning, result.output)):  # fmt: skip
        if part is not None and whole is not None:
            assert part <= whole


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS)
def test_any_json_like_payload_is_parsed_safely(payload: Any) -> None:
    before = copy.deepcopy(payload)
    for parser in PARSERS:
        result = parser(payload)
        check_usage(result)
        assert parser(payload) == result  # pure: same answer twice
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


COUNTS = st.integers(min_value=0, max_value=10**9)


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
