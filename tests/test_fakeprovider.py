"""The fake provider must be parsed by the real SDKs exactly like the real APIs are.

Everything else in the test suite (and the demo) trusts these wire shapes, so each reply type is
driven through the real ``openai`` / ``anthropic`` clients here, streams and failures included.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import openai
import pydantic
import pytest

from llm_telemetry.testing import (
    Chat,
    ChatStream,
    Completion,
    Embeddings,
    Error,
    FakeProvider,
    Hang,
    Images,
    ImagesStream,
    Message,
    MessageStream,
    Raw,
    Responses,
    ResponsesStream,
    anthropic_usage,
    images_usage,
    openai_usage,
    responses_usage,
)

CLAUDE = "claude-sonnet-4-5-20250929"
HI: Any = [{"role": "user", "content": "hi"}]


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a cut stream raises: the HTTP library's protocol error, which most SDK versions let escape
    the iterator, or openai's ``APIConnectionError`` wrapping it (openai >= 3.5x)."""
    errors: list[type[BaseException]] = [openai.APIConnectionError]
    for name in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(importlib.import_module(name).RemoteProtocolError)
    return tuple(errors)


BROKEN_STREAM = _transport_errors()


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def oai(fp: FakeProvider) -> openai.OpenAI:
    return openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)


@pytest.fixture
def claude(fp: FakeProvider) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=0)


def _post_raw(fp: FakeProvider, path: str, body: dict[str, Any]) -> str:
    """The response body as sent on the wire (chunked transfer decoded), for shape assertions."""
    request = urllib.request.Request(
        fp.url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def _sse_data(raw: str) -> list[Any]:
    return [
        json.loads(line[6:])
        for line in raw.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


# ------------------------------------------------------------------------------------------ server


def test_lifecycle_urls_and_request_log(fp: FakeProvider, oai: openai.OpenAI) -> None:
    assert fp.url.startswith("http://127.0.0.1:")
    assert fp.openai_base_url == fp.url + "/v1"
    assert fp.anthropic_base_url == fp.url
    oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    (req,) = fp.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer x"
    assert req.body == {"model": "gpt-4o-mini", "messages": HI}
    fp.script(Chat())
    fp.reset()
    assert fp.requests == []
    assert fp.pending == 0


def test_not_started_and_restart() -> None:
    provider = FakeProvider()
    with pytest.raises(RuntimeError):
        _ = provider.url
    provider.start()
    provider.stop()
    provider.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = provider.url


def test_defaults_echo_the_requested_model(fp: FakeProvider, oai: openai.OpenAI) -> None:
    chat = oai.chat.completions.create(model="gpt-4o", messages=HI)
    assert chat.model == "gpt-4o"
    assert chat.usage is not None and chat.usage.prompt_tokens == 12
    stream = oai.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
    assert oai.responses.create(model="gpt-4.1", input="hi").output_text == "Hello there."
    assert oai.embeddings.create(model="text-embedding-3-large", input="a").model == "text-embedding-3-large"
    assert (
        oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="x").choices[0].text == "Hello there."
    )


def test_unknown_path_is_an_openai_404(fp: FakeProvider, oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        oai.models.list()


# ------------------------------------------------------------------------------------ openai chat


def test_chat_usage_is_emitted_verbatim(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(
        Chat(content="Hi!", usage=openai_usage(100, 20, cached=40, cache_write=10, reasoning=5), id="c1"),
        Chat(usage={"prompt_tokens": 7, "completion_tokens": None}),
        Chat(usage=None),
    )
    first = oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert (first.id, first.choices[0].message.content, first.choices[0].finish_reason) == (
        "c1",
        "Hi!",
        "stop",
    )
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (
        100,
        20,
        120,
    )
    assert first.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 40
    assert first.usage.model_extra is not None or first.usage.prompt_tokens_details.model_extra is not None
    assert first.usage.completion_tokens_details is not None
    assert first.usage.completion_tokens_details.reasoning_tokens == 5

    second = oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert second.usage is not None and second.usage.completion_tokens is None
    assert "total_tokens" not in second.usage.model_fields_set

    third = oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert third.usage is None


def test_openai_usage_helper_shape() -> None:
    assert openai_usage(3, 2) == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert openai_usage(3, 2, cached=1, reasoning=0)["prompt_tokens_details"] == {"cached_tokens": 1}
    assert responses_usage(3, 2, cache_write=1)["input_tokens_details"] == {"cache_write_tokens": 1}
    assert anthropic_usage(3, 2, cache_write=5, cache_write_1h=2, thinking=1) == {
        "input_tokens": 3,
        "cache_creation_input_tokens": 5,
        "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 2},
        "output_tokens": 2,
        "output_tokens_details": {"thinking_tokens": 1},
    }


def test_chat_tool_call_uses_the_requested_tool_name(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(Chat(tool_call=True, content='{"city": "Paris"}', finish_reason="tool_calls"))
    tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    result = oai.chat.completions.create(model="gpt-4o-mini", messages=HI, tools=tools)
    message = result.choices[0].message
    assert message.content is None and message.tool_calls
    call = message.tool_calls[0]
    assert call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert result.choices[0].finish_reason == "tool_calls"


def test_chat_stream_usage_chunk_only_when_requested(fp: FakeProvider, oai: openai.OpenAI) -> None:
    usage = openai_usage(9, 3, cached=2)
    fp.script(
        ChatStream(chunks=("a", "b", "c"), usage=usage), ChatStream(chunks=("a", "b", "c"), usage=usage)
    )
    with_usage = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=HI,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert with_usage[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in with_usage if c.choices) == "abc"
    assert with_usage[-2].choices[0].finish_reason == "stop"
    assert with_usage[-1].choices == []
    assert with_usage[-1].usage is not None and with_usage[-1].usage.prompt_tokens == 9
    assert all(c.usage is None for c in with_usage[:-1])

    without = list(oai.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True))
    assert len(without) == len(with_usage) - 1
    assert all(c.choices and c.usage is None for c in without)


def test_chat_stream_wire_format(fp: FakeProvider) -> None:
    body = {"model": "m", "messages": HI, "stream": True}
    fp.script(ChatStream(), ChatStream())
    plain = _post_raw(fp, "/v1/chat/completions", body)
    assert plain.rstrip().endswith("data: [DONE]")
    assert all("usage" not in chunk for chunk in _sse_data(plain))

    requested = _sse_data(
        _post_raw(fp, "/v1/chat/completions", {**body, "stream_options": {"include_usage": True}})
    )
    assert all("usage" in chunk and chunk["usage"] is None for chunk in requested[:-1])
    assert requested[-1]["choices"] == [] and requested[-1]["usage"]["total_tokens"] == 14
    assert {c["object"] for c in requested} == {"chat.completion.chunk"}


def test_chat_stream_die_after_breaks_the_iterator(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(ChatStream(chunks=("a", "b", "c"), die_after=2))
    seen: list[str] = []
    stream = oai.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    with pytest.raises(BROKEN_STREAM):
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")
    assert seen == ["", "a"]


def test_chunk_delay_paces_the_stream() -> None:
    with FakeProvider(chunk_delay=0.05) as provider:
        client = openai.OpenAI(base_url=provider.openai_base_url, api_key="x", max_retries=0)
        start = time.perf_counter()
        list(client.chat.completions.create(model="m", messages=HI, stream=True))
        assert time.perf_counter() - start >= 0.2  # 5 events, 4 gaps


def test_azure_deployment_path(fp: FakeProvider) -> None:
    client = openai.AzureOpenAI(azure_endpoint=fp.url, api_key="x", api_version="2024-10-21", max_retries=0)
    result = client.chat.completions.create(model="my-deployment", messages=HI)
    assert result.choices[0].message.content == "Hello there."
    assert fp.requests[0].path.startswith("/openai/deployments/my-deployment/chat/completions?")


# ------------------------------------------------------------------- openai completions/embeddings


def test_legacy_completion_json_and_stream(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(Completion(text="Nine", usage=openai_usage(5, 1)), Completion(text="four plus five"))
    result = oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="4+5?")
    assert result.object == "text_completion" and result.choices[0].text == "Nine"
    assert result.usage is not None and result.usage.total_tokens == 6

    chunks = list(
        oai.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="4+5?", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "four plus five"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


@pytest.mark.parametrize("encoding", ["float", None])
def test_embeddings_one_vector_per_input(fp: FakeProvider, oai: openai.OpenAI, encoding: str | None) -> None:
    # Without encoding_format the SDK asks for base64 and decodes it itself: both paths give floats.
    fp.script(Embeddings(prompt_tokens=11), Embeddings())
    extra: Any = {"encoding_format": encoding} if encoding else {}
    result = oai.embeddings.create(model="text-embedding-3-small", input=["a", "b", "c"], **extra)
    assert fp.requests[0].body["encoding_format"] == (encoding or "base64")
    assert [d.index for d in result.data] == [0, 1, 2]
    assert all(len(d.embedding) == 8 and isinstance(d.embedding[0], float) for d in result.data)
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (11, 11)
    assert len(oai.embeddings.create(model="text-embedding-3-small", input=[1, 2, 3]).data) == 1


def test_embeddings_explicit_base64_is_left_encoded(fp: FakeProvider, oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="text-embedding-3-small", input="a", encoding_format="base64")
    vector = struct.unpack("<8f", base64.b64decode(cast(str, result.data[0].embedding)))
    assert len(vector) == 8


# -------------------------------------------------------------------------------- openai responses


def test_responses_create(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(
        Responses(content="Hi", usage=responses_usage(20, 4, cached=8, reasoning=2)), Responses(usage=None)
    )
    result = oai.responses.create(model="gpt-4.1-mini", input="hi", instructions="be nice")
    assert (result.output_text, result.status, result.instructions) == ("Hi", "completed", "be nice")
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (20, 4)
    assert result.usage.input_tokens_details.cached_tokens == 8
    assert result.usage.output_tokens_details.reasoning_tokens == 2
    assert oai.responses.create(model="gpt-4.1-mini", input="hi").usage is None


def test_responses_parse_with_text_format(fp: FakeProvider, oai: openai.OpenAI) -> None:
    class City(pydantic.BaseModel):
        name: str
        population: int

    fp.script(Responses(content='{"name": "Paris", "population": 2100000}'))
    result = oai.responses.parse(model="gpt-4.1-mini", input="a city", text_format=City)
    assert result.output_parsed == City(name="Paris", population=2100000)
    assert fp.requests[0].body["text"]["format"]["type"] == "json_schema"


def test_responses_stream(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(ResponsesStream(chunks=("Hel", "lo", "!"), usage=responses_usage(7, 3)))
    with oai.responses.stream(model="gpt-4.1-mini", input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello!"
    assert final.output_text == "Hello!"
    assert final.usage is not None and final.usage.total_tokens == 10


def test_responses_create_stream_die_after(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(ResponsesStream(die_after=5))
    types: list[str] = []
    with pytest.raises(BROKEN_STREAM):
        for event in oai.responses.create(model="gpt-4.1-mini", input="hi", stream=True):
            types.append(event.type)
    assert types[0] == "response.created" and len(types) == 5


def test_responses_stream_wire_format(fp: FakeProvider) -> None:
    raw = _post_raw(fp, "/v1/responses", {"model": "m", "input": "hi", "stream": True})
    names = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    assert names[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert names[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [d["type"] for d in _sse_data(raw)] == names


# ------------------------------------------------------------------------------------------- images


def test_images_generate_and_edit_unscripted(fp: FakeProvider, oai: openai.OpenAI) -> None:
    generated = oai.images.generate(model="gpt-image-1", prompt="a lighthouse")
    assert generated.data and base64.b64decode(generated.data[0].b64_json or "").startswith(b"\x89PNG")
    assert generated.usage is not None and generated.usage.output_tokens == 4160
    edited = oai.images.edit(model="gpt-image-1", image=("in.png", b"\x89PNG", "image/png"), prompt="x")
    assert edited.usage is not None and edited.usage.input_tokens == 50
    assert [r.path for r in fp.requests] == ["/v1/images/generations", "/v1/images/edits"]
    assert fp.requests[1].body is None  # a multipart form, not JSON


def test_images_usage_is_emitted_verbatim_or_left_out(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(Images(usage=images_usage(10, 40, 50), n=2), Images(usage=None))
    first = oai.images.generate(model="gpt-image-1", prompt="x", n=2)
    assert first.usage is not None and first.usage.model_dump(exclude_none=True) == images_usage(10, 40, 50)
    assert first.data is not None and len(first.data) == 2
    assert oai.images.generate(model="dall-e-3", prompt="x").usage is None


def test_images_stream_events(fp: FakeProvider, oai: openai.OpenAI) -> None:
    kinds = [
        e.type for e in oai.images.generate(model="gpt-image-1", prompt="x", stream=True, partial_images=1)
    ]
    assert kinds == ["image_generation.partial_image", "image_generation.completed"]  # unscripted
    fp.script(ImagesStream(usage=images_usage(10, 40, 50), partial_images=2))
    events = list(
        oai.images.edit(model="gpt-image-1", image=("in.png", b"x", "image/png"), prompt="x", stream=True)
    )
    assert [e.type for e in events] == ["image_edit.partial_image"] * 2 + ["image_edit.completed"]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]  # type: ignore[union-attr]
    assert events[-1].usage.output_tokens == 50  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------- anthropic


def test_message_json_with_cache_and_thinking(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    usage = anthropic_usage(10, 30, cache_read=100, cache_write=50, cache_write_1h=20, thinking=12)
    fp.script(Message(content="Nine.", usage=usage, thinking="4+5=9"))
    result = claude.messages.create(model=CLAUDE, max_tokens=50, messages=HI)
    assert [b.type for b in result.content] == ["thinking", "text"]
    assert result.content[1].type == "text" and result.content[1].text == "Nine."
    assert (result.stop_reason, result.model) == ("end_turn", CLAUDE)
    u = result.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        10,
        30,
        100,
        50,
    )
    assert u.cache_creation is not None and u.cache_creation.ephemeral_1h_input_tokens == 20
    assert u.output_tokens_details is not None and u.output_tokens_details.thinking_tokens == 12


def test_message_tool_use(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    fp.script(Message(tool_call=True, content='{"x": 1}', stop_reason="tool_use"))
    tools: Any = [{"name": "calc", "input_schema": {"type": "object"}}]
    result = claude.messages.create(model=CLAUDE, max_tokens=5, messages=HI, tools=tools)
    block = result.content[0]
    assert block.type == "tool_use" and (block.name, block.input) == ("calc", {"x": 1})


def test_message_stream_usage_and_thinking(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    usage = anthropic_usage(10, 7, cache_read=3, cache_write=4)
    fp.script(MessageStream(chunks=("Four", " plus"), usage=usage, thinking="hmm"))
    with claude.messages.stream(model=CLAUDE, max_tokens=50, messages=HI) as stream:
        events = list(stream)
        final = stream.get_final_message()
    raw_types = [e.type for e in events if e.type not in ("text", "thinking", "signature")]
    assert raw_types[0] == "message_start" and raw_types[-1] == "message_stop"
    start = events[0]
    assert start.type == "message_start"
    assert (start.message.usage.output_tokens, start.message.usage.cache_read_input_tokens) == (1, 3)
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[1].type == "text" and final.content[1].text == "Four plus"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_creation_input_tokens) == (
        10,
        7,
        4,
    )


def test_message_stream_delta_usage_override(fp: FakeProvider) -> None:
    fp.script(MessageStream(usage=anthropic_usage(10, 7), delta_usage={"output_tokens": 5}))
    raw = _post_raw(fp, "/v1/messages", {"model": CLAUDE, "max_tokens": 5, "messages": HI, "stream": True})
    events = _sse_data(raw)
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0]["message"]["usage"] == {"input_tokens": 10, "output_tokens": 1}
    assert events[-2]["usage"] == {"output_tokens": 5}


def test_message_stream_die_after_message_start(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    fp.script(MessageStream(die_after=1))
    seen: list[str] = []
    with pytest.raises(BROKEN_STREAM):
        for event in claude.messages.create(model=CLAUDE, max_tokens=5, messages=HI, stream=True):
            seen.append(event.type)
    assert seen == ["message_start"]


def test_beta_messages_path(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    result = claude.beta.messages.create(model=CLAUDE, max_tokens=5, messages=HI)
    assert result.content[0].type == "text"
    # anthropic 2.x no longer appends ?beta=true; older SDKs and raw clients still do.
    raw = json.loads(
        _post_raw(fp, "/v1/messages?beta=true", {"model": CLAUDE, "max_tokens": 5, "messages": HI})
    )
    assert raw["type"] == "message" and raw["usage"]["input_tokens"] == 12
    assert fp.requests[-1].path == "/v1/messages?beta=true"


# ------------------------------------------------------------------------------------------ errors


def test_openai_429_then_success_is_retried(fp: FakeProvider) -> None:
    fp.script(Error(429), Chat(content="ok"))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=2)
    start = time.perf_counter()
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert result.choices[0].message.content == "ok"
    assert len(fp.requests) == 2
    assert time.perf_counter() - start < 1.0  # retry-after-ms: 1 keeps the backoff short


def test_openai_error_shape(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(Error(429), Error(400, body={"error": {"message": "custom", "type": "x", "code": "y"}}))
    with pytest.raises(openai.RateLimitError) as rate:
        oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert rate.value.code == "rate_limit_exceeded" and rate.value.type == "requests"
    assert rate.value.response.headers["retry-after-ms"] == "1"
    with pytest.raises(openai.BadRequestError) as bad:
        oai.responses.create(model="m", input="x")
    assert bad.value.code == "y" and bad.value.body == {"message": "custom", "type": "x", "code": "y"}


def test_anthropic_529_then_success_is_retried(fp: FakeProvider) -> None:
    fp.script(Error(529), Message(content="ok"))
    client = anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=2)
    result = client.messages.create(model=CLAUDE, max_tokens=5, messages=HI)
    assert result.content[0].type == "text" and result.content[0].text == "ok"
    assert len(fp.requests) == 2


def test_anthropic_error_shape(fp: FakeProvider, claude: anthropic.Anthropic) -> None:
    fp.script(Error(529), Error(429, headers={"retry-after": "7"}))
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        claude.messages.create(model=CLAUDE, max_tokens=5, messages=HI)
    assert overloaded.value.status_code == 529
    body: Any = overloaded.value.body
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.RateLimitError) as limited:
        claude.messages.create(model=CLAUDE, max_tokens=5, messages=HI)
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.response.headers["retry-after-ms"] == "1"


def test_raw_is_sent_verbatim(fp: FakeProvider) -> None:
    fp.script(Raw(status=200, content_type="text/plain", body="not json"), Raw(status=418, body='{"x": 1}'))
    assert _post_raw(fp, "/v1/chat/completions", {}) == "not json"
    with pytest.raises(urllib.error.HTTPError) as teapot:
        _post_raw(fp, "/v1/chat/completions", {})
    assert teapot.value.code == 418 and teapot.value.read() == b'{"x": 1}'


def test_hang_triggers_client_timeout(fp: FakeProvider) -> None:
    fp.script(Hang(5))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert len(fp.requests) == 1


def test_hang_then_serves_the_default(fp: FakeProvider, oai: openai.OpenAI) -> None:
    fp.script(Hang(0.05))
    result = oai.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert result.choices[0].message.content == "Hello there."
