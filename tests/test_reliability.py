"""Reliability: garbage usage, threads, asyncio, broken exporters, re-instrumenting, privacy and fork.

Every call goes through the real ``openai`` SDK over its own HTTP library's in-process
``MockTransport``, so the SDK parses exactly what a provider would have sent.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import openai
import pytest
import wrapt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from prometheus_client import CollectorRegistry

import llm_telemetry
from llm_telemetry import record
from llm_telemetry.record.spans import SpanWriter

if TYPE_CHECKING:
    from tests.conftest import Telemetry

MODEL, SNAPSHOT = "gpt-4o-mini", "gpt-4o-mini-2024-07-18"
HI: Any = [{"role": "user", "content": "hi"}]
KEY = "sk-test-KEY-4d2e9a"
PROMPT = "PROMPT-7f3a-do-not-record"
COMPLETION = "COMPLETION-91bc-do-not-record"
SSE = {"content-type": "text/event-stream"}


def http_library() -> ModuleType:
    """The HTTP library the installed openai is built on: ``httpx2`` (3.x) or ``httpx`` (2.x)."""
    base = importlib.import_module("openai._base_client")
    for name in ("httpx2", "httpx"):
        module = getattr(base, name, None)
        if isinstance(module, ModuleType):
            return module
    raise RuntimeError("cannot tell which HTTP library openai uses")


HTTP = http_library()

# -- what the provider sends -----------------------------------------------------------------------


def completion(usage: Any, content: str = "Hello!") -> dict[str, Any]:
    """A chat completion whose ``usage`` is exactly ``usage``."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": SNAPSHOT,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": usage,
    }


def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": SNAPSHOT,
            "choices": choices, "usage": usage}  # fmt: skip
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def stream_events(usage: Any, pieces: Sequence[str] = ("Hel", "lo", "!")) -> list[bytes]:
    """A chat stream: a role chunk, one chunk per piece, the finish, then the usage chunk and [DONE]."""
    events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [chunk([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in pieces]
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(chunk([], usage))
    events.append(b"data: [DONE]\n\n")
    return events


def usage_of(prompt: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def serve(usage: Any, content: str = "Hello!") -> Callable[[Any], Any]:
    """A handler answering chat requests, streamed or not, with ``usage``."""
    body = json.dumps(completion(usage, content)).encode()
    stream = b"".join(stream_events(usage, (content[:4], content[4:])))

    def handler(request: Any) -> Any:
        if json.loads(request.content).get("stream"):
            return HTTP.Response(200, headers=SSE, content=stream)
        return HTTP.Response(200, headers={"content-type": "application/json"}, content=body)

    return handler


def client_for(handler: Callable[[Any], Any], api_key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=api_key,
        base_url="https://api.openai.com/v1",
        http_client=HTTP.Client(transport=HTTP.MockTransport(handler)),
        max_retries=0,
    )


def counters(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every counter sample of the registry, keyed by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        if family.type == "counter"
        for s in family.samples
        if s.name.endswith("_total")
    }


def assert_monotonic(before: dict[Any, float], after: dict[Any, float]) -> None:
    """No counter sample disappeared or went down."""
    for key, value in before.items():
        assert key in after, key
        assert after[key] >= value, (key, value, after[key])


# -- (a) garbage usage through the real SDK ---------------------------------------------------------

FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
          "completion_tokens_details", "cached_tokens", "cache_write_tokens", "reasoning_tokens")  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-3, max_value=100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=20,
)
USAGE = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8) | JSON


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(usage=USAGE)
def test_garbage_usage_never_raises_nor_decrements(telemetry: Telemetry, usage: Any) -> None:
    client = client_for(serve(usage))
    before = counters(telemetry.registry)
    result = client.chat.completions.create(model=MODEL, messages=HI)
    assert result.choices[0].message.content == "Hello!"
    chunks = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello!"
    after = counters(telemetry.registry)
    assert_monotonic(before, after)
    grown: dict[str, float] = {}
    for key, value in after.items():
        if value != before.get(key, 0.0):
            grown[key[0]] = grown.get(key[0], 0.0) + value - before.get(key, 0.0)
    assert grown.get("llm_telemetry_requests_total") == 2
    internal = {
        k[1]: v - before.get(k, 0.0)
        for k, v in after.items()
        if k[0] == "llm_telemetry_internal_errors_total"
    }
    # Only a count above MAX_TOKENS is an internal error (stage "result"): a provider's bug, never billed.
    assert all(v == 0 or labels == (("stage", "result"),) for labels, v in internal.items()), internal
    if any(internal.values()):
        assert _implausible(usage)
    assert "llm_telemetry_errors_total" not in grown


def _implausible(value: Any) -> bool:
    """Whether a payload holds a number the usage parser must refuse as a token count."""
    from llm_telemetry.usage import MAX_TOKENS

    if isinstance(value, dict):
        return any(_implausible(v) for v in value.values())
    if isinstance(value, list):
        return any(_implausible(v) for v in value)
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and value == value
        and value > MAX_TOKENS
    )


# -- (b) threads and (c) asyncio: exact totals ------------------------------------------------------


@pytest.mark.slow
def test_threads_give_exact_totals(telemetry: Telemetry) -> None:
    client = client_for(serve(usage_of(7, 3)))
    threads, calls = 16, 500
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(calls):
                client.chat.completions.create(model=MODEL, messages=HI)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # many more thread switches inside the recording path
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    total = threads * calls
    assert telemetry.value("llm_telemetry_requests_total", outcome="success", stream="false") == total
    assert telemetry.value("llm_telemetry_requests_total") == total
    assert telemetry.value("llm_telemetry_input_tokens_total") == 7 * total
    assert telemetry.value("llm_telemetry_output_tokens_total") == 3 * total
    assert telemetry.value("llm_telemetry_request_duration_seconds_count") == total
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert len(telemetry.spans()) == total


@pytest.mark.slow
async def test_concurrent_async_streams_give_exact_totals(telemetry: Telemetry) -> None:
    streams = 1000
    events = stream_events(usage_of(11, 4))

    async def body() -> AsyncIterator[bytes]:
        for event in events:
            await asyncio.sleep(0)  # every chunk is a chance for the other streams to interleave
            yield event

    def handler(request: Any) -> Any:
        return HTTP.Response(200, headers=SSE, content=body())

    client = openai.AsyncOpenAI(
        api_key=KEY,
        base_url="https://api.openai.com/v1",
        http_client=HTTP.AsyncClient(transport=HTTP.MockTransport(handler)),
        max_retries=0,
    )
    all_open = asyncio.Event()
    opened = 0

    async def consume() -> int:
        nonlocal opened
        stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
        seen = 0
        async for _ in stream:
            seen += 1
            if seen == 1:
                opened += 1
                if opened == streams:
                    all_open.set()
                await all_open.wait()
        return seen

    tasks = [asyncio.create_task(consume()) for _ in range(streams)]
    await all_open.wait()  # waiting before any task ran: woken first, while every stream is open
    assert telemetry.value("llm_telemetry_in_flight_requests") == streams
    assert await asyncio.gather(*tasks) == [5] * streams  # role, 3 content, finish; usage chunk hidden
    assert telemetry.value("llm_telemetry_requests_total", outcome="success", stream="true") == streams
    assert telemetry.value("llm_telemetry_requests_total") == streams
    assert telemetry.value("llm_telemetry_input_tokens_total") == 11 * streams
    assert telemetry.value("llm_telemetry_output_tokens_total") == 4 * streams
    assert telemetry.value("llm_telemetry_time_to_first_token_seconds_count") == streams
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    await client.close()


# -- (d) broken span pipelines never fail a call ----------------------------------------------------


class ExplodingProcessor(SpanProcessor):
    """A span processor whose every ``on_end`` raises, like a crashing exporter plugged in synchronously."""

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("exporter crashed")


class UnreachableExporter(SpanExporter):
    """Posts spans to an OTLP/HTTP endpoint nobody listens on; every export fails to connect."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.attempts = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.attempts += 1
        request = urllib.request.Request(self.url, data=b"\x00", method="POST")
        urllib.request.urlopen(request, timeout=2)  # raises: connection refused
        return SpanExportResult.SUCCESS  # pragma: no cover

    def shutdown(self) -> None:
        pass


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def use_tracer(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider) -> None:
    """Point llm_telemetry at a private provider (the global one is shared by the whole session)."""
    telemetry = record.active()
    assert telemetry is not None
    (writer,) = [w for w in telemetry.writers if isinstance(w, SpanWriter)]
    monkeypatch.setattr(writer, "tracer", provider.get_tracer("test_reliability"))


def three_calls(client: openai.OpenAI) -> None:
    """A completion, a stream and a failed request (HTTP 500, raised as the SDK's own error)."""
    assert client.chat.completions.create(model=MODEL, messages=HI).choices[0].message.content == "Hello!"
    assert len(list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))) == 4
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="broken", messages=HI)


def failing_on(model: str, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def route(request: Any) -> Any:
        if json.loads(request.content)["model"] == model:
            return HTTP.Response(500, json={"error": {"message": "boom", "type": "server_error"}})
        return handler(request)

    return route


def test_a_crashing_span_processor_never_fails_a_call(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(ExplodingProcessor())
    use_tracer(monkeypatch, provider)
    three_calls(client_for(failing_on("broken", serve(usage_of(5, 2)))))
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert telemetry.value("llm_telemetry_requests_total", outcome="error") == 1
    assert telemetry.value("llm_telemetry_errors_total", error_type="server") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 10
    assert telemetry.value("llm_telemetry_output_tokens_total") == 4
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert telemetry.value("llm_telemetry_internal_errors_total") == 3  # one per span end, swallowed


def test_an_unreachable_otlp_endpoint_never_fails_a_call(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1/traces"
    synchronous, batched = UnreachableExporter(url), UnreachableExporter(url)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(synchronous))
    provider.add_span_processor(BatchSpanProcessor(batched))
    use_tracer(monkeypatch, provider)
    try:
        three_calls(client_for(failing_on("broken", serve(usage_of(5, 2)))))
        provider.force_flush()
    finally:
        provider.shutdown()
    assert synchronous.attempts == 3
    assert batched.attempts == 1
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert telemetry.value("llm_telemetry_requests_total", outcome="error") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 10
    assert telemetry.value("llm_telemetry_internal_errors_total") == 0


# -- (e) instrument twice, uninstrument, instrument again -------------------------------------------

SDK_PREFIXES = ("openai", "anthropic", "litellm", "instructor")


def hooked_namespaces() -> Iterator[Any]:
    """Every loaded module of the supported SDKs, and every class defined in one."""
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(SDK_PREFIXES):
            continue
        yield module
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                yield value


def snapshot() -> dict[tuple[int, str], tuple[Any, Any]]:
    return {
        (id(ns), attr): (ns, value) for ns in hooked_namespaces() for attr, value in list(vars(ns).items())
    }


def test_instrument_twice_uninstrument_and_again(telemetry: Telemetry) -> None:
    client = client_for(serve(usage_of(3, 1)))

    def requests() -> float:
        return telemetry.value("llm_telemetry_requests_total")

    client.chat.completions.create(model=MODEL, messages=HI)
    history = [counters(telemetry.registry)]
    llm_telemetry.uninstrument()
    originals = snapshot()

    llm_telemetry.instrument(registry=telemetry.registry)
    llm_telemetry.instrument(registry=telemetry.registry)
    hooked = {
        key: vars(ns)[key[1]] for key, (ns, value) in originals.items() if vars(ns).get(key[1]) is not value
    }
    assert len(hooked) >= 10  # chat, responses, completions, embeddings (sync and async), retries, ...
    for key, wrapper in hooked.items():
        assert isinstance(wrapper, wrapt.FunctionWrapper), key
        assert wrapper.__wrapped__ is originals[key][1], key  # wrapped once, around the original
    client.chat.completions.create(model=MODEL, messages=HI)
    assert requests() == 2
    history.append(counters(telemetry.registry))

    llm_telemetry.uninstrument()
    assert llm_telemetry.is_instrumented() is False
    for (_, attr), (ns, value) in originals.items():
        assert vars(ns).get(attr) is value, (ns, attr)
    client.chat.completions.create(model=MODEL, messages=HI)
    assert requests() == 2
    history.append(counters(telemetry.registry))

    llm_telemetry.instrument(registry=telemetry.registry)
    client.chat.completions.create(model=MODEL, messages=HI)
    assert requests() == 3
    assert telemetry.value("llm_telemetry_input_tokens_total") == 9
    history.append(counters(telemetry.registry))
    for before, after in itertools.pairwise(history):
        assert_monotonic(before, after)


# -- (f) no prompt, completion or API key outside the process ---------------------------------------


def texts_of(span: ReadableSpan) -> Iterator[str]:
    yield span.name
    yield str(span.status.description)
    for key, value in (span.attributes or {}).items():
        yield f"{key}={value!r}"
    for event in span.events:
        yield event.name
        for key, value in (event.attributes or {}).items():
            yield f"{key}={value!r}"


@pytest.mark.parametrize(
    "capture",
    [
        pytest.param(False, marks=pytest.mark.instrument(capture_content=False), id="default"),
        pytest.param(True, marks=pytest.mark.instrument(capture_content=True), id="capture_content"),
    ],
)
def test_no_content_nor_api_key_leaves_the_process(
    telemetry: Telemetry, caplog: pytest.LogCaptureFixture, capture: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_telemetry")
    echo = {"error": {"message": f"Invalid prompt: {PROMPT}", "type": "invalid_request_error", "code": None}}

    def handler(request: Any) -> Any:
        payload = json.loads(request.content)
        if payload["model"] == "echo":
            return HTTP.Response(400, json=echo)
        return serve(usage_of(9, 4), COMPLETION)(request)

    client = client_for(handler)
    prompt: Any = [{"role": "user", "content": PROMPT}]
    assert (
        client.chat.completions.create(model=MODEL, messages=prompt).choices[0].message.content == COMPLETION
    )
    with llm_telemetry.attributes(feature="privacy"):
        stream = client.chat.completions.create(model=MODEL, messages=prompt, stream=True, user=PROMPT)
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == COMPLETION
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="echo", messages=prompt)

    spans = telemetry.spans()
    assert len(spans) == 3
    recorded = [t for span in spans for t in texts_of(span)]
    recorded += [f"{k}={v}" for name in ("llm_telemetry_requests_total", "llm_telemetry_input_tokens_total",
                                         "llm_telemetry_errors_total", "llm_telemetry_finish_reasons_total")
                 for labels, _ in telemetry.samples(name) for k, v in labels.items()]  # fmt: skip
    recorded += [s.name + repr(s.labels) for f in telemetry.registry.collect() for s in f.samples]
    formatter = logging.Formatter()
    logs = [r for r in caplog.records if r.name.startswith("llm_telemetry")]
    recorded += [r.getMessage() + (formatter.formatException(r.exc_info) if r.exc_info else "") for r in logs]
    secrets = (KEY,) if capture else (KEY, PROMPT, COMPLETION)
    assert [t for t in recorded if any(secret in t for secret in secrets)] == []
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert telemetry.value("llm_telemetry_errors_total", error_type="bad_request") == 1


# -- (g) fork ---------------------------------------------------------------------------------------


def abandon_one(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=HI, stream=True)
    next(iter(stream))
    del stream
    gc.collect()


def child_checks(client: openai.OpenAI, telemetry: Telemetry) -> int:
    """In the forked child: an instrumented call and an abandoned stream are recorded there. 0 if so."""
    success = telemetry.value("llm_telemetry_requests_total", outcome="success")
    client.chat.completions.create(model=MODEL, messages=HI)
    abandon_one(client)
    if not llm_telemetry.flush(5):
        return 2
    ok = (
        telemetry.value("llm_telemetry_requests_total", outcome="success") == success + 1
        and telemetry.value("llm_telemetry_requests_total", outcome="cancelled") == 1
        and telemetry.value("llm_telemetry_in_flight_requests") == 0
    )
    return 0 if ok else 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
@pytest.mark.slow
def test_a_forked_child_records_on_its_own(telemetry: Telemetry) -> None:
    client = client_for(serve(usage_of(6, 2)))
    client.chat.completions.create(model=MODEL, messages=HI)
    before = counters(telemetry.registry)

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = child_checks(client, telemetry)
        finally:
            os._exit(code)

    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert counters(telemetry.registry) == before  # the child's recording never reaches the parent

    client.chat.completions.create(model=MODEL, messages=HI)
    abandon_one(client)
    assert llm_telemetry.flush(5) is True
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert telemetry.value("llm_telemetry_requests_total", outcome="cancelled") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 12


def test_span_start_failure_keeps_metrics_and_in_flight_exact(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A span processor that raises on start costs the request its span, never its metrics."""
    tel = record.active()
    assert tel is not None

    def broken(name: str, **kwargs: Any) -> Any:
        raise RuntimeError("span processor on_start failed")

    (writer,) = [w for w in tel.writers if isinstance(w, SpanWriter)]
    monkeypatch.setattr(writer.tracer, "start_span", broken)
    client = client_for(serve(usage_of(7, 3)))
    for _ in range(3):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 3
    assert telemetry.value("llm_telemetry_input_tokens_total") == 21
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert telemetry.value("llm_telemetry_internal_errors_total", stage="span") == 3


def test_set_up_failure_lets_the_call_through_unrecorded(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault before the call starts (resolving the provider) never reaches the caller."""
    from llm_telemetry.integrations import openai as integration

    def broken(resource: Any) -> Any:
        raise RuntimeError("provider resolution failed")

    monkeypatch.setattr(integration, "_client", broken)
    client = client_for(serve(usage_of(7, 3)))
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert reply.usage is not None and reply.usage.prompt_tokens == 7
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert telemetry.value("llm_telemetry_internal_errors_total", stage="begin") == 1


def test_span_usage_attributes_follow_the_usage_attribute_table(telemetry: Telemetry) -> None:
    """The span writer writes the usage attributes in the contract table's order."""
    from llm_telemetry.contract import USAGE_ATTRIBUTES, GenAI
    from llm_telemetry.usage import Usage

    call = record.begin("openai", "chat", "gpt-4o-mini")
    assert call is not None
    call.succeed(Usage(input=10, output=5, cache_read=3, cache_write=2, reasoning=1), "gpt-4o-mini")
    (span,) = telemetry.spans()
    names = [name for name in (span.attributes or {}) if name.startswith("gen_ai.usage.")]
    assert names == [*USAGE_ATTRIBUTES.values(), GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS]
    assert [span.attributes[n] for n in USAGE_ATTRIBUTES.values()] == [10, 5, 3, 2, 1]  # type: ignore[index]
