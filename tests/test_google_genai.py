"""google-genai integration: the real SDK (Developer API and Vertex AI, sync and ``aio``) over real HTTP to
the fake provider, every family, cost component, span and retry asserted exactly (``test_openai.check``).

Each HTTP request the SDK sends is one record: automatic function calling and chats included; the SDK's
own retries (``HttpRetryOptions``) are retry events on it; ``count_tokens`` is nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
import wrapt
from google.genai import _api_client, errors, models, types

import llm_telemetry
from llm_telemetry.integrations.google_genai import gemini_usage, modalities
from llm_telemetry.testing import (
    CountTokens,
    EmbedContent,
    Error,
    FakeProvider,
    GenerateContent,
    GenerateContentStream,
    Hang,
    Raw,
    gemini_error,
)
from llm_telemetry.testing import (
    gemini_usage as wire_usage,
)
from llm_telemetry.usage import Billed, Usage

from .sdk_checks import assert_costs, collected, in_flight, raised, same_for_caller
from .sdk_checks import frozen_heap as frozen_heap
from .test_fakeprovider_gemini import RETRY, _developer, _vertex
from .test_openai import Expect, Tokens, check

if TYPE_CHECKING:
    from tests.conftest import Telemetry

MODEL = "gemini-2.5-flash"
EMBED = "gemini-embedding-001"
GEMINI = Expect(
    request_model=MODEL,
    response_model=MODEL,
    response_id="resp-1",
    operation="generate_content",
    provider="gcp.gemini",
    tokens=Tokens(12, 3),
)


def gem(**changes: Any) -> Expect:
    """A Gemini generateContent expectation with ``changes``."""
    return dataclasses.replace(GEMINI, **changes)


def failed(error_type: str, **changes: Any) -> Expect:
    """A request that failed with no response."""
    return gem(
        response_model=None,
        response_id=None,
        outcome="error",
        error_type=error_type,
        tokens=None,
        finish_reasons=(),
        **changes,
    )


def broken(error_type: str, **changes: Any) -> Expect:
    """A stream that failed after it began (so before its finish reason)."""
    changes.setdefault("finish_reasons", ())
    return gem(stream=True, first_token=True, outcome="error", error_type=error_type, **changes)


HOOKED = [
    (models.Models, "_generate_content"),
    (models.Models, "_generate_content_stream"),
    (models.Models, "_embed_content"),
    (models.AsyncModels, "_generate_content"),
    (models.AsyncModels, "_generate_content_stream"),
    (models.AsyncModels, "_embed_content"),
    (_api_client.BaseApiClient, "_request_once"),
    (_api_client.BaseApiClient, "_async_request_once"),
]


class Gemini:
    """One client driven the same way sync (``client.models``) or async (``client.aio.models``)."""

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async
        self.models = client.aio.models if is_async else client.models

    async def generate(self, **kwargs: Any) -> Any:
        kwargs.setdefault("model", MODEL)
        kwargs.setdefault("contents", "hi")
        result = self.models.generate_content(**kwargs)
        return await result if self.is_async else result

    async def embed(self, **kwargs: Any) -> Any:
        kwargs.setdefault("model", EMBED)
        result = self.models.embed_content(**kwargs)
        return await result if self.is_async else result

    async def count(self, **kwargs: Any) -> Any:
        result = self.models.count_tokens(model=MODEL, contents="how many?", **kwargs)
        return await result if self.is_async else result

    async def open_stream(self, **kwargs: Any) -> Any:
        kwargs.setdefault("model", MODEL)
        kwargs.setdefault("contents", "hi")
        stream = self.models.generate_content_stream(**kwargs)
        return await stream if self.is_async else stream

    async def stream(self, limit: int | None = None, **kwargs: Any) -> list[Any]:
        """The chunks a caller's loop sees: all, or the first ``limit`` before it breaks."""
        stream = await self.open_stream(**kwargs)
        seen: list[Any] = []
        if self.is_async:
            async for chunk in stream:
                seen.append(chunk)
                if len(seen) == limit:
                    break
        else:
            for chunk in stream:
                seen.append(chunk)
                if len(seen) == limit:
                    break
        return seen


#: One event loop for the module, so each client (and its aiohttp session) serves every test.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def clients(server: FakeProvider) -> AsyncIterator[dict[str, Any]]:
    """The module's clients: Developer API, Vertex AI, and the Developer API with retries."""
    made = {"developer": _developer(server), "vertex": _vertex(server), "retrying": _developer(server, RETRY)}
    yield made
    for client in made.values():
        await client.aio.aclose()
        client.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> bool:
    """True: drive ``client.aio.models``."""
    return bool(request.param == "async")


@pytest.fixture
def gemini(clients: dict[str, Any], mode: bool) -> Gemini:
    return Gemini(clients["developer"], mode)


@pytest.fixture
def vertex(clients: dict[str, Any], mode: bool) -> Gemini:
    return Gemini(clients["vertex"], mode)


@pytest.fixture
def retrying(clients: dict[str, Any], mode: bool) -> Gemini:
    return Gemini(clients["retrying"], mode)


def _dump(response: Any) -> Any:
    return response.model_dump(exclude={"sdk_http_response"})


def _dumps(chunks: list[Any]) -> list[Any]:
    return [_dump(c) for c in chunks]


# -- generateContent ------------------------------------------------------------------------------


async def test_every_token_family_cost_and_span(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    # Field meanings: https://ai.google.dev/api/generate-content#UsageMetadata (contract v1.1 Gemini row).
    usage = wire_usage(120, 30, thoughts=45, cached=64, tool_use_prompt=9)
    fp.script(GenerateContent(text="Paris.", usage=usage, id="resp-1"))
    config = {"temperature": 0.2, "max_output_tokens": 256, "top_k": 40}
    response = await gemini.generate(contents="Capital of France?", config=config)
    assert response.text == "Paris."
    check(
        telemetry,
        fp,
        gem(
            tokens=Tokens(129, 75, cache_read=64, reasoning=45),
            span_extra={
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 256,
                "gen_ai.request.top_k": 40,
            },
        ),
    )
    assert_costs(telemetry, "gcp.gemini", MODEL, Usage(129, 75, 64, None, 45))


async def test_audio_and_image_tokens(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    """Contract v1.1: ``promptTokensDetails`` / ``candidatesTokensDetails`` AUDIO and IMAGE entries are the
    audio and image families (subsets: the input and output counts still hold them)."""
    prompt, output = {"TEXT": 100, "AUDIO": 12, "IMAGE": 8}, {"TEXT": 26, "AUDIO": 4}
    usage = wire_usage(120, 30, prompt_details=prompt, candidates_details=output)
    fp.script(GenerateContent(usage=usage, id="resp-1"))
    await gemini.generate()
    units = {"audio_input": 12, "image_input": 8, "audio_output": 4}
    check(
        telemetry,
        fp,
        gem(
            tokens=Tokens(120, 30),
            span_extra={f"llm_telemetry.usage.{k}_tokens": n for k, n in units.items()},
        ),
    )
    families = {
        name: telemetry.value(f"llm_telemetry_{name}_tokens_total")
        for name in ("audio_input", "image_input", "audio_output", "image_output")
    }
    assert families == {"audio_input": 12, "image_input": 8, "audio_output": 4, "image_output": 0}
    billed = Billed(audio_input=12, image_input=8, audio_output=4)
    assert_costs(telemetry, "gcp.gemini", MODEL, Usage(120, 30, billed=billed))


async def test_vertex_ai_provider_and_usage(telemetry: Telemetry, fp: FakeProvider, vertex: Gemini) -> None:
    fp.script(GenerateContent(model="gemini-2.5-flash", usage=wire_usage(40, 8, cached=16), id="resp-1"))
    response = await vertex.generate()
    assert response.usage_metadata.traffic_type == types.TrafficType.ON_DEMAND
    check(telemetry, fp, gem(provider="gcp.vertex_ai", tokens=Tokens(40, 8, cache_read=16)))
    assert_costs(telemetry, "gcp.vertex_ai", MODEL, Usage(40, 8, 16))
    assert fp.requests[0].path.startswith("/v1beta1/projects/proj/locations/us-central1/publishers/google/")


async def test_a_dated_response_model_is_priced_as_requested(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    fp.script(GenerateContent(model="gemini-2.5-flash-001", usage=wire_usage(10, 2), id="resp-1"))
    await gemini.generate()
    check(telemetry, fp, gem(response_model="gemini-2.5-flash-001", tokens=Tokens(10, 2)))
    assert_costs(telemetry, "gcp.gemini", MODEL, Usage(10, 2))


async def test_the_caller_sees_what_it_would_uninstrumented(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    def script() -> None:
        fp.script(GenerateContent(text="Same.", usage=wire_usage(7, 2, thoughts=3), id="resp-1"))

    async def run() -> Any:
        script()
        return await gemini.generate()

    await same_for_caller(telemetry, run, _dump)

    async def run_stream() -> list[Any]:
        fp.script(GenerateContentStream(chunks=("a", "b"), usage=wire_usage(8, 4), thought="t", id="resp-1"))
        return await gemini.stream()

    chunks = await same_for_caller(telemetry, run_stream, _dumps)
    assert [c.text for c in chunks] == [None, "a", "b"]

    async def run_embed() -> Any:
        fp.script(EmbedContent(prompt_tokens=4))
        return await gemini.embed(contents=["x", "y"])

    await same_for_caller(telemetry, run_embed, _dump)

    async def run_error() -> Any:
        fp.script(Error(429))
        return await raised(gemini.generate)

    error = await same_for_caller(telemetry, run_error, lambda e: (e.code, e.details))
    assert isinstance(error, errors.ClientError)
    assert telemetry.value("llm_telemetry_requests_total") == 4  # the instrumented half only


async def test_no_usage_reported(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(GenerateContent(usage=None, id="resp-1"))
    await gemini.generate()
    check(telemetry, fp, gem(tokens=None, missing="not_reported"))


async def test_a_reply_that_only_thought(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    """Proto3 JSON leaves out zero counts: no candidatesTokenCount at all (the SDK reads None)."""
    fp.script(GenerateContent(text="", usage=wire_usage(27, 0, thoughts=194), id="resp-1"))
    await gemini.generate()
    check(telemetry, fp, gem(tokens=Tokens(27, 194, reasoning=194)))


@pytest.mark.parametrize(
    ("reply", "raw", "label"),
    [
        (GenerateContent(finish_reason="MAX_TOKENS"), "max_tokens", "length"),
        (GenerateContent(finish_reason="SAFETY"), "safety", "content_filter"),
        (GenerateContent(finish_reason="RECITATION"), "recitation", "content_filter"),
        (GenerateContent(finish_reason="MALFORMED_FUNCTION_CALL"), "malformed_function_call", "other"),
        (
            GenerateContent(function_call={"name": "weather", "args": {"city": "Oslo"}}),
            "tool_calls",
            "tool_calls",
        ),
    ],
    ids=["max_tokens", "safety", "recitation", "malformed", "function_call"],
)
async def test_finish_reasons(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini, reply: GenerateContent, raw: str, label: str
) -> None:
    fp.script(reply)
    await gemini.generate()
    assert {s[0]["finish_reason"]: s[1] for s in telemetry.samples("llm_telemetry_finish_reasons_total")} == {
        label: 1.0
    }
    (span,) = telemetry.spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.finish_reasons"] == (raw,)


async def test_a_blocked_prompt_is_content_filter(
    telemetry: Telemetry, fp: FakeProvider, clients: dict[str, Any]
) -> None:
    """A prompt blocked outright is a 200 with ``promptFeedback.blockReason`` and no candidates
    (https://ai.google.dev/api/generate-content#PromptFeedback)."""
    body = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": MODEL,
        "responseId": "resp-1",
    }
    fp.script(Raw(body=json.dumps(body)))
    response = await Gemini(clients["developer"], False).generate()
    assert response.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    check(telemetry, fp, gem(tokens=Tokens(9, 0), finish_reasons=("content_filter",)))


# -- one record per billed response: AFC, chats, count_tokens -------------------------------------


def get_weather(city: str) -> str:
    """The weather in a city (a Python tool: google-genai calls it and sends the result back)."""
    return f"Sunny in {city}."


async def test_automatic_function_calling_counts_each_request(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    fp.script(
        GenerateContent(
            function_call={"name": "get_weather", "args": {"city": "Oslo"}}, usage=wire_usage(20, 5)
        ),
        GenerateContent(text="It is sunny.", usage=wire_usage(40, 6)),
    )
    response = await gemini.generate(contents="Weather in Oslo?", config={"tools": [get_weather]})
    assert response.text == "It is sunny."
    assert response.usage_metadata.prompt_token_count == 40  # the caller sees only the last response
    assert len(fp.requests) == 2
    base = {"provider": "gcp.gemini", "request_model": MODEL, "operation": "generate_content"}
    assert telemetry.value("llm_telemetry_requests_total", outcome="success", **base) == 2
    assert telemetry.value("llm_telemetry_input_tokens_total", **base) == 60
    assert telemetry.value("llm_telemetry_output_tokens_total", **base) == 11
    assert telemetry.value("llm_telemetry_finish_reasons_total", finish_reason="tool_calls") == 1
    assert telemetry.value("llm_telemetry_finish_reasons_total", finish_reason="stop") == 1
    spans = telemetry.spans()
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in spans] == [20, 40]  # type: ignore[index]
    assert_costs(telemetry, "gcp.gemini", MODEL, Usage(20, 5), Usage(40, 6))


async def test_chats_are_counted_per_message(
    telemetry: Telemetry, fp: FakeProvider, clients: dict[str, Any]
) -> None:
    client = clients["developer"]
    fp.script(GenerateContent(usage=wire_usage(5, 2)), GenerateContent(usage=wire_usage(12, 3)))
    chat = client.chats.create(model=MODEL)
    chat.send_message("hi")
    chat.send_message("again")
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == 2
    assert telemetry.value("llm_telemetry_input_tokens_total") == 17
    assert len(telemetry.spans()) == 2


async def test_count_tokens_is_not_a_request(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(CountTokens(total_tokens=31))
    assert (await gemini.count()).total_tokens == 31
    assert telemetry.samples("llm_telemetry_requests_total") == []
    assert telemetry.spans() == ()


async def test_a_local_refusal_is_not_a_request(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    error = await raised(lambda: gemini.generate(config={"temperature": "warm"}))
    assert type(error).__name__ == "ValidationError"  # pydantic, before anything is sent
    config = {"should_return_http_response": True}
    refused = await raised(lambda: gemini.stream(config=config))
    assert isinstance(refused, ValueError) and "streaming" in str(refused)
    assert fp.requests == []
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert in_flight(telemetry) == 0
    assert telemetry.spans() == ()


# -- streams --------------------------------------------------------------------------------------


async def test_stream_usage_is_the_last_value(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    usage = wire_usage(10, 6, thoughts=5, cached=4)
    fp.script(
        GenerateContentStream(
            chunks=("The ", "capital ", "is Paris."), usage=usage, thought="Hm.", id="resp-1"
        )
    )
    chunks = await gemini.stream(contents="Capital?")
    assert "".join(c.text or "" for c in chunks) == "The capital is Paris."
    check(
        telemetry,
        fp,
        gem(stream=True, first_token=True, tokens=Tokens(10, 11, cache_read=4, reasoning=5)),
    )
    assert_costs(telemetry, "gcp.gemini", MODEL, Usage(10, 11, 4, None, 5))


async def test_vertex_stream_counts_arrive_at_the_end(
    telemetry: Telemetry, fp: FakeProvider, vertex: Gemini
) -> None:
    """Vertex AI sends only ``{"trafficType": ...}`` as usage until the last event: no reset to zero."""
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), usage=wire_usage(5, 3), id="resp-1"))
    await vertex.stream()
    check(telemetry, fp, gem(provider="gcp.vertex_ai", stream=True, first_token=True, tokens=Tokens(5, 3)))


async def test_stream_cut_counts_the_running_usage(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    """The Developer API's running usage (prompt whole, candidates so far) is billed even if cut."""
    fp.script(
        GenerateContentStream(chunks=("a", "b", "c"), usage=wire_usage(12, 3), die_after=1, id="resp-1")
    )
    error = await raised(gemini.stream)
    assert not isinstance(error, errors.APIError)  # the HTTP library's own error escapes
    check(
        telemetry,
        fp,
        broken("stream_interrupted", tokens=Tokens(12, 1)),
    )


async def test_vertex_stream_cut_has_no_usage(telemetry: Telemetry, fp: FakeProvider, vertex: Gemini) -> None:
    fp.script(
        GenerateContentStream(chunks=("a", "b", "c"), usage=wire_usage(12, 3), die_after=1, id="resp-1")
    )
    await raised(vertex.stream)
    check(
        telemetry,
        fp,
        broken("stream_interrupted", provider="gcp.vertex_ai", tokens=None, missing="interrupted"),
    )


async def test_an_error_event_mid_stream(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(
        GenerateContentStream(
            chunks=("a", "b", "c"), usage=wire_usage(12, 3), error_after=2, error_status=503, id="resp-1"
        )
    )
    error = await raised(gemini.stream)
    assert isinstance(error, errors.ServerError) and error.status == "UNAVAILABLE"
    check(
        telemetry,
        fp,
        broken("overloaded", tokens=Tokens(12, 2)),
    )


async def test_stream_broken_off_and_collected_ends_once(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), usage=wire_usage(12, 3), id="resp-1"))
    assert len(await gemini.stream(limit=1)) == 1
    await collected()
    check(
        telemetry,
        fp,
        gem(stream=True, first_token=True, outcome="cancelled", tokens=Tokens(12, 1), finish_reasons=()),
    )


async def test_stream_closed_early(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), usage=wire_usage(12, 3), id="resp-1"))
    stream = await gemini.open_stream()
    if gemini.is_async:
        first = await stream.__anext__()
        await stream.aclose()
    else:
        first = next(stream)
        stream.close()
    assert first.text == "a"
    await collected()
    check(
        telemetry,
        fp,
        gem(stream=True, first_token=True, outcome="cancelled", tokens=Tokens(12, 1), finish_reasons=()),
    )


async def test_stream_left_after_its_last_event_is_a_success(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini
) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b"), usage=wire_usage(12, 2), id="resp-1"))
    assert len(await gemini.stream(limit=2)) == 2
    await collected()
    check(telemetry, fp, gem(stream=True, first_token=True, tokens=Tokens(12, 2)))


# -- embeddings -----------------------------------------------------------------------------------


async def test_embeddings(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(EmbedContent(prompt_tokens=9))
    response = await gemini.embed(contents=["a", "b", "c"])
    assert len(response.embeddings) == 3
    embeddings = Expect(
        request_model=EMBED,
        response_model=None,
        operation="embeddings",
        provider="gcp.gemini",
        tokens=Tokens(9, None),
        finish_reasons=(),
    )
    if "usage_metadata" not in types.EmbedContentResponse.model_fields:  # google-genai 2.0 drops it
        check(telemetry, fp, dataclasses.replace(embeddings, tokens=None, missing="not_reported"))
        return
    check(telemetry, fp, embeddings)
    assert_costs(telemetry, "gcp.gemini", EMBED, Usage(input=9))


async def test_vertex_predict_embeddings_sum_the_statistics(
    telemetry: Telemetry, fp: FakeProvider, vertex: Gemini
) -> None:
    """``text-embedding-*`` models go to ``:predict``, which counts tokens per instance."""
    fp.script(EmbedContent(prompt_tokens=7))
    response = await vertex.embed(model="text-embedding-005", contents=["ab", "cde"])
    assert [e.statistics.token_count for e in response.embeddings] == [4, 3]
    base = {"provider": "gcp.vertex_ai", "request_model": "text-embedding-005", "operation": "embeddings"}
    assert telemetry.value("llm_telemetry_requests_total", outcome="success", **base) == 1
    assert telemetry.value("llm_telemetry_input_tokens_total", **base) == 7
    # Vertex bills these models by character: no token price is invented.
    assert telemetry.value("llm_telemetry_unpriced_requests_total", **base) == 1
    assert telemetry.value("llm_telemetry_cost_usd_total") == 0
    (span,) = telemetry.spans()
    assert span.attributes is not None and span.attributes["gen_ai.usage.input_tokens"] == 7


# -- retries and errors ---------------------------------------------------------------------------


async def test_retries_are_counted_with_their_reasons(
    telemetry: Telemetry, fp: FakeProvider, retrying: Gemini
) -> None:
    fp.script(Error(429), Error(503), GenerateContent(usage=wire_usage(3, 1), id="resp-1"))
    await retrying.generate()
    assert len(fp.requests) == 3
    check(telemetry, fp, gem(tokens=Tokens(3, 1), retries=("rate_limit", "overloaded")))


async def test_retries_that_give_up(telemetry: Telemetry, fp: FakeProvider, retrying: Gemini) -> None:
    fp.script(Error(500), Error(502), Error(500))
    error = await raised(retrying.generate)
    assert isinstance(error, errors.ServerError) and error.code == 500
    check(
        telemetry,
        fp,
        failed("server", retries=("server", "server")),
    )


async def test_a_stream_retried_per_request(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(Error(429), GenerateContentStream(chunks=("x",), usage=wire_usage(4, 1), id="resp-1"))
    config = types.GenerateContentConfig(http_options=types.HttpOptions(retry_options=RETRY))
    assert [c.text for c in await gemini.stream(config=config)] == ["x"]
    check(telemetry, fp, gem(stream=True, first_token=True, tokens=Tokens(4, 1), retries=("rate_limit",)))


def _bad_key() -> dict[str, Any]:
    """The Developer API's answer to a wrong key: 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID, as
    recorded in https://github.com/continuedev/continue/issues/8516."""
    return {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "API key not valid. Please pass a valid API key.",
                },
            ],
        }
    }


def _too_long() -> dict[str, Any]:
    """An over-long prompt, as recorded in https://github.com/google-gemini/gemini-cli/issues/6678."""
    message = "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576)."
    return {
        "error": {
            "code": 400,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "badRequest"}],
            "status": "INVALID_ARGUMENT",
        }
    }


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [
        (Error(429), "rate_limit"),
        (
            Error(429, body=gemini_error(429, quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier")),
            "quota",
        ),
        (Error(400), "bad_request"),
        (Error(400, body=_bad_key()), "auth"),
        (Error(400, body=_too_long()), "context_length"),
        (Error(401), "auth"),
        (Error(403), "permission"),
        (Error(404), "not_found"),
        (Error(409), "conflict"),
        (Error(500), "server"),
        (Error(503), "overloaded"),
        (Error(504), "timeout"),
    ],
    ids=[
        "per-minute",
        "per-day",
        "invalid",
        "bad-key",
        "too-long",
        "unauthenticated",
        "denied",
        "not-found",
        "aborted",
        "internal",
        "overloaded",
        "deadline",
    ],
)
async def test_errors_are_classified(
    telemetry: Telemetry, fp: FakeProvider, gemini: Gemini, reply: Error, error_type: str
) -> None:
    fp.script(reply)
    error = await raised(gemini.generate)
    assert isinstance(error, errors.APIError) and error.code == reply.status
    check(telemetry, fp, failed(error_type))


async def test_a_timeout(telemetry: Telemetry, fp: FakeProvider, gemini: Gemini) -> None:
    fp.script(Hang(seconds=1.0))
    config = {"http_options": {"timeout": 100}}  # milliseconds
    error = await raised(lambda: gemini.generate(config=config))
    assert "Timeout" in type(error).__name__  # httpx2's or aiohttp's own
    check(telemetry, fp, failed("timeout"))


# -- the pieces -----------------------------------------------------------------------------------


async def test_usage_from_the_sdk_object_and_the_rest_json() -> None:
    wire = wire_usage(
        100, 20, thoughts=7, cached=40, tool_use_prompt=5, prompt_details={"TEXT": 90, "AUDIO": 6, "IMAGE": 4}
    )
    sdk = types.GenerateContentResponseUsageMetadata.model_validate(wire)
    expected = Usage(105, 27, 40, None, 7, billed=Billed(audio_input=6, image_input=4))
    assert gemini_usage(wire) == gemini_usage(sdk) == expected
    assert gemini_usage({"trafficType": "ON_DEMAND"}) is None
    assert gemini_usage(None) is None


async def test_modalities_for_the_audio_and_image_families() -> None:
    wire = wire_usage(
        100,
        20,
        prompt_details={"TEXT": 90, "AUDIO": 6, "IMAGE": 4},
        candidates_details={"TEXT": 12, "AUDIO": 8},
    )
    sdk = types.GenerateContentResponseUsageMetadata.model_validate(wire)
    assert modalities(wire) == modalities(sdk) == Billed(audio_input=6, image_input=4, audio_output=8)
    assert modalities(wire_usage(10, 2)) is modalities({}) is None  # all text


async def test_uninstrument_restores_every_original(telemetry: Telemetry) -> None:
    hooked = {(cls, name): vars(cls)[name] for cls, name in HOOKED}
    assert all(isinstance(v, wrapt.FunctionWrapper) for v in hooked.values())
    llm_telemetry.uninstrument()
    for (cls, name), hook in hooked.items():
        assert vars(cls)[name] is hook.__wrapped__


async def test_build_info_names_the_new_sdks(telemetry: Telemetry) -> None:
    from importlib.metadata import version

    ((labels, value),) = telemetry.samples("llm_telemetry_build_info")
    assert value == 1
    assert list(labels) == [
        "version",
        "openai",
        "anthropic",
        "litellm",
        "instructor",
        "google_genai",
        "boto3",
        "dspy",
        "prices",
    ]
    assert (labels["google_genai"], labels["boto3"], labels["dspy"]) == (
        version("google-genai"),
        version("boto3"),
        version("dspy"),
    )
