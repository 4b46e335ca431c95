"""Anthropic integration: the real SDK over real HTTP against the local fake provider.

Every token family is asserted exactly, for every entry point (create, streamed create, raw
responses, parse, ``.stream()`` consumed each way, beta), sync and async, with each cache shape and
thinking. A call must also yield exactly one span: the SDK's own span is suppressed.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anthropic
import openai
import pydantic
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

import llm_telemetry
from llm_telemetry.testing import (
    Chat,
    Error,
    FakeProvider,
    Hang,
    Message,
    MessageStream,
    Raw,
    anthropic_usage,
    openai_usage,
)

from .conftest import EXPORTER

CLAUDE = "claude-sonnet-4-5-20250929"
HI = [{"role": "user", "content": "hi"}]
REQ: dict[str, Any] = {"model": CLAUDE, "max_tokens": 64, "messages": HI}
BASE = {"provider": "anthropic", "request_model": CLAUDE, "operation": "chat"}
TOKENS = {**BASE, "response_model": CLAUDE}
FAMILIES = ("input", "output", "cache_read", "cache_write", "reasoning")
SPAN_USAGE = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_write": "gen_ai.usage.cache_write.input_tokens",
    "reasoning": "gen_ai.usage.reasoning.output_tokens",
    "cache_write_5m": "llm_telemetry.usage.cache_write_5m.input_tokens",
    "cache_write_1h": "llm_telemetry.usage.cache_write_1h.input_tokens",
}


#: Async tests share the module's event loop, and so one async client (each client builds an SSL context).
module_loop = pytest.mark.asyncio(loop_scope="module")


class Answer(pydantic.BaseModel):
    answer: str


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The session's exporter (conftest): no second processor on the global provider."""
    return EXPORTER


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
def reg(spans: InMemorySpanExporter) -> Iterator[CollectorRegistry]:
    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry)
    yield registry
    llm_telemetry.uninstrument()


@pytest.fixture(scope="module")
def claude(server: FakeProvider) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="x", max_retries=0) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def aclaude(server: FakeProvider) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="x", max_retries=0
    ) as client:
        yield client


# -- helpers --------------------------------------------------------------------------------------


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    found = reg.get_sample_value(name, labels)
    return 0.0 if found is None else found


def tokens(reg: CollectorRegistry, labels: dict[str, str] = TOKENS) -> dict[str, float]:
    return {f: value(reg, f"llm_telemetry_{f}_tokens_total", **labels) for f in FAMILIES}


def requests(reg: CollectorRegistry, stream: bool, outcome: str, labels: dict[str, str] = BASE) -> float:
    return value(reg, "llm_telemetry_requests_total", **labels, stream=str(stream).lower(), outcome=outcome)


def scopes(spans: InMemorySpanExporter) -> list[str | None]:
    return [s.instrumentation_scope and s.instrumentation_scope.name for s in spans.get_finished_spans()]


def only_span(spans: InMemorySpanExporter) -> ReadableSpan:
    """The call's single span: ours, the SDK's own being suppressed."""
    assert scopes(spans) == ["llm_telemetry"]
    return spans.get_finished_spans()[0]


def sse(*events: dict[str, Any]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def message_start(usage: dict[str, Any]) -> dict[str, Any]:
    message = {
        "id": "msg_raw",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": CLAUDE,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return {"type": "message_start", "message": message}


def _create_stream(c: anthropic.Anthropic) -> None:
    for _ in c.messages.create(**REQ, stream=True):
        pass


def _manager_text(c: anthropic.Anthropic) -> None:
    with c.messages.stream(**REQ) as stream:
        for _ in stream.text_stream:
            pass


# -- every entry point, every usage shape ---------------------------------------------------------

Way = Callable[[anthropic.Anthropic, anthropic.AsyncAnthropic], Awaitable[None]]


async def create(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert isinstance(c.messages.create(**REQ), anthropic.types.Message)


async def create_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    stream = c.messages.create(**REQ, stream=True)
    assert isinstance(stream, anthropic.Stream)
    for _ in stream:
        pass


async def raw_create(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert c.messages.with_raw_response.create(**REQ).parse().usage is not None


async def raw_create_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    for _ in c.messages.with_raw_response.create(**REQ, stream=True).parse():
        pass


async def streaming_response(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.messages.with_streaming_response.create(**REQ) as response:
        response.parse()


async def parse(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert c.messages.parse(**REQ, output_format=Answer).parsed_output == Answer(answer="42")


async def stream_events(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.messages.stream(**REQ) as stream:
        for _ in stream:
            pass


async def stream_text(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.messages.stream(**REQ) as stream:
        assert "".join(stream.text_stream) == "Hello"


async def stream_final(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.messages.stream(**REQ) as stream:
        assert stream.get_final_message().model == CLAUDE


async def stream_until_done(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.messages.stream(**REQ) as stream:
        stream.until_done()


async def beta_create(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    c.beta.messages.create(**REQ)


async def beta_create_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    for _ in c.beta.messages.create(**REQ, stream=True):
        pass


async def beta_parse(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert c.beta.messages.parse(**REQ, output_format=Answer).parsed_output == Answer(answer="42")


async def beta_stream_text(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    with c.beta.messages.stream(**REQ) as stream:
        assert "".join(stream.text_stream) == "Hello"


async def acreate(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert isinstance(await ac.messages.create(**REQ), anthropic.types.Message)


async def acreate_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    stream = await ac.messages.create(**REQ, stream=True)
    assert isinstance(stream, anthropic.AsyncStream)
    async for _ in stream:
        pass


async def araw_create(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert (await (await ac.messages.with_raw_response.create(**REQ)).parse()).usage is not None


async def araw_create_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async for _ in await (await ac.messages.with_raw_response.create(**REQ, stream=True)).parse():
        pass


async def astreaming_response(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async with ac.messages.with_streaming_response.create(**REQ) as response:
        await response.parse()


async def aparse(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert (await ac.messages.parse(**REQ, output_format=Answer)).parsed_output == Answer(answer="42")


async def astream_events(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async with ac.messages.stream(**REQ) as stream:
        async for _ in stream:
            pass


async def astream_text(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async with ac.messages.stream(**REQ) as stream:
        assert "".join([t async for t in stream.text_stream]) == "Hello"


async def astream_final(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async with ac.messages.stream(**REQ) as stream:
        assert (await stream.get_final_message()).model == CLAUDE


async def abeta_create(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    await ac.beta.messages.create(**REQ)


async def abeta_create_stream(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async for _ in await ac.beta.messages.create(**REQ, stream=True):
        pass


async def abeta_parse(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    assert (await ac.beta.messages.parse(**REQ, output_format=Answer)).parsed_output == Answer(answer="42")


async def abeta_stream_until_done(c: anthropic.Anthropic, ac: anthropic.AsyncAnthropic) -> None:
    async with ac.beta.messages.stream(**REQ) as stream:
        await stream.until_done()


NON_STREAMED: list[Way] = [
    create,
    raw_create,
    streaming_response,
    parse,
    beta_create,
    beta_parse,
    acreate,
    araw_create,
    astreaming_response,
    aparse,
    abeta_create,
    abeta_parse,
]
STREAMED: list[Way] = [
    create_stream,
    raw_create_stream,
    stream_events,
    stream_text,
    stream_final,
    stream_until_done,
    beta_create_stream,
    beta_stream_text,
    acreate_stream,
    araw_create_stream,
    astream_events,
    astream_text,
    astream_final,
    abeta_create_stream,
    abeta_stream_until_done,
]

#: name -> (usage on the wire, expected families, expected TTL split of cache writes)
CASES: dict[str, tuple[dict[str, Any], dict[str, int | None], tuple[int | None, int | None]]] = {
    "none": (anthropic_usage(12, 3), {"input": 12, "output": 3}, (None, None)),
    "cache_write": (
        anthropic_usage(100, 4, cache_read=0, cache_write=300, cache_write_1h=100),
        {"input": 400, "output": 4, "cache_read": 0, "cache_write": 300},
        (200, 100),
    ),
    "cache_read": (
        anthropic_usage(200, 5, cache_read=1000, cache_write=0),
        {"input": 1200, "output": 5, "cache_read": 1000, "cache_write": 0},
        (0, 0),
    ),
    "both": (
        anthropic_usage(50, 6, cache_read=1000, cache_write=300),
        {"input": 1350, "output": 6, "cache_read": 1000, "cache_write": 300},
        (300, 0),
    ),
    "thinking": (
        anthropic_usage(20, 40, thinking=25),
        {"input": 20, "output": 40, "reasoning": 25},
        (None, None),
    ),
}


@module_loop
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("way", NON_STREAMED + STREAMED, ids=lambda w: w.__name__)
async def test_every_entry_point_counts_every_token_family_exactly(
    way: Way,
    case: str,
    fp: FakeProvider,
    reg: CollectorRegistry,
    spans: InMemorySpanExporter,
    claude: anthropic.Anthropic,
    aclaude: anthropic.AsyncAnthropic,
) -> None:
    usage, expected, (split_5m, split_1h) = CASES[case]
    streamed = way in STREAMED
    thinking = "let me see" if case == "thinking" else None
    if streamed:
        fp.script(MessageStream(chunks=("Hel", "lo"), usage=usage, thinking=thinking))
    else:
        fp.script(Message(content='{"answer": "42"}', usage=usage, thinking=thinking))

    await way(claude, aclaude)

    assert tokens(reg) == {f: float(expected.get(f) or 0) for f in FAMILIES}
    assert requests(reg, streamed, "success") == 1
    assert requests(reg, streamed, "error") == requests(reg, streamed, "cancelled") == 0
    assert value(reg, "llm_telemetry_finish_reasons_total", **BASE, finish_reason="stop") == 1
    assert value(reg, "llm_telemetry_time_to_first_token_seconds_count", **BASE) == (1 if streamed else 0)
    span = only_span(spans)
    attrs = span.attributes or {}
    want = {**expected, "cache_write_5m": split_5m, "cache_write_1h": split_1h}
    assert {k: attrs.get(name) for k, name in SPAN_USAGE.items()} == {k: want.get(k) for k in SPAN_USAGE}
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.response.model"] == CLAUDE
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.request.stream"] is streamed
    assert ("gen_ai.response.time_to_first_chunk" in attrs) is streamed
    assert "error.type" not in attrs


# -- stream usage merging -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta_usage", "expected"),
    [
        # Only the output count: input and cache counts come from message_start.
        ({"output_tokens": 9}, {"input": 1150, "output": 9, "cache_read": 1000, "cache_write": 50}),
        # Restated counts replace message_start's field by field; a null keeps the earlier value.
        (
            {
                "input_tokens": 120,
                "cache_read_input_tokens": 1100,
                "cache_creation_input_tokens": None,
                "output_tokens": 9,
            },
            {"input": 1270, "output": 9, "cache_read": 1100, "cache_write": 50},
        ),
        (
            {
                "input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 50,
                "output_tokens": 30,
                "output_tokens_details": {"thinking_tokens": 21},
            },
            {"input": 1150, "output": 30, "cache_read": 1000, "cache_write": 50, "reasoning": 21},
        ),
    ],
)
def test_message_delta_usage_is_cumulative_and_merged_by_field(
    delta_usage: dict[str, Any],
    expected: dict[str, int],
    fp: FakeProvider,
    reg: CollectorRegistry,
    claude: anthropic.Anthropic,
) -> None:
    usage = anthropic_usage(100, 30, cache_read=1000, cache_write=50)
    fp.script(MessageStream(usage=usage, delta_usage=delta_usage))
    for _ in claude.messages.create(**REQ, stream=True):
        pass
    assert tokens(reg) == {f: float(expected.get(f, 0)) for f in FAMILIES}


def test_several_message_deltas_overwrite_never_add(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    body = sse(
        message_start({"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 4}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {
                "output_tokens": 7,
                "cache_creation_input_tokens": 3,
                "cache_creation": {"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 2},
            },
        },
        {"type": "message_stop"},
    )
    fp.script(Raw(content_type="text/event-stream", body=body))
    with claude.messages.stream(**REQ) as stream:
        assert stream.get_final_text() == "Hi"
    assert tokens(reg) == {
        "input": 18.0,
        "output": 7.0,
        "cache_read": 5.0,
        "cache_write": 3.0,
        "reasoning": 0.0,
    }
    attrs = only_span(spans).attributes or {}
    # The TTL split came only with message_delta, where the SDK keeps it as an undeclared field.
    assert attrs["llm_telemetry.usage.cache_write_5m.input_tokens"] == 1
    assert attrs["llm_telemetry.usage.cache_write_1h.input_tokens"] == 2


def test_deltas_without_output_do_not_start_the_answer(
    fp: FakeProvider, reg: CollectorRegistry, claude: anthropic.Anthropic
) -> None:
    body = sse(
        message_start({"input_tokens": 10, "output_tokens": 1}),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "redacted_thinking", "data": "x"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "s"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    )
    fp.script(Raw(content_type="text/event-stream", body=body))
    _create_stream(claude)
    assert requests(reg, True, "success") == 1
    assert value(reg, "llm_telemetry_time_to_first_token_seconds_count", **BASE) == 0


# -- ends other than success ----------------------------------------------------------------------


def test_early_break_out_of_text_stream_cancels_once(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    fp.script(MessageStream(chunks=("a", "b", "c"), usage=anthropic_usage(200, 3, cache_read=1000)))
    with claude.messages.stream(**REQ) as stream:
        for _ in stream.text_stream:
            break
    gc.collect()
    assert llm_telemetry.flush()
    assert requests(reg, True, "cancelled") == 1
    assert requests(reg, True, "success") == requests(reg, True, "error") == 0
    assert tokens(reg)["input"] == 1200  # message_start was seen: its input is billed
    span = only_span(spans)
    assert (span.attributes or {})["llm_telemetry.outcome"] == "cancelled"


@module_loop
async def test_async_early_break_out_of_text_stream_cancels_once(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, aclaude: anthropic.AsyncAnthropic
) -> None:
    fp.script(MessageStream(chunks=("a", "b", "c"), usage=anthropic_usage(200, 3, cache_read=1000)))
    async with aclaude.messages.stream(**REQ) as stream:
        async for _ in stream.text_stream:
            break
    gc.collect()
    assert llm_telemetry.flush()
    assert requests(reg, True, "cancelled") == 1
    assert requests(reg, True, "success") == requests(reg, True, "error") == 0
    assert tokens(reg)["input"] == 1200
    only_span(spans)


@pytest.mark.parametrize("consume", [_create_stream, _manager_text])
def test_stream_cut_after_message_start_still_counts_input(
    consume: Callable[[anthropic.Anthropic], None],
    fp: FakeProvider,
    reg: CollectorRegistry,
    spans: InMemorySpanExporter,
    claude: anthropic.Anthropic,
) -> None:
    fp.script(MessageStream(usage=anthropic_usage(200, 9, cache_read=1000, cache_write=0), die_after=2))
    with pytest.raises(Exception) as raised:
        consume(claude)
    assert type(raised.value).__name__ == "RemoteProtocolError"
    assert requests(reg, True, "error") == 1
    assert value(reg, "llm_telemetry_errors_total", **BASE, error_type="stream_interrupted") == 1
    # message_start's counts: output_tokens there is what had been generated (1), not the final 9.
    assert tokens(reg) == {
        "input": 1200.0,
        "output": 1.0,
        "cache_read": 1000.0,
        "cache_write": 0.0,
        "reasoning": 0.0,
    }
    assert value(reg, "llm_telemetry_usage_missing_total", **BASE, reason="interrupted") == 0
    attrs = only_span(spans).attributes or {}
    assert attrs["error.type"] == "stream_interrupted"
    assert attrs["gen_ai.usage.input_tokens"] == 1200


def test_overloaded_error_event_mid_stream(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    body = sse(
        message_start({"input_tokens": 30, "cache_read_input_tokens": 0, "output_tokens": 1}),
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    fp.script(Raw(content_type="text/event-stream", body=body))
    with pytest.raises(anthropic.APIStatusError):
        _create_stream(claude)
    assert value(reg, "llm_telemetry_errors_total", **BASE, error_type="overloaded") == 1
    assert tokens(reg)["input"] == 30
    assert (only_span(spans).attributes or {})["error.type"] == "overloaded"


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [
        (Error(529), "overloaded"),
        (Error(429), "rate_limit"),
        (Error(500), "server"),
        (Error(401), "auth"),
        (
            Error(
                400,
                body={
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "prompt is too long: 210000 tokens > 200000",
                    },
                },
            ),
            "context_length",
        ),
    ],
)
def test_http_errors_map_onto_error_type(
    reply: Error,
    error_type: str,
    fp: FakeProvider,
    reg: CollectorRegistry,
    spans: InMemorySpanExporter,
    claude: anthropic.Anthropic,
) -> None:
    fp.script(reply)
    with pytest.raises(anthropic.APIStatusError):
        claude.messages.create(**REQ)
    assert requests(reg, False, "error") == 1
    assert value(reg, "llm_telemetry_errors_total", **BASE, error_type=error_type) == 1
    span = only_span(spans)
    assert (span.attributes or {})["error.type"] == error_type
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize(
    ("stop_reason", "label"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "refusal"),
        ("pause_turn", "other"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
def test_finish_reasons(
    stop_reason: str,
    label: str,
    streamed: bool,
    fp: FakeProvider,
    reg: CollectorRegistry,
    spans: InMemorySpanExporter,
    claude: anthropic.Anthropic,
) -> None:
    if streamed:
        fp.script(MessageStream(stop_reason=stop_reason))
        _create_stream(claude)
    else:
        fp.script(Message(stop_reason=stop_reason))
        claude.messages.create(**REQ)
    assert value(reg, "llm_telemetry_finish_reasons_total", **BASE, finish_reason=label) == 1
    assert (only_span(spans).attributes or {})["gen_ai.response.finish_reasons"] == (stop_reason,)


# -- SDK retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "error_type"),
    [(Error(529), "overloaded"), (Error(429), "rate_limit"), (Error(503), "server"), (Hang(2.0), "timeout")],
)
def test_sdk_retry_is_counted_with_its_reason(
    failure: Error | Hang,
    error_type: str,
    fp: FakeProvider,
    reg: CollectorRegistry,
    spans: InMemorySpanExporter,
) -> None:
    fp.script(failure, Message())
    with anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=2, timeout=0.3) as c:
        c.messages.create(**REQ)
    assert len(fp.requests) == 2
    assert value(reg, "llm_telemetry_retries_total", **BASE, error_type=error_type) == 1
    assert requests(reg, False, "success") == 1
    assert requests(reg, False, "error") == 0
    span = only_span(spans)
    assert [(e.name, (e.attributes or {})["error.type"]) for e in span.events] == [("retry", error_type)]


@module_loop
async def test_async_stream_manager_retry_after_overloaded(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter
) -> None:
    fp.script(Error(529), MessageStream())
    async with (
        anthropic.AsyncAnthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=2) as ac,
        ac.messages.stream(**REQ) as stream,
    ):
        await stream.until_done()
    assert value(reg, "llm_telemetry_retries_total", **BASE, error_type="overloaded") == 1
    assert requests(reg, True, "success") == 1
    assert tokens(reg)["input"] == 12
    only_span(spans)


# -- what is not a request, and who the provider is -----------------------------------------------


def test_count_tokens_is_not_a_request(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    fp.script(Raw(body='{"input_tokens": 12}'))
    assert claude.messages.count_tokens(model=CLAUDE, messages=HI).input_tokens == 12  # type: ignore[arg-type]
    assert all(
        sample.value == 0
        for family in reg.collect()
        if family.name == "llm_telemetry_requests"
        for sample in family.samples
    )
    # Nothing of ours owns the call, so the SDK's own span is left as it is.
    assert [s.name for s in spans.get_finished_spans()] == ["anthropic.messages.count_tokens"]


def test_bedrock_and_vertex_clients_name_their_provider(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter
) -> None:
    bedrock_model, vertex_model = "anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5@20250929"
    fp.script(Message(), Message(), MessageStream())
    bedrock = anthropic.AnthropicBedrock(
        aws_access_key="a", aws_secret_key="b", aws_region="us-east-1", base_url=fp.url, max_retries=0
    )
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token="t", base_url=fp.url, max_retries=0
    )
    bedrock.messages.create(**{**REQ, "model": bedrock_model})
    vertex.messages.create(**{**REQ, "model": vertex_model})
    with vertex.messages.stream(**{**REQ, "model": vertex_model}) as stream:
        stream.until_done()
    for provider, model, stream_ in (
        ("aws.bedrock", bedrock_model, False),
        ("gcp.vertex_ai", vertex_model, False),
        ("gcp.vertex_ai", vertex_model, True),
    ):
        labels = {"provider": provider, "request_model": model, "operation": "chat"}
        assert requests(reg, stream_, "success", labels) == 1
    assert (
        value(
            reg,
            "llm_telemetry_input_tokens_total",
            provider="aws.bedrock",
            request_model=bedrock_model,
            operation="chat",
            response_model=CLAUDE,
        )
        == 12
    )
    providers = [(s.attributes or {})["gen_ai.provider.name"] for s in spans.get_finished_spans()]
    assert providers == ["aws.bedrock", "gcp.vertex_ai", "gcp.vertex_ai"]


def test_same_request_counts_the_same_on_openai_and_anthropic(
    fp: FakeProvider, reg: CollectorRegistry
) -> None:
    """1000 cached + 200 fresh input tokens: OpenAI reports the total, Anthropic the parts."""
    gpt = "gpt-4o-2024-08-06"
    fp.script(
        Chat(model=gpt, usage=openai_usage(1200, 10, cached=1000)),
        Message(usage=anthropic_usage(200, 10, cache_read=1000, cache_write=0)),
    )
    with openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0) as oai:
        oai.chat.completions.create(model=gpt, messages=HI)  # type: ignore[arg-type]
    with anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x", max_retries=0) as claude:
        claude.messages.create(**REQ)
    oai_counts = tokens(
        reg, {"provider": "openai", "request_model": gpt, "operation": "chat", "response_model": gpt}
    )
    claude_counts = tokens(reg)
    assert oai_counts["input"] == claude_counts["input"] == 1200
    assert oai_counts["cache_read"] == claude_counts["cache_read"] == 1000


# -- the SDK's own spans --------------------------------------------------------------------------


def test_sdk_span_is_suppressed_but_trace_context_still_propagates(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    fp.script(Message(), MessageStream())
    claude.messages.create(**REQ)
    with claude.messages.stream(**REQ) as stream:
        stream.until_done()
    finished = spans.get_finished_spans()
    assert scopes(spans) == ["llm_telemetry", "llm_telemetry"]
    for span, request in zip(finished, fp.requests, strict=True):
        assert span.context is not None
        _, trace_id, span_id, _ = request.headers["traceparent"].split("-")
        assert (trace_id, span_id) == (f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")


def test_sdk_span_kept_as_a_child_when_not_suppressed(
    fp: FakeProvider, reg: CollectorRegistry, spans: InMemorySpanExporter, claude: anthropic.Anthropic
) -> None:
    llm_telemetry.instrument(registry=reg, suppress_sdk_spans=False)
    fp.script(Message())
    claude.messages.create(**REQ)
    sdk, ours = sorted(spans.get_finished_spans(), key=lambda s: s.name)
    assert (sdk.name, ours.name) == ("anthropic.messages.create", f"chat {CLAUDE}")
    assert sdk.parent is not None and ours.context is not None
    assert sdk.parent.span_id == ours.context.span_id


def test_uninstrument_restores_every_original() -> None:
    from anthropic import _base_client
    from anthropic.resources import messages
    from anthropic.resources.beta import messages as beta

    owners: list[Any] = [messages.Messages, messages.AsyncMessages, beta.Messages, beta.AsyncMessages]
    targets = [(o, n) for o in owners for n in ("create", "parse", "stream", "count_tokens")]
    targets += [
        (_base_client.SyncAPIClient, "_sleep_for_retry"),
        (_base_client.AsyncAPIClient, "_sleep_for_retry"),
        (_base_client, "start_api_call_span"),
    ]
    before = [vars(o)[n] for o, n in targets]
    llm_telemetry.instrument(registry=CollectorRegistry())
    try:
        hooked = [vars(o)[n] is not b for (o, n), b in zip(targets, before, strict=True)]
        assert [n for (_, n), h in zip(targets, hooked, strict=True) if not h] == ["count_tokens"] * 4
    finally:
        llm_telemetry.uninstrument()
    assert all(vars(o)[n] is b for (o, n), b in zip(targets, before, strict=True))
