"""The fake provider's Gemini REST API, driven through the real ``google-genai`` SDK (sync and ``aio``).

Each reply must come out of the SDK exactly as scripted: every usage field, the text, the finish
reason, the ids, and the SDK's own error classes and retry loop (requests counted at the fake provider).
Developer API and Vertex AI (project and express mode) are both covered, since their URL shapes,
response fields and embedding endpoints differ.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from llm_telemetry.testing import (
    CountTokens,
    EmbedContent,
    Error,
    FakeProvider,
    GenerateContent,
    GenerateContentStream,
    Raw,
    gemini_error,
    gemini_usage,
)

from .shapes import key_shape

MODEL = "gemini-2.5-flash"
#: Fast retries: HttpRetryOptions is the SDK's only retry switch (without it nothing is retried).
RETRY = types.HttpRetryOptions(attempts=3, initial_delay=0.001, max_delay=0.002, jitter=0)


def _developer(fp: FakeProvider, retry: types.HttpRetryOptions | None = None) -> Any:
    return genai.Client(api_key="x", http_options={"base_url": fp.gemini_base_url, "retry_options": retry})


def _vertex(fp: FakeProvider) -> Any:
    """Vertex AI in project mode: a static OAuth token, so no ADC lookup happens."""
    return genai.Client(
        vertexai=True,
        project="proj",
        location="us-central1",
        credentials=Credentials(token="fake-token"),
        http_options={"base_url": fp.gemini_base_url},
    )


def _express(fp: FakeProvider) -> Any:
    """Vertex AI in express mode (API key, no project)."""
    return genai.Client(vertexai=True, api_key="x", http_options={"base_url": fp.gemini_base_url})


@pytest.fixture
def dev(fp: FakeProvider) -> Iterator[Any]:
    client = _developer(fp)
    yield client
    client.close()


def _post_raw(fp: FakeProvider, path: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        fp.url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return bytes(response.read())


def _sse(raw: bytes) -> list[Any]:
    return [json.loads(event[len(b"data: ") :]) for event in raw.split(b"\r\n\r\n") if event]


# ------------------------------------------------------------------------------------ generateContent


def test_generate_content_every_usage_field(fp: FakeProvider, dev: Any) -> None:
    # Field names and meanings: https://ai.google.dev/api/generate-content#UsageMetadata
    usage = gemini_usage(
        120,
        30,
        thoughts=45,
        cached=64,
        tool_use_prompt=9,
        prompt_details={"TEXT": 100, "AUDIO": 12, "IMAGE": 8},
        candidates_details={"TEXT": 26, "AUDIO": 4},
    )
    fp.script(GenerateContent(model="gemini-2.5-flash-001", text="Paris.", usage=usage, id="resp-1"))
    r = dev.models.generate_content(model=MODEL, contents="Capital of France?")
    assert r.text == "Paris."
    assert (r.model_version, r.response_id) == ("gemini-2.5-flash-001", "resp-1")
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    u = r.usage_metadata
    assert (u.prompt_token_count, u.candidates_token_count, u.thoughts_token_count) == (120, 30, 45)
    assert (u.cached_content_token_count, u.tool_use_prompt_token_count, u.total_token_count) == (64, 9, 204)
    assert {(d.modality.value, d.token_count) for d in u.prompt_tokens_details} == {
        ("TEXT", 100),
        ("AUDIO", 12),
        ("IMAGE", 8),
    }
    assert [(d.modality.value, d.token_count) for d in u.candidates_tokens_details] == [
        ("TEXT", 26),
        ("AUDIO", 4),
    ]
    assert [(d.modality.value, d.token_count) for d in u.cache_tokens_details] == [("TEXT", 64)]
    assert u.traffic_type is None  # Vertex AI only
    (req,) = fp.requests
    assert (req.method, req.path) == ("POST", f"/v1/models/{MODEL}:generateContent")
    assert req.headers["x-goog-api-key"] == "x"
    assert req.body["contents"] == [{"parts": [{"text": "Capital of France?"}], "role": "user"}]


def test_zero_counts_are_absent_as_in_proto3_json(fp: FakeProvider, dev: Any) -> None:
    """Proto3 JSON omits zero values (https://protobuf.dev/programming-guides/json/): a reply that spent its
    whole budget thinking has no candidatesTokenCount at all, and the SDK reads None."""
    assert gemini_usage(27, 0, thoughts=194) == {
        "promptTokenCount": 27,
        "totalTokenCount": 221,
        "thoughtsTokenCount": 194,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 27}],
    }
    fp.script(GenerateContent(text="", usage=gemini_usage(27, 0, thoughts=194), finish_reason="MAX_TOKENS"))
    r = dev.models.generate_content(model=MODEL, contents="think")
    assert r.usage_metadata.candidates_token_count is None
    assert (r.usage_metadata.thoughts_token_count, r.usage_metadata.total_token_count) == (194, 221)
    assert r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_thought_function_call_and_grounding(fp: FakeProvider, dev: Any) -> None:
    fp.script(
        GenerateContent(
            thought="Let me think.", function_call={"name": "get_weather", "args": {"city": "Oslo"}}
        ),
        GenerateContent(text="Sunny.", search_queries=("weather oslo", "oslo forecast")),
    )
    r = dev.models.generate_content(model=MODEL, contents="Weather?")
    thought, call = r.candidates[0].content.parts
    assert (thought.thought, thought.text) == (True, "Let me think.")
    assert (call.function_call.name, call.function_call.args) == ("get_weather", {"city": "Oslo"})
    assert r.function_calls[0].name == "get_weather"
    r = dev.models.generate_content(model=MODEL, contents="Weather?")
    grounding = r.candidates[0].grounding_metadata
    assert grounding.web_search_queries == ["weather oslo", "oslo forecast"]
    assert len(grounding.grounding_chunks) == 2
    assert grounding.grounding_supports[0].segment.text == "Sunny."


def test_unscripted_requests_echo_the_model_in_the_path(fp: FakeProvider, dev: Any) -> None:
    assert (
        dev.models.generate_content(model="gemini-2.0-flash", contents="x").model_version
        == "gemini-2.0-flash"
    )
    chunks = list(dev.models.generate_content_stream(model="gemini-2.0-flash", contents="x"))
    assert "".join(c.text for c in chunks) == "Hello"
    assert {c.model_version for c in chunks} == {"gemini-2.0-flash"}


@pytest.mark.parametrize(
    ("client", "path"),
    [
        (_vertex, f"/v1beta1/projects/proj/locations/us-central1/publishers/google/models/{MODEL}"),
        (_express, f"/v1beta1/publishers/google/models/{MODEL}"),
    ],
    ids=["project", "express"],
)
def test_vertex_ai_paths_and_fields(fp: FakeProvider, client: Any, path: str) -> None:
    vertex = client(fp)
    fp.script(GenerateContent(usage=gemini_usage(12, 3)))
    r = vertex.models.generate_content(model=MODEL, contents="hi")
    assert r.text == "Hello there."
    assert r.usage_metadata.traffic_type == types.TrafficType.ON_DEMAND
    assert (r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count) == (12, 3)
    assert r.create_time is not None
    assert r.candidates[0].index is None  # Vertex AI does not number candidates
    (req,) = fp.requests
    assert req.path == f"{path}:generateContent"
    if client is _vertex:
        assert req.headers["authorization"] == "Bearer fake-token"


async def test_async_generate_content(fp: FakeProvider, dev: Any) -> None:
    fp.script(GenerateContent(usage=gemini_usage(7, 2, thoughts=3), text="Hi."))
    r = await dev.aio.models.generate_content(model=MODEL, contents="hi")
    assert r.text == "Hi."
    assert (r.usage_metadata.prompt_token_count, r.usage_metadata.thoughts_token_count) == (7, 3)
    assert r.usage_metadata.total_token_count == 12
    assert fp.requests[0].path == f"/v1/models/{MODEL}:generateContent"


# ------------------------------------------------------------------------------- streamGenerateContent


def _running(chunks: list[Any]) -> list[tuple[int | None, int | None]]:
    return [(c.usage_metadata.candidates_token_count, c.usage_metadata.total_token_count) for c in chunks]


def test_stream_usage_is_cumulative_and_the_last_value_wins(fp: FakeProvider, dev: Any) -> None:
    usage = gemini_usage(10, 6, thoughts=5, cached=4)
    fp.script(GenerateContentStream(chunks=("The ", "capital ", "is Paris."), usage=usage, thought="Hmm."))
    chunks = list(dev.models.generate_content_stream(model=MODEL, contents="Capital?"))
    assert [c.text for c in chunks] == [None, "The ", "capital ", "is Paris."]  # .text skips thoughts
    assert chunks[0].candidates[0].content.parts[0].thought is True
    # Prompt-side counts whole from the first event, candidates growing, the last event final.
    assert {c.usage_metadata.prompt_token_count for c in chunks} == {10}
    assert {c.usage_metadata.cached_content_token_count for c in chunks} == {4}
    assert _running(chunks) == [(None, 15), (2, 17), (4, 19), (6, 21)]
    assert chunks[-1].usage_metadata == types.GenerateContentResponseUsageMetadata.model_validate(
        {k: v for k, v in usage.items()}
    )
    assert [c.candidates[0].finish_reason for c in chunks] == [None, None, None, types.FinishReason.STOP]
    assert len({c.response_id for c in chunks}) == 1
    assert fp.requests[0].path == f"/v1/models/{MODEL}:streamGenerateContent?alt=sse"


async def test_async_stream(fp: FakeProvider, dev: Any) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b"), usage=gemini_usage(8, 4), search_queries=("q",)))
    stream = await dev.aio.models.generate_content_stream(model=MODEL, contents="x")
    chunks = [c async for c in stream]
    assert "".join(c.text for c in chunks) == "ab"
    assert _running(chunks) == [(2, 10), (4, 12)]
    assert chunks[-1].candidates[0].grounding_metadata.web_search_queries == ["q"]
    assert chunks[0].candidates[0].grounding_metadata is None


def test_vertex_stream_carries_counts_only_at_the_end(fp: FakeProvider) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), usage=gemini_usage(5, 3)))
    vertex = _vertex(fp)  # held: a collected Client closes its HTTP client under a running stream
    chunks = list(vertex.models.generate_content_stream(model=MODEL, contents="x"))
    assert [c.usage_metadata.traffic_type for c in chunks] == [types.TrafficType.ON_DEMAND] * 3
    assert [c.usage_metadata.prompt_token_count for c in chunks] == [None, None, 5]
    assert [c.usage_metadata.candidates_token_count for c in chunks] == [None, None, 3]


def test_vertex_stream_matches_recorded_traffic(fp: FakeProvider) -> None:
    # A recorded Vertex AI streamGenerateContent event (last of the stream), from
    # https://alm.pragmatismo.com.br/GeneralBots/gb/raw/commit/144c4b0b79e3ada32911f430eda31de3a6fe84fc/out.txt
    recorded_middle = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": " How can I help you today"}]}}],
        "usageMetadata": {"trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    }
    recorded_last = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "?"}]}, "finishReason": "STOP"}],
        "usageMetadata": {
            "promptTokenCount": 1,
            "candidatesTokenCount": 9,
            "totalTokenCount": 10,
            "trafficType": "ON_DEMAND",
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
        },
        "modelVersion": "gemini-3.1-flash-lite-preview",
        "createTime": "2026-03-10T14:54:45.066123Z",
        "responseId": "tTCwacuEBMvnitYP06qsgQY",
    }
    fp.script(GenerateContentStream(model="gemini-3.1-flash-lite-preview", usage=gemini_usage(1, 9)))
    path = (
        f"/v1beta1/projects/p/locations/global/publishers/google/models/{MODEL}:streamGenerateContent?alt=sse"
    )
    middle, last = _sse(_post_raw(fp, path, {"contents": []}))
    assert key_shape(middle) == key_shape(recorded_middle)
    assert key_shape(last) == key_shape(recorded_last)
    assert last["usageMetadata"] == recorded_last["usageMetadata"]


def test_stream_cut_and_mid_stream_error(fp: FakeProvider, dev: Any) -> None:
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), die_after=1))
    seen: list[str] = []
    with pytest.raises(Exception) as cut:  # the HTTP library's own "incomplete body" error escapes
        for c in dev.models.generate_content_stream(model=MODEL, contents="x"):
            seen.append(c.text)
    assert seen == ["a"]
    assert not isinstance(cut.value, errors.APIError)
    # The API reports a failure after the 200 as an {"error": ...} event; the SDK raises its own class.
    fp.script(GenerateContentStream(chunks=("a", "b", "c"), error_after=2, error_status=503))
    seen = []
    with pytest.raises(errors.ServerError) as failed:
        for c in dev.models.generate_content_stream(model=MODEL, contents="x"):
            seen.append(c.text)
    assert seen == ["a", "b"]
    assert (failed.value.code, failed.value.status) == (503, "UNAVAILABLE")


# -------------------------------------------------------------------------------- embeddings, tokens


def test_developer_embed_goes_to_batch_embed_contents(fp: FakeProvider, dev: Any) -> None:
    fp.script(EmbedContent(prompt_tokens=9))
    r = dev.models.embed_content(
        model="gemini-embedding-001", contents=["a", "b", "c"], config={"output_dimensionality": 4}
    )
    assert [len(e.values) for e in r.embeddings] == [4, 4, 4]
    assert r.usage_metadata.prompt_token_count == 9
    (req,) = fp.requests
    assert req.path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    assert len(req.body["requests"]) == 3


def test_vertex_embed_content_and_predict(fp: FakeProvider) -> None:
    vertex = _vertex(fp)
    fp.script(EmbedContent(prompt_tokens=4), EmbedContent(prompt_tokens=7), EmbedContent(prompt_tokens=7))
    one = vertex.models.embed_content(model="gemini-embedding-001", contents="hello")
    assert one.embeddings[0].statistics.token_count == 4  # the SDK copies usageMetadata into statistics
    assert (one.usage_metadata.prompt_token_count, one.truncated) == (4, False)
    many = vertex.models.embed_content(model="gemini-embedding-001", contents=["a", "b"])
    assert (len(many.embeddings), many.usage_metadata.prompt_token_count) == (2, 7)
    # text-embedding-* models use :predict, with a token count per instance that sums to the total.
    predicted = vertex.models.embed_content(model="text-embedding-005", contents=["ab", "cde"])
    assert [e.statistics.token_count for e in predicted.embeddings] == [4, 3]
    assert predicted.metadata.billable_character_count == 5
    assert [r.path.rsplit(":", 1)[1] for r in fp.requests] == [
        "embedContent",
        "batchEmbedContents",
        "predict",
    ]


async def test_async_embed_and_count_tokens(fp: FakeProvider, dev: Any) -> None:
    fp.script(EmbedContent(prompt_tokens=None), CountTokens(total_tokens=31, cached_tokens=8))
    r = await dev.aio.models.embed_content(model="gemini-embedding-001", contents="x")
    assert r.usage_metadata is None and len(r.embeddings) == 1
    counted = await dev.aio.models.count_tokens(model=MODEL, contents="how many?")
    assert (counted.total_tokens, counted.cached_content_token_count) == (31, 8)
    assert fp.requests[1].path == f"/v1/models/{MODEL}:countTokens"


def test_count_tokens_sync_and_vertex(fp: FakeProvider, dev: Any) -> None:
    fp.script(CountTokens(total_tokens=5), CountTokens(total_tokens=6, cached_tokens=2))
    assert dev.models.count_tokens(model=MODEL, contents="x").total_tokens == 5
    vertex = _vertex(fp)
    counted = vertex.models.count_tokens(model=MODEL, contents="x")
    assert (counted.total_tokens, counted.cached_content_token_count) == (6, None)  # Developer API only


# ---------------------------------------------------------------------------------- errors, retries


def test_errors_raise_the_sdk_classes_without_retrying_by_default(fp: FakeProvider, dev: Any) -> None:
    fp.script(Error(429), Error(503), Error(404))
    with pytest.raises(errors.ClientError) as limited:
        dev.models.generate_content(model=MODEL, contents="x")
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
    detail = limited.value.details["error"]["details"][0]
    assert detail["violations"][0]["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
    with pytest.raises(errors.ServerError) as unavailable:
        dev.models.generate_content(model=MODEL, contents="x")
    assert (unavailable.value.code, unavailable.value.status) == (503, "UNAVAILABLE")
    with pytest.raises(errors.ClientError) as missing:
        dev.models.count_tokens(model=MODEL, contents="x")
    assert missing.value.status == "NOT_FOUND"
    assert len(fp.requests) == 3  # one request each: google-genai retries only when told to


def test_daily_quota_body(fp: FakeProvider, dev: Any) -> None:
    daily = gemini_error(429, quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier")
    fp.script(Error(429, body=daily))
    with pytest.raises(errors.ClientError) as exhausted:
        dev.models.generate_content(model=MODEL, contents="x")
    violation = exhausted.value.details["error"]["details"][0]["violations"][0]
    assert violation["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    assert exhausted.value.details["error"]["details"][1] == {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "1s",
    }


def test_retry_options_retry_429_and_503(fp: FakeProvider) -> None:
    client = _developer(fp, RETRY)
    fp.script(Error(429), Error(503), GenerateContent(usage=gemini_usage(3, 1)))
    assert client.models.generate_content(model=MODEL, contents="x").usage_metadata.total_token_count == 4
    assert len(fp.requests) == 3
    fp.reset()
    fp.script(Error(500), Error(503), Error(500))
    with pytest.raises(errors.ServerError) as gave_up:
        client.models.generate_content(model=MODEL, contents="x")
    assert gave_up.value.code == 500 and len(fp.requests) == 3  # attempts=3 includes the first
    fp.reset()
    fp.script(Error(400))
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model=MODEL, contents="x")
    assert len(fp.requests) == 1  # 400 is not retryable


async def test_async_retries_for_calls_and_streams(fp: FakeProvider) -> None:
    client = _developer(fp, RETRY)
    fp.script(Error(503), Error(429), GenerateContent(text="ok"))
    assert (await client.aio.models.generate_content(model=MODEL, contents="x")).text == "ok"
    assert len(fp.requests) == 3
    fp.reset()
    fp.script(Error(503), GenerateContentStream(chunks=("o", "k")))
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents="x")
    assert [c.text async for c in stream] == ["o", "k"]
    assert len(fp.requests) == 2


def test_per_request_retry_options_on_a_stream(fp: FakeProvider, dev: Any) -> None:
    fp.script(Error(429), GenerateContentStream(chunks=("x",)))
    config = types.GenerateContentConfig(http_options=types.HttpOptions(retry_options=RETRY))
    assert [c.text for c in dev.models.generate_content_stream(model=MODEL, contents="x", config=config)] == [
        "x"
    ]
    assert len(fp.requests) == 2


def test_non_json_error_body(fp: FakeProvider, dev: Any) -> None:
    fp.script(Raw(status=502, content_type="text/html", body="<html>Bad Gateway</html>"))
    with pytest.raises(errors.ServerError) as bad:
        dev.models.generate_content(model=MODEL, contents="x")
    assert bad.value.code == 502
