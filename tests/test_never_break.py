"""Never break the caller, lose nothing: strict servers, odd usage chunks, early closes, hostile values.

Every test drives the real openai (or anthropic, litellm) SDK over real HTTP to the fake provider and
compares what the caller sees with an uninstrumented run of the same request.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest
from prometheus_client import generate_latest

import llm_telemetry
from llm_telemetry.testing import Chat, ChatStream, FakeProvider, Message, openai_usage

if TYPE_CHECKING:
    from tests.conftest import Telemetry

MODEL = "gpt-4o-mini"
HI: Any = [{"role": "user", "content": "hi"}]


def _http() -> Any:
    """The HTTP library this openai major runs on: ``httpx`` (2.x) or ``httpx2`` (3.x)."""
    base = next(c for c in openai.DefaultHttpxClient.__mro__ if not c.__module__.startswith("openai"))
    return sys.modules[base.__module__.split(".")[0]]


def client_at(fp: FakeProvider, base_url: str | None = None, **kwargs: Any) -> openai.OpenAI:
    """A client whose ``base_url`` may name a production host; requests still reach ``fp``."""
    http = openai.DefaultHttpxClient(transport=fp.transport(_http()))
    return openai.OpenAI(base_url=base_url or fp.openai_base_url, api_key="x", http_client=http, **kwargs)


def dumps(items: list[Any]) -> list[str]:
    """What the caller saw, comparable across runs (ids and timestamps differ)."""
    out = []
    for item in items:
        data = item.model_dump(exclude_unset=True)
        data.pop("id", None)
        data.pop("created", None)
        out.append(repr(data))
    return out


def baseline(telemetry: Telemetry, make: Any) -> list[Any]:
    """The items an uninstrumented run yields (instrumentation restored afterwards)."""
    llm_telemetry.uninstrument()
    try:
        return list(make())
    finally:
        llm_telemetry.instrument(registry=telemetry.registry)


def requests(telemetry: Telemetry, **labels: str) -> float:
    return telemetry.value("llm_telemetry_requests_total", **labels)


# -- the usage request policy ---------------------------------------------------------------------


@pytest.mark.parametrize("strict", ["mistral", "azure"])
def test_a_strict_server_rejecting_stream_options_gets_the_request_again_without_it(
    telemetry: Telemetry, fp: FakeProvider, strict: str
) -> None:
    fp.strict = strict
    client = client_at(fp, f"http://strict-{strict}.example/v1")
    fp.script(ChatStream(), ChatStream())
    items = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert [len(c.choices) for c in items] == [1, 1, 1, 1]  # what an uninstrumented caller gets
    bodies = [r.body for r in fp.requests]
    assert [("stream_options" in b) for b in bodies] == [True, False]
    assert requests(telemetry, outcome="success") == 1 and requests(telemetry, outcome="error") == 0
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="not_requested") == 1
    # The host is remembered: the next stream is sent once, as the caller wrote it.
    list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert len(fp.requests) == 3 and "stream_options" not in fp.requests[2].body


def test_the_callers_own_stream_options_survive_the_retry(telemetry: Telemetry, fp: FakeProvider) -> None:
    """Only ``include_usage`` is ours; other stream options the caller set stay on the resent request."""
    fp.strict = "mistral"
    client = client_at(fp, "http://strict-gateway-2.example/v1")
    with pytest.raises(openai.UnprocessableEntityError):  # the caller's own options: their error, as before
        client.chat.completions.create(
            model=MODEL, messages=HI, stream=True, stream_options={"include_usage": True}
        )
    assert len(fp.requests) == 1
    assert telemetry.value("llm_telemetry_errors_total", error_type="bad_request") == 1


def test_no_injection_for_mistral_and_old_azure_api_versions(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.strict = "mistral"
    mistral = client_at(fp, "https://api.mistral.ai/v1")
    list(mistral.chat.completions.create(model="mistral-small-latest", messages=HI, stream=True))
    fp.strict = "azure"
    http = openai.DefaultHttpxClient(transport=fp.transport(_http()))
    azure = openai.AzureOpenAI(
        azure_endpoint="https://acme.openai.azure.com",
        api_version="2024-06-01",
        api_key="x",
        http_client=http,
    )
    list(azure.chat.completions.create(model="gpt-4o", messages=HI, stream=True))
    assert ["stream_options" in r.body for r in fp.requests] == [False, False]
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert {s["provider"] for s, v in telemetry.samples("llm_telemetry_requests_total") if v} == {
        "mistral_ai",
        "azure.ai.openai",
    }
    fp.strict = None
    new = openai.AzureOpenAI(
        azure_endpoint="https://acme.openai.azure.com",
        api_version="2024-10-21",
        api_key="x",
        http_client=http,
    )
    list(new.chat.completions.create(model="gpt-4o", messages=HI, stream=True))
    assert fp.requests[-1].body["stream_options"] == {"include_usage": True}


def test_llama_cpp_usage_chunk_reaches_the_caller_as_uninstrumented(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    """llama.cpp's server always sends the usage chunk (with ``timings``): the caller keeps receiving it."""
    client = client_at(fp, "http://llama-box.internal:8080/v1")

    def run() -> list[Any]:
        fp.script(ChatStream(always_usage=True))
        return list(client.chat.completions.create(model="qwen2.5", messages=HI, stream=True))

    expected = baseline(telemetry, run)
    got = run()
    assert [len(c.choices) for c in got] == [len(c.choices) for c in expected] == [1, 1, 1, 1, 0]
    assert got[-1].usage is not None and got[-1].usage.prompt_tokens == 12
    assert telemetry.value("llm_telemetry_input_tokens_total") == 12
    assert telemetry.value("llm_telemetry_output_tokens_total") == 2
    # Learnt: that host is no longer asked at all.
    run()
    assert "stream_options" not in fp.requests[-1].body
    assert telemetry.value("llm_telemetry_input_tokens_total") == 24


def test_litellm_proxy_headers_keep_its_usage_chunk(telemetry: Telemetry, fp: FakeProvider) -> None:
    """LiteLLM's proxy (``x-litellm-*`` headers) can be set to always stream usage: not ours to hide."""
    client = client_at(fp, "http://litellm-proxy.internal:4000/v1")
    fp.script(ChatStream(always_usage=True, headers={"x-litellm-version": "1.80.0"}))
    got = list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert [len(c.choices) for c in got] == [1, 1, 1, 1, 0]
    assert telemetry.value("llm_telemetry_input_tokens_total") == 12


def test_a_null_usage_chunk_we_asked_for_never_reaches_the_caller(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(ChatStream(null_usage=True))
    client = client_at(fp)
    texts = [
        c.choices[0].delta.content
        for c in client.chat.completions.create(model=MODEL, messages=HI, stream=True)
    ]
    assert texts == ["", "Hel", "lo", None]  # a plain ``chunk.choices[0]`` loop works
    assert requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="not_reported") == 1


# -- ending a stream never waits on the network ---------------------------------------------------


def _finished(stream: Any) -> Iterator[Any]:
    """Read up to and including the chunk carrying the finish reason."""
    for chunk in stream:
        yield chunk
        if chunk.choices and chunk.choices[0].finish_reason:
            return


def test_close_right_after_the_finish_reason_does_not_wait_for_a_late_usage_chunk(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(ChatStream(usage_delay=30))
    stream = client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=True)
    list(_finished(stream))
    closer = threading.Thread(target=stream.close)
    closer.start()
    closer.join(10)  # hang detection only: a blocking close would wait the 30 s delay
    assert not closer.is_alive()
    assert requests(telemetry, outcome="success") == 1  # the response was complete
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="interrupted") == 1
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0


def test_close_right_after_the_finish_reason_takes_a_usage_chunk_already_sent(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(ChatStream())
    stream = client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=True)
    list(_finished(stream))
    assert fp.wait_streamed()
    stream.close()
    assert requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 12
    assert telemetry.value("llm_telemetry_output_tokens_total") == 2


def test_breaking_at_the_finish_reason_and_dropping_the_stream_keeps_the_tokens(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(ChatStream())
    stream = client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=True)
    for chunk in stream:
        if chunk.choices[0].finish_reason:
            break
    assert fp.wait_streamed()  # the provider sent everything, the usage chunk included
    del stream, chunk
    gc.collect()
    assert llm_telemetry.flush(5)
    assert requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 12


async def test_a_cancelled_async_close_still_ends_the_record_and_the_request(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(ChatStream(usage_delay=30))
    http = openai.DefaultAsyncHttpxClient(transport=fp.transport(_http(), asynchronous=True))
    client = openai.AsyncOpenAI(base_url=fp.openai_base_url, api_key="x", http_client=http)
    stream = await client.chat.completions.create(model=MODEL, messages=HI, stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].finish_reason:
            break
    task = asyncio.ensure_future(stream.close())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert stream.response.is_closed


# -- counting rules -------------------------------------------------------------------------------


def test_anthropic_local_refusal_is_not_a_request(telemetry: Telemetry, fp: FakeProvider) -> None:
    """The SDK refuses a large non-streamed ``max_tokens`` before sending anything: no request, no span."""
    client = anthropic.Anthropic(base_url=fp.anthropic_base_url, api_key="x")
    with pytest.raises(ValueError, match=r"[Ss]treaming is"):
        client.messages.create(model="claude-opus-4-1-20250805", max_tokens=128_000, messages=HI)
    assert fp.requests == []
    assert requests(telemetry) == 0 and telemetry.value("llm_telemetry_in_flight_requests") == 0
    assert telemetry.spans() == ()
    fp.script(Message())  # and the next call is counted as usual
    client.messages.create(model="claude-opus-4-1-20250805", max_tokens=1024, messages=HI)
    assert requests(telemetry, outcome="success") == 1


def test_finish_reasons_once_per_choice_and_n2_cut_short_is_not_a_success(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    client = client_at(fp)
    fp.script(ChatStream(choices=2))
    list(client.chat.completions.create(model=MODEL, messages=HI, stream=True, n=2))
    assert telemetry.value("llm_telemetry_finish_reasons_total", finish_reason="stop") == 2
    assert requests(telemetry, outcome="success") == 1
    # Cut after the first choice finished (4 events: role, 2 deltas, its finish): not complete.
    fp.script(ChatStream(choices=2, die_after=4))
    with pytest.raises(Exception):  # noqa: B017 - whatever this SDK version raises for a cut body
        list(client.chat.completions.create(model=MODEL, messages=HI, stream=True, n=2))
    assert requests(telemetry, outcome="success") == 1
    assert telemetry.value("llm_telemetry_errors_total", error_type="stream_interrupted") == 1


def test_stream_1_is_a_stream(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream())
    items = list(client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=1))  # type: ignore[call-overload]
    assert len(items) == 4
    assert telemetry.value("llm_telemetry_requests_total", stream="true", outcome="success") == 1


def test_system_exit_mid_stream_is_a_cancellation(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream())
    stream = client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=True)
    with pytest.raises(SystemExit):
        for _ in stream:
            raise SystemExit(0)
    stream.close()
    assert requests(telemetry, outcome="cancelled") == 1 and requests(telemetry, outcome="error") == 0


def test_litellm_estimates_never_enter_the_token_families(telemetry: Telemetry, fp: FakeProvider) -> None:
    import litellm

    fp.script(ChatStream(usage=None), Chat(usage=None))
    chunks = list(
        litellm.completion(
            model="openai/gpt-4o-mini", api_base=fp.openai_base_url, api_key="x", messages=HI, stream=True
        )
    )
    assert chunks  # LiteLLM's own estimate may ride on the last chunk; it is not billed usage
    litellm.completion(model="openai/gpt-4o-mini", api_base=fp.openai_base_url, api_key="x", messages=HI)
    assert telemetry.value("llm_telemetry_input_tokens_total") == 0
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="not_reported") == 2


# -- hostile values never break /metrics or the span --------------------------------------------


def test_lone_surrogates_in_models_and_attribution_never_break_the_exposition(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    llm_telemetry.instrument(registry=telemetry.registry, metric_attributes=["tenant"])
    fp.script(Chat(model="gpt-4o-mini\ud83d"), ChatStream(model="gpt-4o-mini\ud83d"))
    client = client_at(fp)
    with llm_telemetry.attributes(tenant="acme\ud83d"):
        client.chat.completions.create(model=MODEL, messages=HI)
        list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    text = generate_latest(telemetry.registry).decode()
    assert 'tenant="acme?"' in text and 'response_model="gpt-4o-mini?"' in text
    assert telemetry.value("llm_telemetry_input_tokens_total") == 24
    spans = telemetry.spans()
    assert {s.attributes["gen_ai.response.model"] for s in spans} == {"gpt-4o-mini?"}  # type: ignore[index]


def test_non_string_response_model_keeps_the_usage_on_the_span(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    from llm_telemetry.testing import Raw

    body = (
        '{"id":"x","object":"chat.completion","created":1,"model":123,"choices":[{"index":0,'
        '"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
        '"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}'
    )
    fp.script(Raw(body=body))
    client_at(fp).chat.completions.create(model=MODEL, messages=HI)
    (span,) = telemetry.spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 7  # type: ignore[index]
    assert "llm_telemetry.cost.usd" in span.attributes  # type: ignore[operator]
    assert telemetry.value("llm_telemetry_input_tokens_total", response_model=MODEL) == 7


def test_a_delta_that_is_a_plain_dict_is_read(telemetry: Telemetry, fp: FakeProvider) -> None:
    from llm_telemetry.testing import Raw

    events = [
        '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        '"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}',
    ]
    body = "".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n"
    fp.script(Raw(content_type="text/event-stream", body=body))
    stream = client_at(fp).chat.completions.create(model=MODEL, messages=HI, stream=True)
    for chunk in stream:
        chunk.choices[0].delta = {"content": "hi"}  # type: ignore[assignment]
    assert telemetry.value("llm_telemetry_internal_errors_total") == 0
    assert telemetry.value("llm_telemetry_input_tokens_total") == 3


def test_sdk_exception_objects_pass_through_untouched_on_strict_retry(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    """A strict server's other errors are not retried by us: the caller gets the SDK's own error."""
    from llm_telemetry.testing import Error

    fp.script(Error(401))
    with pytest.raises(openai.AuthenticationError):
        list(
            client_at(fp, "http://strict-3.example/v1").chat.completions.create(
                model=MODEL, messages=HI, stream=True
            )
        )
    assert len(fp.requests) == 1
    assert telemetry.value("llm_telemetry_errors_total", error_type="auth") == 1


def test_usage_objects_reported_by_value(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(5, 1)))
    result = client_at(fp).chat.completions.create(model=MODEL, messages=HI)
    assert result.usage is not None
    result.usage.prompt_tokens = 10_000  # a layer above rewriting usage afterwards changes nothing
    assert telemetry.value("llm_telemetry_input_tokens_total") == 5


def test_an_impossible_token_count_is_an_internal_error_not_a_bill(
    telemetry: Telemetry, fp: FakeProvider
) -> None:
    fp.script(Chat(usage=openai_usage(2**32 - 1, 3)))
    result = client_at(fp).chat.completions.create(model=MODEL, messages=HI)
    assert (
        result.usage is not None and result.usage.prompt_tokens == 2**32 - 1
    )  # the caller's view is untouched
    assert telemetry.value("llm_telemetry_input_tokens_total") == 0
    assert telemetry.value("llm_telemetry_output_tokens_total") == 3
    assert telemetry.value("llm_telemetry_internal_errors_total", stage="result") == 1


@pytest.mark.instrument(otel_metrics=False)  # 2,000 models would fill the session MeterProvider's limit
def test_any_number_of_unpriced_model_names_keeps_memory_and_logging_bounded(
    telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    from llm_telemetry.record import begin
    from llm_telemetry.record import telemetry as state
    from llm_telemetry.usage import Usage

    logged = set(state._logged)
    try:
        for n in range(2_000):
            call = begin("openai", "chat", f"my-own-model-{n}")
            assert call is not None
            call.succeed(Usage(input=1, output=1), f"my-own-model-{n}")
        warnings = [r for r in caplog.records if "no price known" in r.getMessage()]
        assert 0 < len(warnings) <= state._LOGGED_LIMIT
        assert len(state._logged) <= state._LOGGED_LIMIT + 1
    finally:  # the budget is process-wide: give later tests theirs back
        state._logged.clear()
        state._logged.update(logged)
    assert telemetry.value("llm_telemetry_unpriced_requests_total") == 2_000
