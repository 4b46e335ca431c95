"""dspy integration: dspy 3.4's default engine (lm15, its own HTTP transport) over real HTTP to the fake
provider, its own retries and response cache, its streams, and ``engine="litellm"`` counted once.

Every family is read from the provider's own JSON with the direct integrations' dialects, so a dspy call
records what the same call through the provider's SDK records (``test_openai.check`` asserts each).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import dspy
import pytest
import wrapt
from dspy.clients import execution
from dspy.utils import exceptions as dspy_errors

import llm_telemetry
from llm_telemetry.integrations import dspy as dspy_integration
from llm_telemetry.integrations.dspy import error_type
from llm_telemetry.testing import (
    Chat,
    ChatStream,
    Error,
    FakeProvider,
    GenerateContent,
    GenerateContentStream,
    Message,
    MessageStream,
    Responses,
    anthropic_usage,
    gemini_usage,
    openai_usage,
    responses_usage,
)
from llm_telemetry.usage import Usage

from .sdk_checks import assert_costs, in_flight, raised, same_for_caller
from .sdk_checks import frozen_heap as frozen_heap
from .test_fakeprovider_dspy import _lm
from .test_openai import Expect, Tokens, check

if TYPE_CHECKING:
    from tests.conftest import Telemetry

MODEL = "openai/gpt-4o-mini"
SNAPSHOT = "gpt-4o-mini-2024-07-18"
HOOKED = ["execute", "aexecute", "_attempt", "_aattempt", "_retryable", "checked_stream", "achecked_stream"]


def expect(lm: Any, **changes: Any) -> Expect:
    """The expectation of one dspy call through ``lm``, whose last history entry holds the response."""
    response = lm.history[-1]["response"] if lm.history else None
    defaults = Expect(
        request_model=MODEL,
        response_model=SNAPSHOT,
        response_id=getattr(response, "id", None),
        provider="openai",
        tokens=Tokens(12, 3),
    )
    return dataclasses.replace(defaults, **changes)


async def call(lm: Any, is_async: bool, prompt: str = "hi") -> Any:
    return await lm.acall(prompt) if is_async else lm(prompt)


@pytest.fixture(params=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "async")


# -- the default (native) engine ------------------------------------------------------------------


async def test_openai_chat_every_family(telemetry: Telemetry, fp: FakeProvider, is_async: bool) -> None:
    fp.script(Chat(content="Paris.", usage=openai_usage(11, 4, cached=3, reasoning=2)))
    lm = _lm(fp)
    assert await call(lm, is_async) == ["Paris."]
    assert fp.requests[0].headers["user-agent"] == "lm15/stdlib"  # dspy's own transport, no SDK below
    check(telemetry, fp, expect(lm, tokens=Tokens(11, 4, cache_read=3, reasoning=2)))
    assert_costs(telemetry, "openai", SNAPSHOT, Usage(11, 4, 3, None, 2))


async def test_request_parameters_on_the_span(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(12, 3)))
    lm = _lm(fp, temperature=0.3, max_tokens=200)
    lm("hi")
    extra = {"gen_ai.request.temperature": 0.3, "gen_ai.request.max_tokens": 200}
    check(telemetry, fp, expect(lm, span_extra=extra))


async def test_responses_api(telemetry: Telemetry, fp: FakeProvider, is_async: bool) -> None:
    fp.script(Responses(usage=responses_usage(9, 2, cached=4, reasoning=1)))
    lm = _lm(fp, model_type="responses")
    await call(lm, is_async)
    expected = expect(
        lm, response_model="gpt-4.1-mini-2025-04-14", tokens=Tokens(9, 2, cache_read=4, reasoning=1)
    )
    check(telemetry, fp, expected)


CACHE_SPLIT = {
    "llm_telemetry.usage.cache_write_5m.input_tokens": 20,
    "llm_telemetry.usage.cache_write_1h.input_tokens": 0,
}


@pytest.mark.parametrize(
    ("reply", "model", "provider", "tokens", "span_extra"),
    [
        (
            Message(usage=anthropic_usage(10, 5, cache_read=100, cache_write=20)),
            "anthropic/claude-sonnet-4-5-20250929",
            "anthropic",
            Tokens(130, 5, cache_read=100, cache_write=20),  # Anthropic's input excludes cache: added
            CACHE_SPLIT,
        ),
        (
            GenerateContent(usage=gemini_usage(10, 5, thoughts=7, cached=4), id="resp-1"),
            "gemini/gemini-2.5-flash",
            "gcp.gemini",
            Tokens(10, 12, cache_read=4, reasoning=7),  # Gemini's thoughts are output (lm15 keeps them apart)
            {},
        ),
    ],
    ids=["anthropic", "gemini"],
)
async def test_anthropic_and_gemini_dialects(
    telemetry: Telemetry,
    fp: FakeProvider,
    is_async: bool,
    reply: Any,
    model: str,
    provider: str,
    tokens: Tokens,
    span_extra: dict[str, Any],
) -> None:
    fp.script(reply)
    lm = _lm(fp, model)
    await call(lm, is_async)
    served = model.split("/", 1)[1]
    check(
        telemetry,
        fp,
        expect(
            lm,
            request_model=model,
            response_model=served,
            provider=provider,
            tokens=tokens,
            span_extra=span_extra,
        ),
    )
    usage = Usage(tokens.input, tokens.output, tokens.cache_read, tokens.cache_write, tokens.reasoning)
    if span_extra:
        usage = dataclasses.replace(usage, cache_write_5m=20, cache_write_1h=0)
    assert_costs(telemetry, provider, served, usage)


async def test_the_caller_sees_what_it_would_uninstrumented(
    telemetry: Telemetry, fp: FakeProvider, is_async: bool
) -> None:
    lm = _lm(fp)

    async def run() -> Any:
        fp.script(Chat(content="Same.", usage=openai_usage(5, 2)))
        outputs = await call(lm, is_async)
        entry = lm.history[-1]
        return outputs, entry["usage"], entry["response_model"], entry["cost"]

    await same_for_caller(telemetry, run, lambda r: r)

    async def failing() -> Any:
        fp.script(Error(400))
        return await raised(lambda: call(_lm(fp, num_retries=0), is_async))

    await same_for_caller(telemetry, failing, str)


# -- dspy's own retries, failures, cache ----------------------------------------------------------


async def test_dspy_retries_are_retry_events(telemetry: Telemetry, fp: FakeProvider, is_async: bool) -> None:
    fp.script(Error(429), Error(500), Chat(usage=openai_usage(3, 1)))
    lm = _lm(fp)
    await call(lm, is_async)
    assert len(fp.requests) == 3 and len(lm.history) == 1
    check(telemetry, fp, expect(lm, tokens=Tokens(3, 1), retries=("rate_limit", "server")))


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "bad_request"), (401, "auth"), (404, "not_found"), (429, "rate_limit"), (500, "server")],
)
async def test_a_failed_call(
    telemetry: Telemetry, fp: FakeProvider, is_async: bool, status: int, kind: str
) -> None:
    fp.script(Error(status))
    lm = _lm(fp, num_retries=0)
    error = await raised(lambda: call(lm, is_async))
    assert isinstance(error, dspy_errors.LMError)
    check(
        telemetry,
        fp,
        expect(
            lm,
            response_model=None,
            response_id=None,
            outcome="error",
            error_type=kind,
            tokens=None,
            finish_reasons=(),
        ),
    )


async def test_a_cache_hit_is_not_a_request(telemetry: Telemetry, fp: FakeProvider, is_async: bool) -> None:
    saved = dspy.cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)
    try:
        fp.script(Chat(usage=openai_usage(12, 3)))
        lm = _lm(fp, cache=True)
        first = await call(lm, is_async, "cached?")
        assert await call(lm, is_async, "cached?") == first
    finally:
        dspy.cache = saved
    assert len(fp.requests) == 1
    check(telemetry, fp, expect(lm, response_id=lm.history[0]["response"].id))


async def test_a_call_refused_before_sending_is_not_a_request(
    telemetry: Telemetry, fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    lm = dspy.LM("anthropic/claude-sonnet-4-5-20250929", api_base=fp.url + "/v1", cache=False)
    with pytest.raises(dspy_errors.LMNotConfiguredError):
        lm("hi")
    assert fp.requests == []
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert in_flight(telemetry) == 0
    assert telemetry.spans() == ()


async def test_a_response_we_cannot_read_still_ends_its_record(
    telemetry: Telemetry, fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*args: Any) -> Any:
        raise KeyError("a shape we did not expect")

    monkeypatch.setattr(dspy_integration, "_native", unreadable)
    fp.script(Chat(usage=openai_usage(12, 3)))
    lm = _lm(fp)
    assert lm("hi") == ["Hello there."]
    expected = expect(
        lm,
        response_model=None,
        response_id=None,
        tokens=None,
        finish_reasons=(),
        missing="not_reported",
        internal_errors={"result": 1},
    )
    check(telemetry, fp, expected)


async def test_dummy_lm_sends_nothing_and_records_nothing(telemetry: Telemetry) -> None:
    from dspy.utils.dummies import DummyLM

    with dspy.context(lm=DummyLM([{"answer": "42"}])):
        assert dspy.Predict("question -> answer")(question="?").answer == "42"
    assert telemetry.samples("llm_telemetry_requests_total") == []


# -- streams --------------------------------------------------------------------------------------


ANSWER = ("[[ ## answer ## ]]\n", "Par", "is\n\n[[ ## completed ## ]]")


async def _streamed(lm: Any) -> list[Any]:
    listener = dspy.streaming.StreamListener(signature_field_name="answer")
    program = dspy.streamify(dspy.Predict("question -> answer"), stream_listeners=[listener])
    with dspy.context(lm=lm):
        outputs = [item async for item in program(question="Capital?")]
    assert outputs[-1].answer == "Paris"
    return outputs


async def test_streamify(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream(chunks=ANSWER, usage=openai_usage(50, 9)))
    lm = _lm(fp)
    await _streamed(lm)
    # lm15's assembled stream response has no id of its own: the provider's chunks carry it.
    chunk_id = lm.history[-1]["response"].provider_data["id"]
    check(
        telemetry, fp, expect(lm, response_id=chunk_id, stream=True, first_token=True, tokens=Tokens(50, 9))
    )


async def test_streamify_anthropic_and_gemini(telemetry: Telemetry, fp: FakeProvider) -> None:
    """Their streams end on an event with only part of the usage: every family still counts."""
    fp.script(
        MessageStream(chunks=ANSWER, usage=anthropic_usage(40, 9, cache_read=30, cache_write=0)),
        GenerateContentStream(chunks=ANSWER, usage=gemini_usage(20, 6, thoughts=4, cached=8)),
    )
    await _streamed(_lm(fp, "anthropic/claude-sonnet-4-5-20250929"))
    await _streamed(_lm(fp, "gemini/gemini-2.5-flash"))
    for provider, family, value in [
        ("anthropic", "input", 70),
        ("anthropic", "output", 9),
        ("anthropic", "cache_read", 30),
        ("gcp.gemini", "input", 20),
        ("gcp.gemini", "output", 10),
        ("gcp.gemini", "cache_read", 8),
        ("gcp.gemini", "reasoning", 4),
    ]:
        assert telemetry.value(f"llm_telemetry_{family}_tokens_total", provider=provider) == value, (
            provider,
            family,
        )
    assert telemetry.value("llm_telemetry_requests_total", outcome="success", stream="true") == 2
    assert telemetry.value("llm_telemetry_time_to_first_token_seconds_count") == 2


# -- through LiteLLM: counted once ----------------------------------------------------------------


@pytest.mark.slow  # importing LiteLLM takes seconds
async def test_litellm_engine_is_counted_once(telemetry: Telemetry, fp: FakeProvider, is_async: bool) -> None:
    fp.script(Error(500), Chat(usage=openai_usage(11, 4, cached=2)))
    lm = _lm(fp, engine="litellm")
    await call(lm, is_async)
    assert "x-stainless-lang" in fp.requests[-1].headers  # the openai SDK, under LiteLLM, under dspy
    assert len(telemetry.samples("llm_telemetry_requests_total")) == 3  # one label set: dspy's record
    check(
        telemetry,
        fp,
        expect(
            lm,
            response_id=lm.history[-1]["response"].id,
            tokens=Tokens(11, 4, cache_read=2),
            retries=("server",),
        ),
    )


# -- the pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (dspy_errors.ContextWindowExceededError(message="too long"), "context_length"),
        (dspy_errors.LMUnsupportedModelError("no such model"), "not_found"),
        (dspy_errors.LMRateLimitError("slow down"), "rate_limit"),
        (dspy_errors.LMBillingError("pay"), "quota"),
        (dspy_errors.LMAuthError("who"), "auth"),
        (dspy_errors.LMAuthError("no access", status=403), "permission"),
        (dspy_errors.LMServerError("Overloaded", status=529), "overloaded"),
        (dspy_errors.LMTimeoutError("late"), "timeout"),
        (dspy_errors.LMServerError("oops"), "server"),
        (dspy_errors.LMInvalidRequestError("bad"), "bad_request"),
        (dspy_errors.LMStreamAssemblyError("cut"), "stream_interrupted"),
        (dspy_errors.LMTransportError("down"), "connection"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v,
)
def test_error_types_by_class(error: Exception, kind: str) -> None:
    assert error_type(error) == kind


def test_uninstrument_restores_every_original(telemetry: Telemetry) -> None:
    hooked = {name: vars(execution)[name] for name in HOOKED}
    assert all(isinstance(v, wrapt.FunctionWrapper) for v in hooked.values())
    llm_telemetry.uninstrument()
    for name, hook in hooked.items():
        assert vars(execution)[name] is hook.__wrapped__
