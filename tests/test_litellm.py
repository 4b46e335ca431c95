"""LiteLLM over real HTTP: one count per provider response, whatever layer LiteLLM runs underneath.

Real ``litellm`` (imported once: it is slow) talks to the local fake provider through the openai SDK
(chat, text completions, embeddings) or its own Anthropic handler.
"""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

import llm_telemetry
from llm_telemetry.integrations.litellm import resolve
from llm_telemetry.providers import otel_name
from llm_telemetry.testing import (
    Chat,
    ChatStream,
    Completion,
    Error,
    FakeProvider,
    Message,
    MessageStream,
    anthropic_usage,
    openai_usage,
)

from .conftest import Telemetry

litellm.suppress_debug_info = True

HI: Any = [{"role": "user", "content": "hi"}]
GPT = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-sonnet-4-5"


def _openai(fp: FakeProvider) -> dict[str, Any]:
    return {"api_base": fp.openai_base_url, "api_key": "x"}


def _anthropic(fp: FakeProvider) -> dict[str, Any]:
    return {"api_base": fp.anthropic_base_url, "api_key": "x"}


def _requests(telemetry: Telemetry, **labels: str) -> float:
    return telemetry.value("llm_telemetry_requests_total", **labels)


def _tokens(telemetry: Telemetry, family: str, **labels: str) -> float:
    return telemetry.value(f"llm_telemetry_{family}_tokens_total", **labels)


def _client_spans(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans() if s.kind == SpanKind.CLIENT]


def _assert_once(telemetry: Telemetry, fp: FakeProvider, operation: str = "chat", model: str = GPT) -> None:
    """One HTTP response, one request recorded (by LiteLLM, not the SDK below it), one span."""
    assert len(fp.requests) == 1
    assert _requests(telemetry) == 1
    assert _requests(telemetry, provider="openai", request_model=model, operation=operation) == 1
    (span,) = _client_spans(telemetry)
    assert span.attributes["gen_ai.request.model"] == model


# ------------------------------------------------------------------------------------------- chat


def test_completion_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(12, 3, cached=4)))
    response = litellm.completion(model=GPT, messages=HI, **_openai(fp))
    assert isinstance(response, litellm.ModelResponse)
    _assert_once(telemetry, fp)
    assert _requests(telemetry, stream="false", outcome="success") == 1
    assert _tokens(telemetry, "input", response_model="gpt-4o-mini-2024-07-18") == 12
    assert _tokens(telemetry, "output") == 3
    assert _tokens(telemetry, "cache_read") == 4
    (span,) = _client_spans(telemetry)
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.attributes["gen_ai.usage.input_tokens"] == 12


async def test_acompletion_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(12, 3)))
    await litellm.acompletion(model=GPT, messages=HI, **_openai(fp))
    _assert_once(telemetry, fp)
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (12, 3)


async def test_completion_async_flag_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    await litellm.completion(model=GPT, messages=HI, acompletion=True, **_openai(fp))
    _assert_once(telemetry, fp)


def test_error_keeps_the_exception_and_is_classified(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Error(400))
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model=GPT, messages=HI, **_openai(fp))
    assert _requests(telemetry, outcome="error") == 1
    assert telemetry.value("llm_telemetry_errors_total", error_type="bad_request") == 1


# ---------------------------------------------------------------------------------------- streams


async def _stream(fp: FakeProvider, **kwargs: Any) -> list[Any]:
    return list(litellm.completion(model=GPT, messages=HI, stream=True, **_openai(fp), **kwargs))


async def _astream(fp: FakeProvider, **kwargs: Any) -> list[Any]:
    stream = await litellm.acompletion(model=GPT, messages=HI, stream=True, **_openai(fp), **kwargs)
    return [chunk async for chunk in stream]


@pytest.mark.parametrize("consume", [_stream, _astream])
async def test_stream_usage_injected_and_hidden(telemetry: Telemetry, fp: FakeProvider, consume: Any) -> None:
    fp.script(ChatStream(usage=openai_usage(12, 2)))
    chunks = await consume(fp)
    assert fp.requests[0].body["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)  # the usage-only chunk is not shown
    assert _requests(telemetry, stream="true", outcome="success") == 1
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (12, 2)
    (span,) = _client_spans(telemetry)
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


@pytest.mark.parametrize("consume", [_stream, _astream])
async def test_stream_usage_asked_for_is_shown(telemetry: Telemetry, fp: FakeProvider, consume: Any) -> None:
    fp.script(ChatStream(usage=openai_usage(12, 2)))
    chunks = await consume(fp, stream_options={"include_usage": True})
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 12
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (12, 2)


async def test_stream_usage_declined(telemetry: Telemetry, fp: FakeProvider) -> None:
    await _stream(fp, stream_options={"include_usage": False})
    assert fp.requests[0].body.get("stream_options") in (None, {"include_usage": False})
    assert _requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="not_requested") == 1


def test_abandoned_stream_is_cancelled_with_nothing_lost(telemetry: Telemetry, fp: FakeProvider) -> None:
    stream = litellm.completion(model=GPT, messages=HI, stream=True, **_openai(fp))
    next(stream)
    stream.close()
    assert _requests(telemetry, outcome="cancelled") == 1
    assert _requests(telemetry) == 1


# ------------------------------------------------------------------------- text completions, embeddings

TEXT_MODEL = "text-completion-openai/gpt-3.5-turbo-instruct"


def test_text_completion_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Completion(usage=openai_usage(5, 3)))
    litellm.text_completion(model=TEXT_MODEL, prompt="hi", **_openai(fp))
    _assert_once(telemetry, fp, "text_completion", TEXT_MODEL)
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (5, 3)


def test_text_completion_stream_sent_on_first_next_counted_once(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(Completion(usage=openai_usage(5, 3)))
    stream = litellm.text_completion(model=TEXT_MODEL, prompt="hi", stream=True, **_openai(fp))
    assert fp.requests == []  # LiteLLM sends this request lazily
    text = "".join(c.choices[0].text or "" for c in stream)
    assert text == "Hello there."
    _assert_once(telemetry, fp, "text_completion", TEXT_MODEL)
    assert _requests(telemetry, stream="true", outcome="success") == 1
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (5, 3)


async def test_atext_completion_stream_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Completion(usage=openai_usage(5, 3)))
    stream = await litellm.atext_completion(model=TEXT_MODEL, prompt="hi", stream=True, **_openai(fp))
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    _assert_once(telemetry, fp, "text_completion", TEXT_MODEL)
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (5, 3)


async def test_embeddings_counted_once(telemetry: Telemetry, fp: FakeProvider) -> None:
    model = "openai/text-embedding-3-small"
    litellm.embedding(model=model, input=["a"], **_openai(fp))
    await litellm.aembedding(model=model, input=["b"], **_openai(fp))
    assert len(fp.requests) == 2
    assert _requests(telemetry) == 2
    assert _requests(telemetry, operation="embeddings", request_model=model, outcome="success") == 2
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (10, 0)
    assert all("gen_ai.usage.output_tokens" not in s.attributes for s in _client_spans(telemetry))


# ------------------------------------------------------------------------------------------ anthropic


def test_anthropic_cache_tokens_are_not_added_twice(telemetry: Telemetry, fp: FakeProvider) -> None:
    usage = anthropic_usage(10, 5, cache_read=100, cache_write=20)
    fp.script(Message(usage=usage), MessageStream(usage=usage))
    response = litellm.completion(model=CLAUDE, messages=HI, **_anthropic(fp))
    assert response.usage.prompt_tokens == 130  # LiteLLM folds the cache into prompt_tokens
    list(litellm.completion(model=CLAUDE, messages=HI, stream=True, **_anthropic(fp)))
    labels = {"provider": "anthropic", "request_model": CLAUDE}
    assert _requests(telemetry, **labels) == 2
    assert _tokens(telemetry, "input", **labels) == 260
    assert _tokens(telemetry, "cache_read", **labels) == 200
    assert _tokens(telemetry, "cache_write", **labels) == 40
    assert _tokens(telemetry, "output", **labels) == 10


# -------------------------------------------------------------------------------------------- retries


def test_sdk_and_litellm_retries_counted_on_one_request(telemetry: Telemetry, fp: FakeProvider) -> None:
    # The SDK retries twice (its default), then LiteLLM's num_retries loop takes over.
    fp.script(Error(500), Error(500), Error(500), Error(429), Chat(usage=openai_usage(12, 3)))
    litellm.completion(model=GPT, messages=HI, num_retries=3, **_openai(fp))
    assert len(fp.requests) == 5
    assert _requests(telemetry) == 1
    assert _requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_retries_total") == 4
    assert telemetry.value("llm_telemetry_retries_total", error_type="server") == 3
    assert telemetry.value("llm_telemetry_retries_total", error_type="rate_limit") == 1
    assert (_tokens(telemetry, "input"), _tokens(telemetry, "output")) == (12, 3)


async def test_async_retries_counted_on_one_request(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Error(500), Error(500), Error(500), Chat(usage=openai_usage(12, 3)))
    await litellm.acompletion(model=GPT, messages=HI, num_retries=2, **_openai(fp))
    assert len(fp.requests) == 4
    assert _requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_retries_total", error_type="server") == 3


# ------------------------------------------------------------------------------------ provider, hooks


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("azure/my-deployment", "azure.ai.openai"),
        ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "aws.bedrock"),
        ("vertex_ai/gemini-2.0-flash", "gcp.vertex_ai"),
        ("gemini/gemini-2.0-flash", "gcp.gemini"),
        ("mistral/mistral-large-latest", "mistral_ai"),
        ("xai/grok-4", "x_ai"),
        ("groq/llama-3.3-70b-versatile", "groq"),
        ("deepseek/deepseek-chat", "deepseek"),
        ("gpt-4o-mini", "openai"),
    ],
)
def test_provider_is_litellm_resolution_mapped_to_otel(model: str, provider: str) -> None:
    assert resolve(model, {})[0] == provider


def test_unknown_provider() -> None:
    assert otel_name(None) == "_OTHER"
    assert resolve("no-such-model-anywhere", {})[0] == "_OTHER"


def test_uninstrument_restores_the_public_names() -> None:
    originals = {name: getattr(litellm, name) for name in ("completion", "acompletion", "embedding")}
    llm_telemetry.instrument(registry=CollectorRegistry())
    try:
        assert litellm.completion is not originals["completion"]
    finally:
        llm_telemetry.uninstrument()
    assert all(getattr(litellm, name) is fn for name, fn in originals.items())
