"""OpenAI integration end to end: the real ``openai`` SDK (2.x or 3.x) over real HTTP to the FakeProvider.

Every path runs sync and async through the ``sdk`` fixture; :func:`check` asserts the exact value of
every Prometheus family and span attribute the contract names for the one request a test makes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import json
import os
import re
import sys
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

import openai
import pydantic
import pytest
import pytest_asyncio
import wrapt
from openai import _base_client
from openai.lib.streaming import chat as chat_helpers
from openai.lib.streaming import responses as responses_helpers
from openai.resources import completions as text_completions
from openai.resources import embeddings
from openai.resources.chat import completions as chat_completions
from openai.resources.responses import responses
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import llm_telemetry
from llm_telemetry.integrations.openai import ChatState, ResponsesState, provider_of
from llm_telemetry.pricing import Pricer
from llm_telemetry.record.labels import Admission
from llm_telemetry.record.metrics import PrometheusWriter
from llm_telemetry.testing import (
    Chat,
    ChatStream,
    Completion,
    Embeddings,
    Error,
    FakeProvider,
    Hang,
    Raw,
    Reply,
    Responses,
    ResponsesStream,
    openai_usage,
    responses_usage,
)

if TYPE_CHECKING:
    from tests.conftest import Telemetry

MODEL, SNAPSHOT = "gpt-4o-mini", "gpt-4o-mini-2024-07-18"
RMODEL, RSNAPSHOT = "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"
LEGACY = "gpt-3.5-turbo-instruct"
EMBED = "text-embedding-3-small"
HI: Any = [{"role": "user", "content": "hi"}]
OPENAI_DIR = os.path.dirname(openai.__file__) + os.sep
TELEMETRY_DIR = os.path.dirname(llm_telemetry.__file__) + os.sep
TOKEN_FAMILIES = ("input", "output", "cache_read", "cache_write", "reasoning")
USAGE_ATTRIBUTES = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_write": "gen_ai.usage.cache_write.input_tokens",
    "reasoning": "gen_ai.usage.reasoning.output_tokens",
}


def _http_library() -> Any:
    """The HTTP library this openai major runs on: ``httpx`` (2.x) or ``httpx2`` (3.x)."""
    base = next(c for c in openai.DefaultHttpxClient.__mro__ if not c.__module__.startswith("openai"))
    return sys.modules[base.__module__.split(".")[0]]


#: What a stream cut by the server raises from the caller's loop: the HTTP library's error, which older
#: SDKs let escape, or the SDK's ``APIConnectionError`` wrapping it (openai >= 3.5x).
BROKEN_STREAM: tuple[type[BaseException], ...] = (
    _http_library().RemoteProtocolError,
    openai.APIConnectionError,
)

# The SDK methods the integration hooks, as they were before anything was instrumented.
_HOOKED = [
    (chat_completions.Completions, "create"),
    (chat_completions.Completions, "parse"),
    (chat_completions.AsyncCompletions, "create"),
    (chat_completions.AsyncCompletions, "parse"),
    (responses.Responses, "create"),
    (responses.AsyncResponses, "create"),
    (text_completions.Completions, "create"),
    (text_completions.AsyncCompletions, "create"),
    (embeddings.Embeddings, "create"),
    (embeddings.AsyncEmbeddings, "create"),
    (_base_client.SyncAPIClient, "_sleep_for_retry"),
    (_base_client.AsyncAPIClient, "_sleep_for_retry"),
    (chat_helpers.ChatCompletionStream, "close"),
    (chat_helpers.AsyncChatCompletionStream, "close"),
    (responses_helpers.ResponseStream, "close"),
    (responses_helpers.AsyncResponseStream, "close"),
]


def _original(cls: type, name: str) -> Any:
    """The SDK's own attribute, even if something was instrumented before this module was imported."""
    value = vars(cls)[name]
    while isinstance(value, wrapt.FunctionWrapper):
        value = value.__wrapped__
    return value


ORIGINALS = {(cls, name): _original(cls, name) for cls, name in _HOOKED}


class Answer(pydantic.BaseModel):
    """A structured-output schema for ``parse``."""

    value: int


# -- what a finished request must have recorded ---------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """Provider-reported usage in the contract's meaning; None: the field was not reported."""

    input: int | None
    output: int | None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None


@dataclass(frozen=True)
class Expect:
    """Everything one finished request records (defaults: a plain successful chat completion)."""

    request_model: str = MODEL
    response_model: str | None = SNAPSHOT
    response_id: str | None = None
    operation: str = "chat"
    provider: str = "openai"
    stream: bool = False
    outcome: str = "success"
    tokens: Tokens | None = Tokens(12, 3)
    finish_reasons: tuple[str, ...] = ("stop",)
    missing: str | None = None
    error_type: str | None = None
    retries: tuple[str, ...] = ()
    first_token: bool = False
    priced: bool = True
    internal_errors: dict[str, int] = field(default_factory=dict)
    span_extra: dict[str, Any] = field(default_factory=dict)


Labels = frozenset[tuple[str, str]]
#: The contract's closed finish-reason set (OpenAI's raw values used here map onto themselves).
FINISH_LABELS = ("stop", "length", "tool_calls", "content_filter", "refusal")


def family(t: Telemetry, name: str) -> dict[Labels, float]:
    """Every series of one sample name, keyed by its full label set."""
    return {frozenset(labels.items()): value for labels, value in t.samples(name)}


def live(t: Telemetry, name: str, base: dict[str, str] | None = None) -> dict[Labels, float]:
    """The non-zero series of one sample name; any series pre-created at zero must carry ``base``."""
    series = family(t, name)
    for labels in series:
        assert base is None or frozenset(base.items()) <= labels, (name, labels)
    return {labels: value for labels, value in series.items() if value}


def key(base: dict[str, str], **extra: str) -> Labels:
    """A full label set: the base labels plus a family's own."""
    return frozenset({**base, **extra}.items())


def check(t: Telemetry, fp: FakeProvider, e: Expect) -> ReadableSpan:
    """Assert every family and the one span of the single request made; returns the span."""
    base = {"provider": e.provider, "request_model": e.request_model, "operation": e.operation}
    stream = str(e.stream).lower()
    outcomes = ("success", "error", "cancelled")
    # Created at zero on first sight (contract), so the full set is exact.
    assert family(t, "llm_telemetry_requests_total") == {
        key(base, stream=stream, outcome=o): float(o == e.outcome) for o in outcomes
    }
    errors = live(t, "llm_telemetry_errors_total", base)
    assert errors == ({key(base, error_type=e.error_type): 1.0} if e.error_type else {})
    assert sum(errors.values()) == t.value("llm_telemetry_requests_total", outcome="error")
    retries = collections.Counter(e.retries)
    assert live(t, "llm_telemetry_retries_total", base) == {
        key(base, error_type=r): float(n) for r, n in retries.items()
    }
    response_model = (e.response_model or e.request_model).lower()
    for name in TOKEN_FAMILIES:
        tokens = f"llm_telemetry_{name}_tokens_total"
        if e.tokens is None:
            assert live(t, tokens, base) == {}, name
        elif e.operation == "embeddings" and name != "input":  # cannot apply: never pre-created
            assert family(t, tokens) == {}, name
        else:  # reported: the series exists, zero included
            value = float(getattr(e.tokens, name) or 0)
            assert family(t, tokens) == {key(base, response_model=response_model): value}, name
    missing = live(t, "llm_telemetry_usage_missing_total", base)
    assert missing == ({key(base, reason=e.missing): 1.0} if e.missing else {})
    finish = collections.Counter(r if r in FINISH_LABELS else "other" for r in e.finish_reasons)
    assert live(t, "llm_telemetry_finish_reasons_total", base) == {
        key(base, finish_reason=r): float(n) for r, n in finish.items()
    }
    assert family(t, "llm_telemetry_request_duration_seconds_count") == {key(base, stream=stream): 1.0}
    # Time to first token can only be observed on streams: no series at all for the others.
    ttft = {key(base): float(e.first_token)} if e.stream else {}
    assert family(t, "llm_telemetry_time_to_first_token_seconds_count") == ttft
    assert family(t, "llm_telemetry_in_flight_requests") == {key(base): 0.0}
    assert live(t, "llm_telemetry_unpriced_requests_total", base) == {}
    assert live(t, "llm_telemetry_internal_errors_total") == {
        frozenset({("stage", s)}): float(n) for s, n in e.internal_errors.items()
    }

    spans = t.spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    assert span.name == f"{e.operation} {e.request_model}"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs.pop("gen_ai.system", e.provider) == e.provider  # legacy name, unless opted out
    ttft = attrs.pop("gen_ai.response.time_to_first_chunk", None)
    cost = attrs.pop("llm_telemetry.cost.usd", None)
    assert attrs.pop("llm.cost.usd", None) == cost  # the old name, kept for one minor version
    assert attrs.pop("llm_telemetry.cost.source", None) == (None if cost is None else "computed")
    expected: dict[str, Any] = {
        "gen_ai.operation.name": e.operation,
        "gen_ai.provider.name": e.provider,
        "gen_ai.request.model": e.request_model,
        "gen_ai.request.stream": e.stream,
        "server.address": "127.0.0.1",
        "server.port": int(fp.url.rsplit(":", 1)[1]),
        **e.span_extra,
    }
    if e.response_model is not None:
        expected["gen_ai.response.model"] = e.response_model
    if e.response_id is not None:
        expected["gen_ai.response.id"] = e.response_id
    if e.finish_reasons:
        expected["gen_ai.response.finish_reasons"] = e.finish_reasons
    if e.tokens is not None:
        for name, attribute in USAGE_ATTRIBUTES.items():
            if getattr(e.tokens, name) is not None:
                expected[attribute] = getattr(e.tokens, name)
        if e.tokens.cache_write is not None:
            expected["gen_ai.usage.cache_creation.input_tokens"] = e.tokens.cache_write
    if e.retries:
        expected["llm_telemetry.retries"] = len(e.retries)
    if e.outcome == "cancelled":
        expected["llm_telemetry.outcome"] = "cancelled"
    if e.error_type is not None:
        expected["error.type"] = e.error_type
    assert attrs == expected
    if e.first_token:
        assert isinstance(ttft, float) and ttft > 0
        assert t.value("llm_telemetry_time_to_first_token_seconds_sum") == ttft
    else:
        assert ttft is None
    if e.tokens is not None and e.priced:
        assert isinstance(cost, float) and cost > 0
        assert cost == pytest.approx(t.value("llm_telemetry_cost_usd_total"), rel=1e-9)
    else:
        assert cost is None
        assert t.value("llm_telemetry_cost_usd_total") == 0
    assert [(ev.name, dict(ev.attributes or {})) for ev in span.events] == [
        ("retry", {"error.type": r, "retry.attempt": i}) for i, r in enumerate(e.retries, 1)
    ]
    if e.error_type is None:
        assert span.status.status_code is StatusCode.UNSET
    else:
        assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, e.error_type)
    return span


# -- driving the SDK the same way sync and async --------------------------------------------------


class Sdk:
    """One sync or async client, and helpers that drive it identically in both modes."""

    def __init__(self, fp: FakeProvider, is_async: bool, client: Any) -> None:
        self.fp = fp
        self.is_async = is_async
        self.client = client
        self._owned: list[Any] = []

    def new_client(self, **options: Any) -> Any:
        """A further client of this mode on the fake (closed at teardown)."""
        cls = openai.AsyncOpenAI if self.is_async else openai.OpenAI
        options.setdefault("max_retries", 0)
        client = cls(base_url=self.fp.openai_base_url, api_key="x", **options)
        self._owned.append(client)
        return client

    def own(self, client: Any) -> Any:
        """Close ``client`` at teardown."""
        self._owned.append(client)
        return client

    async def call(self, fn: Callable[[Any], Any], client: Any = None) -> Any:
        """``fn(client)``, awaited in async mode."""
        result = fn(self.client if client is None else client)
        return await result if self.is_async else result

    async def items(
        self, stream: Any, limit: int | None = None, until: Callable[[Any], bool] | None = None
    ) -> list[Any]:
        """What a caller's loop sees: all items, or up to the ``limit``-th / first ``until`` one."""
        seen: list[Any] = []

        def done(item: Any) -> bool:
            seen.append(item)
            return len(seen) == limit or (until is not None and until(item))

        if self.is_async:
            async for item in stream:
                if done(item):
                    break
        else:
            for item in stream:
                if done(item):
                    break
        return seen

    async def close(self, stream: Any) -> None:
        """``stream.close()``, awaited in async mode."""
        if self.is_async:
            await stream.close()
        else:
            stream.close()

    async def helper(self, fn: Callable[[Any], Any], final: str) -> tuple[list[Any], Any]:
        """Run a ``.stream()`` helper to its end: (its events, the result of its ``final`` method)."""
        manager = fn(self.client)
        if self.is_async:
            async with manager as s:
                events = [event async for event in s]
                return events, await getattr(s, final)()
        with manager as s:
            events = list(s)
            return events, getattr(s, final)()

    async def streaming_response(self, fn: Callable[[Any], Any]) -> tuple[Any, Any, bytes | None]:
        """``with_streaming_response``: (response, ``parse()`` drained, raw body unless streamed)."""
        manager = fn(self.client)
        if self.is_async:
            async with manager as response:
                parsed = await response.parse()
                if isinstance(parsed, openai.AsyncStream):
                    return response, [x async for x in parsed], None
                return response, parsed, await response.read()
        with manager as response:
            parsed = response.parse()
            if isinstance(parsed, openai.Stream):
                return response, list(parsed), None
            return response, parsed, response.read()

    async def aclose(self) -> None:
        """Close the clients this driver made."""
        for client in self._owned:
            if self.is_async:
                await client.close()
            else:
                client.close()


#: One event loop for the module, so one async client (and its connection pool) serves every test.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def fp() -> Iterator[FakeProvider]:
    """One fake provider for the module (each test starts with an empty script)."""
    gc.freeze()  # what exists now is never garbage: keeps the tests' gc.collect() calls cheap
    try:
        with FakeProvider() as provider:
            yield provider
    finally:
        gc.unfreeze()


@pytest.fixture(scope="module")
def sync_client(fp: FakeProvider) -> Iterator[openai.OpenAI]:
    """The module's ``openai.OpenAI``."""
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    yield client
    client.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def async_client(fp: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    """The module's ``openai.AsyncOpenAI``."""
    client = openai.AsyncOpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    yield client
    await client.close()


@pytest.fixture(autouse=True)
def _fresh_script(fp: FakeProvider) -> Iterator[None]:
    """Each test scripts its own replies, and consumes all of them."""
    fp.reset()
    yield
    assert fp.pending == 0, "a scripted reply was not consumed"


@pytest_asyncio.fixture(params=["sync", "async"], loop_scope="module")
async def sdk(
    request: pytest.FixtureRequest,
    fp: FakeProvider,
    sync_client: openai.OpenAI,
    async_client: openai.AsyncOpenAI,
) -> AsyncIterator[Sdk]:
    """The same test over ``openai.OpenAI`` and ``openai.AsyncOpenAI``."""
    driver = Sdk(fp, True, async_client) if request.param == "async" else Sdk(fp, False, sync_client)
    yield driver
    await driver.aclose()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without a retry-after header (timeouts) back off for 1 ms instead of 0.5 s."""
    monkeypatch.setattr(_base_client, "INITIAL_RETRY_DELAY", 0.001)


@contextlib.contextmanager
def uninstrumented(t: Telemetry, **options: Any) -> Iterator[None]:
    """Run a baseline without instrumentation, then instrument again on the same registry."""
    llm_telemetry.uninstrument()
    try:
        yield
    finally:
        llm_telemetry.instrument(registry=t.registry, **options)


_VOLATILE = re.compile(r'("(?:created|created_at|completed_at)": )\d+|(msg_fake)\d+')


def dumps(items: list[Any]) -> list[tuple[type, str, str]]:
    """What a caller can observe of stream items, less wall-clock seconds and the fake's fresh item ids."""

    def norm(data: Any) -> str:
        return _VOLATILE.sub(r"\1\2", json.dumps(data, sort_keys=True))

    return [(type(i), norm(i.to_dict()), norm(i.model_dump(mode="json"))) for i in items]


# -- every non-streamed path ----------------------------------------------------------------------


async def test_chat_create(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Chat(id="chatcmpl-1"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, temperature=0.5))
    assert type(result) is openai.types.chat.ChatCompletion
    assert result.choices[0].message.content == "Hello there."
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-1", span_extra={"gen_ai.request.temperature": 0.5}))


async def test_chat_tool_call(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(
        Chat(id="chatcmpl-2", tool_call=True, content='{"city": "Paris"}', finish_reason="tool_calls")
    )
    tools: Any = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, tools=tools))
    assert type(result) is openai.types.chat.ChatCompletion
    tool_calls = result.choices[0].message.tool_calls
    assert tool_calls is not None and len(tool_calls) == 1
    call: Any = tool_calls[0]
    assert (call.type, call.function.name, call.function.arguments) == (
        "function",
        "weather",
        '{"city": "Paris"}',
    )
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-2", finish_reasons=("tool_calls",)))


async def test_chat_parse(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Chat(id="chatcmpl-3", content='{"value": 42}'))
    result = await sdk.call(
        lambda c: c.chat.completions.parse(model=MODEL, messages=HI, response_format=Answer)
    )
    assert isinstance(result, openai.types.chat.ParsedChatCompletion)
    assert result.choices[0].message.parsed == Answer(value=42)
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-3"))
    assert sdk.fp.requests[0].body["response_format"]["type"] == "json_schema"


async def test_responses_create(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Responses(id="resp_1"))
    result = await sdk.call(lambda c: c.responses.create(model=RMODEL, input="hi", max_output_tokens=50))
    assert type(result) is openai.types.responses.Response
    assert result.output_text == "Hello there."
    check(
        telemetry,
        sdk.fp,
        Expect(
            request_model=RMODEL,
            response_model=RSNAPSHOT,
            response_id="resp_1",
            span_extra={"gen_ai.request.max_tokens": 50},
        ),
    )


async def test_responses_parse(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Responses(id="resp_2", content='{"value": 7}'))
    result = await sdk.call(lambda c: c.responses.parse(model=RMODEL, input="hi", text_format=Answer))
    assert isinstance(result, openai.types.responses.ParsedResponse)
    assert result.output_parsed == Answer(value=7)
    check(telemetry, sdk.fp, Expect(request_model=RMODEL, response_model=RSNAPSHOT, response_id="resp_2"))


async def test_responses_incomplete_is_length(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Responses(id="resp_3", status="incomplete"))
    result = await sdk.call(lambda c: c.responses.create(model=RMODEL, input="hi"))
    assert result.status == "incomplete"
    expect = Expect(
        request_model=RMODEL, response_model=RSNAPSHOT, response_id="resp_3", finish_reasons=("length",)
    )
    check(telemetry, sdk.fp, expect)


async def test_legacy_completion(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Completion(id="cmpl-1", finish_reason="length"))
    result = await sdk.call(lambda c: c.completions.create(model=LEGACY, prompt="hi"))
    assert type(result) is openai.types.Completion
    expect = Expect(
        request_model=LEGACY,
        response_model=LEGACY,
        response_id="cmpl-1",
        operation="text_completion",
        tokens=Tokens(5, 3),
        finish_reasons=("length",),
    )
    check(telemetry, sdk.fp, expect)


async def test_embeddings(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Embeddings(prompt_tokens=7))
    result = await sdk.call(lambda c: c.embeddings.create(model=EMBED, input=["a", "b"]))
    assert type(result) is openai.types.CreateEmbeddingResponse
    assert len(result.data) == 2
    expect = Expect(
        request_model=EMBED,
        response_model=EMBED,
        operation="embeddings",
        tokens=Tokens(7, None),
        finish_reasons=(),
    )
    check(telemetry, sdk.fp, expect)


async def test_with_raw_response(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Chat(id="chatcmpl-4"))
    raw = await sdk.call(lambda c: c.chat.completions.with_raw_response.create(model=MODEL, messages=HI))
    assert type(raw) is openai._legacy_response.LegacyAPIResponse
    assert raw.headers["x-request-id"].startswith("req_fake")
    parsed = raw.parse()
    assert type(parsed) is openai.types.chat.ChatCompletion
    assert parsed.id == "chatcmpl-4"
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-4"))


async def test_with_raw_response_stream(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-5"))
    raw = await sdk.call(
        lambda c: c.chat.completions.with_raw_response.create(model=MODEL, messages=HI, stream=True)
    )
    assert type(raw) is openai._legacy_response.LegacyAPIResponse
    stream = raw.parse()
    assert isinstance(stream, openai.AsyncStream if sdk.is_async else openai.Stream)
    chunks = await sdk.items(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hel", "lo", None]
    expect = Expect(response_id="chatcmpl-5", stream=True, tokens=Tokens(12, 2), first_token=True)
    check(telemetry, sdk.fp, expect)


async def test_with_streaming_response(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Chat(id="chatcmpl-6"))
    response, parsed, body = await sdk.streaming_response(
        lambda c: c.chat.completions.with_streaming_response.create(model=MODEL, messages=HI)
    )
    assert type(response) is (
        openai._response.AsyncAPIResponse if sdk.is_async else openai._response.APIResponse
    )
    assert type(parsed) is openai.types.chat.ChatCompletion
    assert body is not None and json.loads(body)["id"] == "chatcmpl-6"  # the caller can still read the body
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-6"))


async def test_with_streaming_response_stream(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-7"))
    response, chunks, _ = await sdk.streaming_response(
        lambda c: c.chat.completions.with_streaming_response.create(model=MODEL, messages=HI, stream=True)
    )
    assert type(response) is (
        openai._response.AsyncAPIResponse if sdk.is_async else openai._response.APIResponse
    )
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hel", "lo", None]
    expect = Expect(response_id="chatcmpl-7", stream=True, tokens=Tokens(12, 2), first_token=True)
    check(telemetry, sdk.fp, expect)


# -- every streamed path --------------------------------------------------------------------------


async def test_chat_stream(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-8", chunks=("a", "b", "c")))
    stream = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert isinstance(stream, openai.AsyncStream if sdk.is_async else openai.Stream)
    chunks = await sdk.items(stream)
    assert all(type(c) is openai.types.chat.ChatCompletionChunk for c in chunks)
    assert [c.choices[0].delta.content for c in chunks] == ["", "a", "b", "c", None]
    expect = Expect(response_id="chatcmpl-8", stream=True, tokens=Tokens(12, 2), first_token=True)
    check(telemetry, sdk.fp, expect)
    assert telemetry.value("llm_telemetry_time_per_output_token_seconds_count") == 1


async def test_chat_stream_helper_counted_once(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-9"))
    events, final = await sdk.helper(
        lambda c: c.chat.completions.stream(model=MODEL, messages=HI), "get_final_completion"
    )
    assert [e.delta for e in events if e.type == "content.delta"] == ["", "Hel", "lo"]
    assert final.choices[0].message.content == "Hello"
    assert final.usage is None  # as uninstrumented: the injected usage chunk is not shown to the helper
    assert len(sdk.fp.requests) == 1
    expect = Expect(response_id="chatcmpl-9", stream=True, tokens=Tokens(12, 2), first_token=True)
    check(telemetry, sdk.fp, expect)


async def test_responses_stream(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ResponsesStream(id="resp_4"))
    stream = await sdk.call(lambda c: c.responses.create(model=RMODEL, input="hi", stream=True))
    assert isinstance(stream, openai.AsyncStream if sdk.is_async else openai.Stream)
    events = await sdk.items(stream)
    assert [e.type for e in events][-1] == "response.completed"
    assert "stream_options" not in sdk.fp.requests[0].body
    expect = Expect(
        request_model=RMODEL,
        response_model=RSNAPSHOT,
        response_id="resp_4",
        stream=True,
        tokens=Tokens(12, 2),
        first_token=True,
    )
    check(telemetry, sdk.fp, expect)


async def test_responses_stream_helper_counted_once(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ResponsesStream(id="resp_5"))
    events, final = await sdk.helper(
        lambda c: c.responses.stream(model=RMODEL, input="hi"), "get_final_response"
    )
    assert events[-1].type == "response.completed"
    assert final.output_text == "Hello"
    assert len(sdk.fp.requests) == 1
    expect = Expect(
        request_model=RMODEL,
        response_model=RSNAPSHOT,
        response_id="resp_5",
        stream=True,
        tokens=Tokens(12, 2),
        first_token=True,
    )
    check(telemetry, sdk.fp, expect)


@pytest.mark.parametrize("name", ["chat", "responses"])
async def test_stream_helper_left_early(telemetry: Telemetry, sdk: Sdk, name: str) -> None:
    """Leaving a ``.stream()`` helper's ``with`` block early ends the request then, not at a later GC."""
    case = STREAMS[name]
    sdk.fp.script(case.reply())
    if name == "chat":
        manager = sdk.client.chat.completions.stream(model=MODEL, messages=HI)
    else:
        manager = sdk.client.responses.stream(model=RMODEL, input="hi")

    def first_text(event: Any) -> bool:
        return event.type in ("content.delta", "response.output_text.delta") and event.delta == "Hel"

    if sdk.is_async:
        async with manager as helper:
            await sdk.items(helper, until=first_text)
    else:
        with manager as helper:
            await sdk.items(helper, until=first_text)
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0  # helper still referenced: no GC yet
    check(telemetry, sdk.fp, cut(case, "cancelled", first_token=True))
    del helper


async def test_responses_stream_failed(telemetry: Telemetry, sdk: Sdk) -> None:
    """A stream that ends with ``response.failed`` is an error; its billed usage still counts."""
    sdk.fp.script(ResponsesStream(id="resp_6", status="failed"))
    stream = await sdk.call(lambda c: c.responses.create(model=RMODEL, input="hi", stream=True))
    events = await sdk.items(stream)
    assert events[-1].type == "response.failed"
    expect = Expect(
        request_model=RMODEL,
        response_model=RSNAPSHOT,
        response_id="resp_6",
        stream=True,
        outcome="error",
        error_type="server",
        tokens=Tokens(12, 2),
        finish_reasons=("failed",),
        first_token=True,
    )
    check(telemetry, sdk.fp, expect)


async def test_legacy_completion_stream(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Completion(id="cmpl-2", text="one two three"))
    stream = await sdk.call(lambda c: c.completions.create(model=LEGACY, prompt="hi", stream=True))
    assert isinstance(stream, openai.AsyncStream if sdk.is_async else openai.Stream)
    chunks = await sdk.items(stream)
    assert [c.choices[0].text for c in chunks] == ["one", " two", " three", ""]
    assert sdk.fp.requests[0].body["stream_options"] == {"include_usage": True}
    expect = Expect(
        request_model=LEGACY,
        response_model=LEGACY,
        response_id="cmpl-2",
        operation="text_completion",
        stream=True,
        tokens=Tokens(5, 3),
        first_token=True,
    )
    check(telemetry, sdk.fp, expect)


# -- usage details present, absent, null and zero -------------------------------------------------


def chat_usage(case: str) -> dict[str, Any]:
    """An OpenAI chat usage object of 100 in / 40 out with its details shaped as ``case`` says."""
    if case == "present":
        return openai_usage(100, 40, cached=30, cache_write=20, reasoning=10)
    if case == "zero":
        return openai_usage(100, 40, cached=0, cache_write=0, reasoning=0)
    usage = openai_usage(100, 40)
    if case == "null":
        usage.update(prompt_tokens_details=None, completion_tokens_details=None)
    elif case == "inner_null":
        usage["prompt_tokens_details"] = {"cached_tokens": None, "cache_write_tokens": None}
        usage["completion_tokens_details"] = {"reasoning_tokens": None}
    return usage


def resp_usage(case: str) -> dict[str, Any]:
    """The Responses API shape of :func:`chat_usage`."""
    if case == "present":
        return responses_usage(100, 40, cached=30, cache_write=20, reasoning=10)
    if case == "zero":
        return responses_usage(100, 40, cached=0, cache_write=0, reasoning=0)
    usage = responses_usage(100, 40)
    if case == "null":
        usage.update(input_tokens_details=None, output_tokens_details=None)
    elif case == "inner_null":
        usage["input_tokens_details"] = {"cached_tokens": None, "cache_write_tokens": None}
        usage["output_tokens_details"] = {"reasoning_tokens": None}
    return usage


DETAILS = {
    "present": Tokens(100, 40, 30, 20, 10),
    "absent": Tokens(100, 40),
    "null": Tokens(100, 40),
    "inner_null": Tokens(100, 40),
    "zero": Tokens(100, 40, 0, 0, 0),
}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint for usage-shape tests: its reply, its call and what it records."""

    reply: Callable[[dict[str, Any] | None], Reply]
    call: Callable[[Any], Any]
    expect: Expect
    shape: Callable[[str], dict[str, Any]] = chat_usage


ENDPOINTS = {
    "chat": Endpoint(
        lambda u: Chat(id="c", usage=u),
        lambda c: c.chat.completions.create(model=MODEL, messages=HI),
        Expect(response_id="c"),
    ),
    "chat_stream": Endpoint(
        lambda u: ChatStream(id="c", usage=u),
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True),
        Expect(response_id="c", stream=True, first_token=True),
    ),
    "responses": Endpoint(
        lambda u: Responses(id="r", usage=u),
        lambda c: c.responses.create(model=RMODEL, input="hi"),
        Expect(request_model=RMODEL, response_model=RSNAPSHOT, response_id="r"),
        resp_usage,
    ),
    "responses_stream": Endpoint(
        lambda u: ResponsesStream(id="r", usage=u),
        lambda c: c.responses.create(model=RMODEL, input="hi", stream=True),
        Expect(
            request_model=RMODEL, response_model=RSNAPSHOT, response_id="r", stream=True, first_token=True
        ),
        resp_usage,
    ),
    "legacy": Endpoint(
        lambda u: Completion(id="l", usage=u),
        lambda c: c.completions.create(model=LEGACY, prompt="hi"),
        Expect(request_model=LEGACY, response_model=LEGACY, response_id="l", operation="text_completion"),
    ),
    "legacy_stream": Endpoint(
        lambda u: Completion(id="l", usage=u),
        lambda c: c.completions.create(model=LEGACY, prompt="hi", stream=True),
        Expect(
            request_model=LEGACY,
            response_model=LEGACY,
            response_id="l",
            operation="text_completion",
            stream=True,
            first_token=True,
        ),
    ),
}


async def run(sdk: Sdk, call: Callable[[Any], Any]) -> Any:
    """Make one call; a stream is consumed to its end."""
    result = await sdk.call(call)
    if isinstance(result, openai.Stream | openai.AsyncStream):
        return await sdk.items(result)
    return result


@pytest.mark.parametrize("case", list(DETAILS))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_usage_details(telemetry: Telemetry, sdk: Sdk, endpoint: str, case: str) -> None:
    ep = ENDPOINTS[endpoint]
    sdk.fp.script(ep.reply(ep.shape(case)))
    await run(sdk, ep.call)
    check(telemetry, sdk.fp, dataclasses.replace(ep.expect, tokens=DETAILS[case]))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_usage_not_reported(telemetry: Telemetry, sdk: Sdk, endpoint: str) -> None:
    ep = ENDPOINTS[endpoint]
    sdk.fp.script(ep.reply(None))
    await run(sdk, ep.call)
    check(telemetry, sdk.fp, dataclasses.replace(ep.expect, tokens=None, missing="not_reported"))


async def test_embeddings_usage_not_reported(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(Embeddings(prompt_tokens=None))
    await sdk.call(lambda c: c.embeddings.create(model=EMBED, input="a"))
    expect = Expect(
        request_model=EMBED,
        response_model=EMBED,
        operation="embeddings",
        tokens=None,
        finish_reasons=(),
        missing="not_reported",
    )
    check(telemetry, sdk.fp, expect)


# -- include_usage for chat streams ---------------------------------------------------------------


async def test_injected_usage_chunk_is_hidden(telemetry: Telemetry, sdk: Sdk) -> None:
    """The caller's loop sees exactly what it sees uninstrumented; the fake was asked for usage."""
    with uninstrumented(telemetry):
        sdk.fp.script(ChatStream(id="chatcmpl-10"))
        baseline = await run(sdk, lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert "stream_options" not in sdk.fp.requests[0].body
    sdk.fp.script(ChatStream(id="chatcmpl-10"))
    chunks = await run(sdk, lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert sdk.fp.requests[1].body["stream_options"] == {"include_usage": True}
    assert len(chunks) == len(baseline) == 4
    assert dumps(chunks) == dumps(baseline)
    expect = Expect(response_id="chatcmpl-10", stream=True, tokens=Tokens(12, 2), first_token=True)
    check(telemetry, sdk.fp, expect)


async def test_include_usage_false_is_respected(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-11"))
    options: Any = {"include_usage": False}
    chunks = await run(
        sdk,
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True, stream_options=options),
    )
    assert sdk.fp.requests[0].body["stream_options"] == {"include_usage": False}
    assert [c.usage for c in chunks] == [None] * 4
    expect = Expect(
        response_id="chatcmpl-11", stream=True, tokens=None, missing="not_requested", first_token=True
    )
    check(telemetry, sdk.fp, expect)


async def test_user_requested_usage_chunk_is_shown(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-12", usage=openai_usage(12, 2, cached=4)))
    options: Any = {"include_usage": True}
    chunks = await run(
        sdk,
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True, stream_options=options),
    )
    assert len(chunks) == 5
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.prompt_tokens_details.cached_tokens) == (12, 4)
    assert "usage" in chunks[0].model_fields_set  # the API's ``"usage": null`` kept as sent
    expect = Expect(
        response_id="chatcmpl-12", stream=True, tokens=Tokens(12, 2, cache_read=4), first_token=True
    )
    check(telemetry, sdk.fp, expect)


@pytest.mark.instrument(inject_stream_usage=False)
async def test_injection_can_be_turned_off(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-13"))
    chunks = await run(sdk, lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert "stream_options" not in sdk.fp.requests[0].body
    assert len(chunks) == 4
    expect = Expect(
        response_id="chatcmpl-13", stream=True, tokens=None, missing="not_requested", first_token=True
    )
    check(telemetry, sdk.fp, expect)


async def test_injection_keeps_other_stream_options(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="chatcmpl-14"))
    options: Any = {"include_obfuscation": False}
    chunks = await run(
        sdk,
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True, stream_options=options),
    )
    assert sdk.fp.requests[0].body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}  # the caller's dict is not modified
    assert len(chunks) == 4
    check(
        telemetry,
        sdk.fp,
        Expect(response_id="chatcmpl-14", stream=True, tokens=Tokens(12, 2), first_token=True),
    )


# -- streams that end early -----------------------------------------------------------------------


@dataclass(frozen=True)
class StreamCase:
    """A streamed endpoint, its reply, and what a request cut after its first items records."""

    reply: Callable[..., Reply]
    call: Callable[[Any], Any]
    expect: Expect
    #: Whether the first two items carry output (time to first token observed).
    output_in_two: bool


STREAMS = {
    "chat": StreamCase(
        lambda **kw: ChatStream(id="s", **kw),
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True),
        Expect(response_id="s", stream=True),
        True,
    ),
    "responses": StreamCase(
        lambda **kw: ResponsesStream(id="s", **kw),
        lambda c: c.responses.create(model=RMODEL, input="hi", stream=True),
        Expect(request_model=RMODEL, response_model=RSNAPSHOT, response_id="s", stream=True),
        False,
    ),
    "legacy": StreamCase(
        lambda **kw: Completion(id="s", **kw),
        lambda c: c.completions.create(model=LEGACY, prompt="hi", stream=True),
        Expect(
            request_model=LEGACY,
            response_model=LEGACY,
            response_id="s",
            operation="text_completion",
            stream=True,
        ),
        True,
    ),
}


def cut(
    case: StreamCase, outcome: str, error_type: str | None = None, first_token: bool | None = None
) -> Expect:
    """What a stream ended before its usage arrived records."""
    return dataclasses.replace(
        case.expect,
        outcome=outcome,
        error_type=error_type,
        tokens=None,
        finish_reasons=(),
        missing="interrupted",
        first_token=case.output_in_two if first_token is None else first_token,
    )


@pytest.mark.parametrize("name", list(STREAMS))
async def test_stream_break_and_close(telemetry: Telemetry, sdk: Sdk, name: str) -> None:
    case = STREAMS[name]
    sdk.fp.script(case.reply())
    stream = await sdk.call(case.call)
    assert len(await sdk.items(stream, limit=2)) == 2
    assert telemetry.value("llm_telemetry_in_flight_requests") == 1
    await sdk.close(stream)
    await sdk.close(stream)  # a second close records nothing more
    check(telemetry, sdk.fp, cut(case, "cancelled"))


@pytest.mark.parametrize("name", list(STREAMS))
async def test_stream_with_block_exit(telemetry: Telemetry, sdk: Sdk, name: str) -> None:
    case = STREAMS[name]
    sdk.fp.script(case.reply())
    stream = await sdk.call(case.call)
    if sdk.is_async:
        async with stream as s:
            assert s is stream
            assert len(await sdk.items(s, limit=2)) == 2
    else:
        with stream as s:
            assert s is stream
            assert len(await sdk.items(s, limit=2)) == 2
    check(telemetry, sdk.fp, cut(case, "cancelled"))


@pytest.mark.parametrize("name", list(STREAMS))
async def test_abandoned_stream_is_recorded_when_collected(telemetry: Telemetry, sdk: Sdk, name: str) -> None:
    case = STREAMS[name]
    sdk.fp.script(case.reply())
    stream = await sdk.call(case.call)
    assert len(await sdk.items(stream, limit=2)) == 2
    del stream
    gc.collect()
    assert llm_telemetry.flush()
    check(telemetry, sdk.fp, cut(case, "cancelled"))


@pytest.mark.parametrize("name", list(STREAMS))
async def test_stream_server_dies(telemetry: Telemetry, sdk: Sdk, name: str) -> None:
    case = STREAMS[name]
    sdk.fp.script(case.reply(die_after=2))
    stream = await sdk.call(case.call)
    seen: list[Any] = []
    with pytest.raises(BROKEN_STREAM):
        if sdk.is_async:
            async for item in stream:
                seen.append(item)
        else:
            seen.extend(stream)
    assert len(seen) == 2
    check(telemetry, sdk.fp, cut(case, "error", "stream_interrupted"))


async def test_stream_dies_after_finish_reason_before_usage(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="s", die_after=4))
    stream = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    with pytest.raises(BROKEN_STREAM):
        await sdk.items(stream)
    expect = dataclasses.replace(
        cut(STREAMS["chat"], "error", "stream_interrupted"), finish_reasons=("stop",)
    )
    check(telemetry, sdk.fp, expect)


async def test_stream_state_is_constant_size(telemetry: Telemetry, sdk: Sdk) -> None:
    """2000 chunks: the proxy's state gains no attribute, and what our code keeps alive does not grow."""
    sdk.fp.script(ChatStream(id="long", chunks=("x",) * 2000))
    stream = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    state = stream._self_state
    assert not hasattr(state, "__dict__")  # slots only: no per-chunk attribute can appear
    proxy_attributes = set(vars(stream))
    iterator = stream.__aiter__() if sdk.is_async else iter(stream)

    async def advance(n: int) -> None:
        for _ in range(n):
            await iterator.__anext__() if sdk.is_async else next(iterator)
            assert len(state.finish_reasons) == 0

    await advance(1500)
    tracemalloc.start()  # traced window: the last 500 content chunks (tracing slows the SDK down)
    try:
        await advance(501)
        kept = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, TELEMETRY_DIR + "*"), tracemalloc.Filter(False, "*/testing/*")]
        )
    finally:
        tracemalloc.stop()
    # Allocated by our code during 500 chunks and still alive: a few floats, never per-chunk state.
    assert sum(stat.size for stat in kept.statistics("filename")) < 1024, kept.statistics("lineno")[:5]
    assert set(vars(stream)) == proxy_attributes
    rest = await sdk.items(stream)
    assert len(rest) == 1 and rest[0].choices[0].finish_reason == "stop"
    assert len(state.finish_reasons) == 1
    check(telemetry, sdk.fp, Expect(response_id="long", stream=True, tokens=Tokens(12, 2), first_token=True))


# -- SDK retries and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"), [(429, "rate_limit"), (500, "server"), (503, "server"), (408, "timeout")]
)
async def test_retry_then_success(telemetry: Telemetry, sdk: Sdk, status: int, error_type: str) -> None:
    client = sdk.new_client(max_retries=2)
    sdk.fp.script(Error(status), Chat(id="chatcmpl-15"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI), client)
    assert result.id == "chatcmpl-15"
    assert len(sdk.fp.requests) == 2
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-15", retries=(error_type,)))


async def test_timeout_retry_then_success(telemetry: Telemetry, sdk: Sdk, fast_backoff: None) -> None:
    client = sdk.new_client(max_retries=2, timeout=0.2)
    sdk.fp.script(Hang(0.6), Chat(id="chatcmpl-16"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI), client)
    assert result.id == "chatcmpl-16"
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-16", retries=("timeout",)))


@pytest.mark.parametrize(
    ("reply", "exc_type", "error_type"),
    [
        (Error(429), openai.RateLimitError, "rate_limit"),
        (Error(500), openai.InternalServerError, "server"),
        (Hang(0.6), openai.APITimeoutError, "timeout"),
    ],
)
async def test_retries_exhausted(
    telemetry: Telemetry,
    sdk: Sdk,
    fast_backoff: None,
    reply: Reply,
    exc_type: type[Exception],
    error_type: str,
) -> None:
    client = sdk.new_client(max_retries=2, timeout=0.2)
    sdk.fp.script(reply, reply, reply)
    with pytest.raises(exc_type):
        await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI), client)
    expect = Expect(
        outcome="error",
        error_type=error_type,
        response_model=None,
        tokens=None,
        finish_reasons=(),
        retries=(error_type, error_type),
    )
    check(telemetry, sdk.fp, expect)


@pytest.mark.parametrize(
    ("status", "exc_type", "error_type"),
    [
        (400, openai.BadRequestError, "bad_request"),
        (401, openai.AuthenticationError, "auth"),
        (403, openai.PermissionDeniedError, "permission"),
        (404, openai.NotFoundError, "not_found"),
    ],
)
async def test_error_not_retried(
    telemetry: Telemetry, sdk: Sdk, status: int, exc_type: type[Exception], error_type: str
) -> None:
    sdk.fp.script(Error(status))
    with pytest.raises(exc_type):
        await sdk.call(lambda c: c.embeddings.create(model=EMBED, input="a"))
    expect = Expect(
        request_model=EMBED,
        operation="embeddings",
        outcome="error",
        error_type=error_type,
        response_model=None,
        tokens=None,
        finish_reasons=(),
    )
    check(telemetry, sdk.fp, expect)


#: Exceptions Python uses for control flow (a closed generator expression, an exhausted iterator).
CONTROL_FLOW = (GeneratorExit, StopIteration, StopAsyncIteration)


@contextlib.contextmanager
def raised_exceptions() -> Iterator[list[tuple[str, BaseException]]]:
    """Every exception as it passes through each Python frame: (the frame's file, the object)."""
    seen: list[tuple[str, BaseException]] = []

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "exception":
            seen.append((frame.f_code.co_filename, arg[1]))
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return local

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield seen
    finally:
        sys.settrace(previous)


def exception_shape(exc: BaseException) -> tuple[Any, ...]:
    """What a caller can inspect of an SDK exception, for comparison with an uninstrumented run."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    raised_at = (tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_name)
    return (
        type(exc),
        exc.args,
        getattr(exc, "status_code", None),
        getattr(exc, "body", None),
        type(exc.__cause__),
        type(exc.__context__),
        exc.__suppress_context__,
        raised_at,
    )


async def test_sdk_exception_reaches_caller_as_the_same_object(telemetry: Telemetry, sdk: Sdk) -> None:
    with uninstrumented(telemetry):
        sdk.fp.script(Error(404))
        with pytest.raises(openai.NotFoundError) as plain:
            await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    sdk.fp.script(Error(404))
    with raised_exceptions() as seen, pytest.raises(openai.NotFoundError) as caught:
        await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    exc = caught.value
    assert type(exc) is openai.NotFoundError
    assert exception_shape(exc) == exception_shape(plain.value)
    assert exception_shape(exc)[-1][0].startswith(OPENAI_DIR)  # raised by the SDK's own code
    assert any(e is exc for f, e in seen if f.startswith(OPENAI_DIR))
    ours = [e for f, e in seen if f.startswith(TELEMETRY_DIR) and not isinstance(e, CONTROL_FLOW)]
    assert ours and all(e is exc for e in ours)  # it went through our wrapper, untouched
    check(
        telemetry,
        sdk.fp,
        Expect(outcome="error", error_type="not_found", response_model=None, tokens=None, finish_reasons=()),
    )


async def test_stream_exception_reaches_caller_as_the_same_object(telemetry: Telemetry, sdk: Sdk) -> None:
    sdk.fp.script(ChatStream(id="s", die_after=2))
    stream = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True))
    with raised_exceptions() as seen, pytest.raises(BROKEN_STREAM) as caught:
        await sdk.items(stream)
    exc = caught.value
    assert type(exc) in BROKEN_STREAM
    ours = [e for f, e in seen if f.startswith(TELEMETRY_DIR) and not isinstance(e, CONTROL_FLOW)]
    assert ours and all(e is exc for e in ours)
    assert any(e is exc for f, e in seen if not f.startswith(TELEMETRY_DIR))
    check(telemetry, sdk.fp, cut(STREAMS["chat"], "error", "stream_interrupted", first_token=True))


# -- faults inside the instrumentation never reach the caller -------------------------------------


def boom(*args: Any, **kwargs: Any) -> Any:
    """A failing replacement for an instrumentation internal."""
    raise RuntimeError("injected fault")


async def test_fault_in_token_recording(
    telemetry: Telemetry, sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PrometheusWriter, "_usage", boom)
    sdk.fp.script(Chat(id="chatcmpl-17"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert type(result) is openai.types.chat.ChatCompletion and result.id == "chatcmpl-17"
    base = {"provider": "openai", "request_model": MODEL, "operation": "chat"}
    assert live(telemetry, "llm_telemetry_internal_errors_total") == {frozenset({("stage", "metrics")}): 1.0}
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 1
    assert family(telemetry, "llm_telemetry_in_flight_requests") == {key(base): 0.0}
    assert [s.name for s in telemetry.spans()] == ["chat gpt-4o-mini"]


async def test_fault_in_pricing(telemetry: Telemetry, sdk: Sdk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Pricer, "price", boom)
    sdk.fp.script(Chat(id="chatcmpl-18"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert result.id == "chatcmpl-18"
    expect = Expect(response_id="chatcmpl-18", priced=False, internal_errors={"price": 1})
    check(telemetry, sdk.fp, expect)


async def test_fault_in_result_parsing(
    telemetry: Telemetry, sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llm_telemetry.integrations.openai.from_openai_chat", boom)
    sdk.fp.script(Chat(id="chatcmpl-19"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert result.id == "chatcmpl-19"
    expect = Expect(
        response_model=None,
        tokens=None,
        finish_reasons=(),
        missing="not_reported",
        internal_errors={"result": 1},
    )
    check(telemetry, sdk.fp, expect)


async def test_fault_at_begin_leaves_call_untouched(
    telemetry: Telemetry, sdk: Sdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Admission, "key", boom)
    sdk.fp.script(Chat(id="chatcmpl-20"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert result.id == "chatcmpl-20"
    assert live(telemetry, "llm_telemetry_internal_errors_total") == {frozenset({("stage", "begin")}): 1.0}
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert telemetry.spans() == ()  # not recorded at all, and the caller never knew


@pytest.mark.parametrize("name", ["chat", "responses"])
async def test_fault_in_stream_observe(
    telemetry: Telemetry, sdk: Sdk, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Items are exactly the uninstrumented ones (injected usage chunk still hidden); the call succeeds."""
    case = STREAMS[name]
    with uninstrumented(telemetry):
        sdk.fp.script(case.reply())
        baseline = await run(sdk, case.call)
    monkeypatch.setattr(ChatState, "observe", boom)
    monkeypatch.setattr(ResponsesState, "observe", boom)
    sdk.fp.script(case.reply())
    items = await run(sdk, case.call)
    assert dumps(items) == dumps(baseline)
    observed = len(items) + (name == "chat")  # the chat usage chunk was observed, then hidden
    expect = dataclasses.replace(
        case.expect,
        response_model=None,
        response_id=None,
        tokens=None,
        finish_reasons=(),
        missing="not_reported",
        internal_errors={"stream_chunk": observed},
    )
    check(telemetry, sdk.fp, expect)


# -- providers, hooks ------------------------------------------------------------------------------


async def test_azure(telemetry: Telemetry, sdk: Sdk) -> None:
    cls = openai.AsyncAzureOpenAI if sdk.is_async else openai.AzureOpenAI
    client = sdk.own(cls(azure_endpoint=sdk.fp.url, api_version="2024-10-21", api_key="x", max_retries=0))
    sdk.fp.script(Chat(id="chatcmpl-21"))
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI), client)
    assert type(result) is openai.types.chat.ChatCompletion
    assert sdk.fp.requests[0].path == f"/openai/deployments/{MODEL}/chat/completions?api-version=2024-10-21"
    check(telemetry, sdk.fp, Expect(provider="azure.ai.openai", response_id="chatcmpl-21"))


def azure_stream_body() -> str:
    """An Azure chat stream as sent: first a prompt-filter chunk with empty ``model`` and ``id``."""
    base = {"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1, "model": SNAPSHOT}
    chunks: list[dict[str, Any]] = [
        {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []},
        {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None},
        {**base, "choices": [], "usage": openai_usage(9, 1)},
    ]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


async def test_azure_stream_with_prompt_filter_chunk(telemetry: Telemetry, sdk: Sdk) -> None:
    cls = openai.AsyncAzureOpenAI if sdk.is_async else openai.AzureOpenAI
    client = sdk.own(cls(azure_endpoint=sdk.fp.url, api_version="2024-10-21", api_key="x", max_retries=0))
    sdk.fp.script(Raw(content_type="text/event-stream", body=azure_stream_body()))
    stream = await sdk.call(
        lambda c: c.chat.completions.create(model=MODEL, messages=HI, stream=True), client
    )
    chunks = await sdk.items(stream)
    assert [(c.id, len(c.choices)) for c in chunks] == [("", 0), ("chatcmpl-az", 1), ("chatcmpl-az", 1)]
    expect = Expect(
        provider="azure.ai.openai",
        response_id="chatcmpl-az",
        stream=True,
        tokens=Tokens(9, 1),
        first_token=True,
    )
    check(telemetry, sdk.fp, expect)


async def test_provider_not_confused_by_reused_client_ids(fp: FakeProvider) -> None:
    """A discarded Azure client's address, reused by a new plain client, must not make that one Azure.

    CPython usually hands a freed client's address to the next client (the case guarded against);
    a cache keyed by ``id(client)`` fails here on nearly every run.
    """
    http = openai.DefaultHttpxClient()  # shared, so that making clients stays cheap
    for _ in range(10):
        azure = openai.AzureOpenAI(
            azure_endpoint=fp.url, api_version="2024-10-21", api_key="x", http_client=http
        )
        assert provider_of(azure.chat.completions) == "azure.ai.openai"
        del azure
        gc.collect(1)  # clients sit in reference cycles (young ones: cheap)
        plain = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", http_client=http)
        assert provider_of(plain.chat.completions) == "openai"
        del plain
        gc.collect(1)
    http.close()


async def test_uninstrument_restores_originals_and_reinstrument_works(telemetry: Telemetry, sdk: Sdk) -> None:
    for cls, name in _HOOKED:
        assert vars(cls)[name] is not ORIGINALS[cls, name]
    llm_telemetry.uninstrument()
    for cls, name in _HOOKED:
        assert vars(cls)[name] is ORIGINALS[cls, name], (cls, name)
    assert chat_completions.Completions.create is ORIGINALS[chat_completions.Completions, "create"]
    sdk.fp.script(Chat(id="chatcmpl-22"), Chat(id="chatcmpl-23"))
    await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert telemetry.spans() == ()
    llm_telemetry.instrument(registry=telemetry.registry)
    llm_telemetry.instrument(registry=telemetry.registry)  # idempotent: hooked once
    for cls, name in _HOOKED:
        assert vars(cls)[name].__wrapped__ is ORIGINALS[cls, name], (cls, name)
    result = await sdk.call(lambda c: c.chat.completions.create(model=MODEL, messages=HI))
    assert result.id == "chatcmpl-23"
    check(telemetry, sdk.fp, Expect(response_id="chatcmpl-23"))
