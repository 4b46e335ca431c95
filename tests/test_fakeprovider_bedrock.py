"""The fake provider's Bedrock runtime API, driven through the real boto3 ``bedrock-runtime`` client.

boto3 is pointed at the fake provider with ``endpoint_url=`` and dummy credentials. Every call must come
out of botocore exactly as scripted: Converse usage (cache reads and writes included), stop reasons,
the AWS event-stream framing of ``converse_stream`` and ``invoke_model_with_response_stream`` (CRCs
checked by botocore's own decoder), each model family's InvokeModel body, Bedrock's token-count headers,
and botocore's own error classes and retries (requests counted at the fake provider).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import EventStreamError
from urllib3.exceptions import ProtocolError

from llm_telemetry.testing import (
    Converse,
    ConverseStream,
    CountBedrockTokens,
    Error,
    FakeProvider,
    InvokeModel,
    InvokeModelStream,
    bedrock_usage,
)
from llm_telemetry.testing._bedrock import _frame

from .shapes import key_shape

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
HI: Any = [{"role": "user", "content": [{"text": "hi"}]}]


def _client(fp: FakeProvider, **retries: Any) -> Any:
    config = Config(retries=retries) if retries else None
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=fp.bedrock_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=config,
    )


@pytest.fixture
def brt(fp: FakeProvider) -> Iterator[Any]:
    client = _client(fp)
    yield client
    client.close()


def _chunks(response: dict[str, Any]) -> list[Any]:
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


# ------------------------------------------------------------------------------------ event stream


@pytest.mark.parametrize(
    ("headers", "payload", "encoded"),
    [
        # Test vectors of botocore's own decoder tests (boto/botocore tests/unit/test_eventstream.py:
        # EMPTY_MESSAGE, PAYLOAD_NO_HEADERS, PAYLOAD_ONE_STR_HEADER, ERROR_EVENT_MESSAGE).
        ({}, b"", b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff"),
        ({}, b"{'foo':'bar'}", b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96"),
        (
            {"content-type": "application/json"},
            b"{'foo':'bar'}",
            b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10"
            b"application/json{'foo':'bar'}\x8d\x9c\x08\xb1",
        ),
        (
            {":message-type": "error", ":error-code": "code", ":error-message": "message"},
            b"",
            b"\x00\x00\x00\x52\x00\x00\x00\x42\xbf\x23\x63\x7e\x0d:message-type\x07\x00\x05error"
            b"\x0b:error-code\x07\x00\x04code\x0e:error-message\x07\x00\x07message\x6b\x6c\xea\x3d",
        ),
    ],
    ids=["empty", "payload", "string-header", "error"],
)
def test_event_stream_encoder_matches_botocore_test_vectors(
    headers: dict[str, str], payload: bytes, encoded: bytes
) -> None:
    assert _frame(headers, payload) == encoded
    buffer = EventStreamBuffer()
    buffer.add_data(encoded)
    (message,) = list(buffer)
    assert (message.headers, message.payload) == (headers, payload)


# ---------------------------------------------------------------------------------------- converse


def test_converse_every_usage_field(fp: FakeProvider, brt: Any) -> None:
    # TokenUsage: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
    usage = bedrock_usage(4, 37, cache_read=1500, cache_write=1755, cache_details={"5m": 1000, "1h": 755})
    assert usage["totalTokens"] == 4 + 37 + 1500 + 1755  # cache included, as in the prompt-caching docs
    fp.script(
        Converse(text="Bonjour.", usage=usage, stop_reason="max_tokens", latency_ms=321, service_tier="flex")
    )
    r = brt.converse(modelId=CLAUDE, messages=HI, inferenceConfig={"maxTokens": 37})
    assert r["output"]["message"] == {"role": "assistant", "content": [{"text": "Bonjour."}]}
    assert r["usage"] == {
        "inputTokens": 4,
        "outputTokens": 37,
        "totalTokens": 3296,
        "cacheReadInputTokens": 1500,
        "cacheWriteInputTokens": 1755,
        "cacheDetails": [{"ttl": "5m", "inputTokens": 1000}, {"ttl": "1h", "inputTokens": 755}],
    }
    assert (r["stopReason"], r["metrics"], r["serviceTier"]) == (
        "max_tokens",
        {"latencyMs": 321},
        {"type": "flex"},
    )
    meta = r["ResponseMetadata"]
    assert (meta["HTTPStatusCode"], meta["RetryAttempts"]) == (200, 0)
    assert meta["RequestId"].startswith("fake-bedrock-")
    (req,) = fp.requests
    assert (req.method, req.path) == ("POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
    assert req.body == {"messages": HI, "inferenceConfig": {"maxTokens": 37}}
    assert req.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=x/")


def test_converse_reasoning_and_tool_use(fp: FakeProvider, brt: Any) -> None:
    fp.script(
        Converse(
            reasoning="Think.",
            tool_use={"name": "weather", "input": {"city": "Oslo"}},
            stop_reason="tool_use",
        )
    )
    r = brt.converse(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=HI)
    reasoning, tool = r["output"]["message"]["content"]
    assert reasoning == {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "fake-sig"}}}
    assert (tool["toolUse"]["name"], tool["toolUse"]["input"]) == ("weather", {"city": "Oslo"})
    assert r["stopReason"] == "tool_use"


def test_converse_stream_events_and_usage(fp: FakeProvider, brt: Any) -> None:
    usage = bedrock_usage(12, 5, cache_read=30)
    fp.script(
        ConverseStream(chunks=("Hel", "lo", "!"), usage=usage, reasoning="Hm.", service_tier="priority")
    )
    events = list(brt.converse_stream(modelId=CLAUDE, messages=HI)["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[1]["contentBlockDelta"] == {
        "delta": {"reasoningContent": {"text": "Hm."}},
        "contentBlockIndex": 0,
    }
    text = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    assert text == "Hello!"
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    assert events[-1] == {
        "metadata": {"usage": usage, "metrics": {"latencyMs": 120}, "serviceTier": {"type": "priority"}}
    }  # the "p" padding of every event payload is not part of the model: botocore drops it
    assert fp.requests[0].path.endswith("/converse-stream")


def test_converse_stream_exception_event_and_cut(fp: FakeProvider, brt: Any) -> None:
    fp.script(ConverseStream(error_after=2, error="throttlingException"), ConverseStream(die_after=2))
    seen: list[Any] = []
    with pytest.raises(EventStreamError) as failed:
        for event in brt.converse_stream(modelId=CLAUDE, messages=HI)["stream"]:
            seen.append(event)
    assert len(seen) == 2
    assert failed.value.response["Error"]["Code"] == "throttlingException"
    seen = []
    with pytest.raises(ProtocolError):  # botocore lets urllib3's "response ended prematurely" escape
        for event in brt.converse_stream(modelId=CLAUDE, messages=HI)["stream"]:
            seen.append(event)
    assert len(seen) == 2


def test_converse_stream_without_metadata(fp: FakeProvider, brt: Any) -> None:
    fp.script(ConverseStream(usage=None))
    events = list(brt.converse_stream(modelId=CLAUDE, messages=HI)["stream"])
    assert "metadata" not in events[-1] and "messageStop" in events[-1]


# ------------------------------------------------------------------------------------ invoke_model

# The documented response body of each family, values as in the docs' examples; the fake provider's body
# must have exactly these keys. Anthropic: model-parameters-anthropic-claude-messages-request-response.html,
# Meta: model-parameters-meta.html, Titan Text: model-parameters-titan-text.html, Titan Embeddings V2:
# model-parameters-titan-embed-text.html, Mistral: model-parameters-mistral-text-completion.html (all under
# https://docs.aws.amazon.com/bedrock/latest/userguide/).
DOCUMENTED: dict[str, dict[str, Any]] = {
    "anthropic": {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-haiku-20240307",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 3},
    },
    "meta": {
        "generation": "Hi",
        "prompt_token_count": 12,
        "generation_token_count": 3,
        "stop_reason": "stop",
    },
    "titan-text": {
        "inputTextTokenCount": 12,
        "results": [{"tokenCount": 3, "outputText": "Hi", "completionReason": "FINISH"}],
    },
    "titan-embed": {"embedding": [0.1], "inputTextTokenCount": 12},
    "mistral": {"outputs": [{"text": "Hi", "stop_reason": "stop"}]},
}
FAMILY_MODELS = [
    ("anthropic", CLAUDE),
    ("meta", "us.meta.llama3-2-1b-instruct-v1:0"),
    ("titan-text", "amazon.titan-text-express-v1"),
    ("titan-embed", "amazon.titan-embed-text-v2:0"),
    ("mistral", "arn:aws:bedrock:us-west-2::foundation-model/mistral.mistral-7b-instruct-v0:2"),
]


@pytest.mark.parametrize(("family", "model_id"), FAMILY_MODELS, ids=[f for f, _ in FAMILY_MODELS])
def test_invoke_model_family_bodies_and_count_headers(
    fp: FakeProvider, brt: Any, family: str, model_id: str
) -> None:
    fp.script(InvokeModel(text="Hi", input_tokens=12, output_tokens=3, latency_ms=926))
    r = brt.invoke_model(modelId=model_id, body=json.dumps({"prompt": "hi"}))
    body = json.loads(r["body"].read())
    assert key_shape(body) == key_shape(DOCUMENTED[family])
    volatile = {"id", "embedding"}  # a fresh message id; the vector's values
    assert {k: v for k, v in body.items() if k not in volatile} == {
        k: v for k, v in DOCUMENTED[family].items() if k not in volatile
    }
    headers = r["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-input-token-count"] == "12"
    assert headers.get("x-amzn-bedrock-output-token-count") == (None if family == "titan-embed" else "3")
    assert headers["x-amzn-bedrock-invocation-latency"] == "926"
    assert r["contentType"] == "application/json"
    assert fp.requests[0].body == {"prompt": "hi"}


def test_invoke_model_anthropic_cache_counts(fp: FakeProvider, brt: Any) -> None:
    fp.script(
        InvokeModel(input_tokens=5, output_tokens=9, cache_read=200, cache_write=40, service_tier="flex")
    )
    r = brt.invoke_model(modelId=CLAUDE, body=b"{}")
    assert json.loads(r["body"].read())["usage"] == {
        "input_tokens": 5,
        "cache_creation_input_tokens": 40,
        "cache_read_input_tokens": 200,
        "output_tokens": 9,
    }
    headers = r["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-cache-read-input-token-count"] == "200"
    assert headers["x-amzn-bedrock-cache-write-input-token-count"] == "40"
    assert r["serviceTier"] == "flex"  # modeled from the X-Amzn-Bedrock-Service-Tier header


def test_invoke_model_counts_can_be_left_out(fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModel(count_headers=False), InvokeModel(body_usage=False))
    r = brt.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=b"{}")
    assert not any("token-count" in h for h in r["ResponseMetadata"]["HTTPHeaders"])
    assert json.loads(r["body"].read())["prompt_token_count"] == 12
    r = brt.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=b"{}")
    assert json.loads(r["body"].read()) == {"generation": "Hello there.", "stop_reason": "stop"}
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-output-token-count"] == "3"


def test_invoke_model_unknown_family_is_a_validation_error(fp: FakeProvider, brt: Any) -> None:
    with pytest.raises(brt.exceptions.ValidationException):
        brt.invoke_model(modelId="cohere.command-r-v1:0", body=b"{}")
    fp.script(InvokeModel(family="mistral"))
    assert "outputs" in json.loads(brt.invoke_model(modelId="custom-model", body=b"{}")["body"].read())


# ----------------------------------------------------------------------- invoke_model_with_response_stream


def test_invoke_stream_anthropic_events_and_metrics(fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModelStream(chunks=("Hel", "lo"), input_tokens=12, output_tokens=7, cache_read=100))
    r = brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}")
    assert r["contentType"] == "application/json"  # from X-Amzn-Bedrock-Content-Type
    chunks = _chunks(r)
    assert [c["type"] for c in chunks] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert chunks[0]["message"]["usage"] == {
        "input_tokens": 12,
        "cache_read_input_tokens": 100,
        "output_tokens": 1,
    }
    assert chunks[5]["usage"] == {"output_tokens": 7}
    assert chunks[-1]["amazon-bedrock-invocationMetrics"] == {
        "inputTokenCount": 12,
        "outputTokenCount": 7,
        "invocationLatency": 120,
        "firstByteLatency": 30,
        "cacheReadInputTokenCount": 100,
    }
    assert fp.requests[0].path.endswith("/invoke-with-response-stream")


@pytest.mark.parametrize(
    ("model_id", "counts"),
    [
        # Running counts as each family streams them (pages cited above DOCUMENTED).
        ("meta.llama3-8b-instruct-v1:0", [(12, 2), (None, 4), (None, 6)]),
        ("amazon.titan-text-premier-v1:0", [(12, 2), (None, 4), (None, 6)]),
        ("mistral.mixtral-8x7b-instruct-v0:1", [(None, None)] * 3),
    ],
    ids=["meta", "titan-text", "mistral"],
)
def test_invoke_stream_family_chunks(
    fp: FakeProvider, brt: Any, model_id: str, counts: list[tuple[int | None, int | None]]
) -> None:
    fp.script(InvokeModelStream(chunks=("a", "b", "c"), input_tokens=12, output_tokens=6))
    chunks = _chunks(brt.invoke_model_with_response_stream(modelId=model_id, body=b"{}"))
    prompt_key, output_key, text_key = {
        "meta": ("prompt_token_count", "generation_token_count", "generation"),
        "amazon": ("inputTextTokenCount", "totalOutputTextTokenCount", "outputText"),
        "mistral": ("", "", ""),
    }[model_id.split(".")[0]]
    if prompt_key:
        assert [(c.get(prompt_key), c[output_key]) for c in chunks] == counts
        assert "".join(c[text_key] for c in chunks) == "abc"
    else:
        assert [c["outputs"][0] for c in chunks] == [
            {"text": "a", "stop_reason": None},
            {"text": "b", "stop_reason": None},
            {"text": "c", "stop_reason": "stop"},
        ]
    assert [("amazon-bedrock-invocationMetrics" in c) for c in chunks] == [False, False, True]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (12, 6)


def test_invoke_stream_without_metrics_error_event_and_cut(fp: FakeProvider, brt: Any) -> None:
    fp.script(
        InvokeModelStream(metrics=False),
        InvokeModelStream(chunks=("a", "b"), family="meta", error_after=1, error="modelStreamErrorException"),
        InvokeModelStream(die_after=3),
    )
    chunks = _chunks(brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}"))
    assert not any("amazon-bedrock-invocationMetrics" in c for c in chunks)
    seen: list[Any] = []
    with pytest.raises(EventStreamError) as failed:
        for event in brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}")["body"]:
            seen.append(event)
    assert len(seen) == 1 and failed.value.response["Error"]["Code"] == "modelStreamErrorException"
    with pytest.raises(ProtocolError):
        list(brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}")["body"])


def test_invoke_stream_chunk_bytes_are_base64_json_on_the_wire(fp: FakeProvider) -> None:
    """What botocore decodes: each ``chunk`` event payload is ``{"bytes": <base64>, "p": <padding>}``
    (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_PayloadPart.html)."""
    import urllib.request

    fp.script(InvokeModelStream(chunks=("x",), family="mistral"))
    request = urllib.request.Request(fp.url + "/model/m/invoke-with-response-stream", data=b"{}")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
        buffer = EventStreamBuffer()
        buffer.add_data(response.read())
    (message,) = list(buffer)
    assert message.headers == {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    payload = json.loads(message.payload)
    assert set(payload) == {"bytes", "p"}
    assert json.loads(base64.b64decode(payload["bytes"]))["outputs"][0]["text"] == "x"


# ---------------------------------------------------------------------------------- errors, retries


def test_throttling_is_retried_by_botocore(fp: FakeProvider, brt: Any) -> None:
    fp.script(Error(429), Converse(usage=bedrock_usage(3, 1)))
    r = brt.converse(modelId=CLAUDE, messages=HI)
    assert r["usage"]["totalTokens"] == 4
    assert r["ResponseMetadata"]["RetryAttempts"] == 1
    attempts = [q.headers["amz-sdk-request"].rsplit("attempt=", 1)[1] for q in fp.requests]
    assert attempts == ["1; max=3", "2; max=3"]


def test_errors_carry_x_amzn_errortype_and_map_to_modeled_exceptions(fp: FakeProvider) -> None:
    brt = _client(fp, mode="standard", total_max_attempts=1)  # no retries: one request per call
    cases = [
        (Error(429), "ThrottlingException"),
        (Error(400), "ValidationException"),
        (Error(403), "AccessDeniedException"),
        (Error(404), "ResourceNotFoundException"),
        (Error(408), "ModelTimeoutException"),
        (Error(424), "ModelErrorException"),
        (Error(500), "InternalServerException"),
        (Error(503), "ServiceUnavailableException"),
        (
            Error(400, headers={"x-amzn-ErrorType": "ServiceQuotaExceededException"}),
            "ServiceQuotaExceededException",
        ),
        (Error(429, headers={"x-amzn-ErrorType": "ModelNotReadyException"}), "ModelNotReadyException"),
    ]
    for reply, name in cases:
        fp.script(reply)
        with pytest.raises(getattr(brt.exceptions, name)) as raised:
            brt.converse(modelId=CLAUDE, messages=HI)
        error = raised.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (name, reply.status)
    assert len(fp.requests) == len(cases)
    assert fp.requests[0].path.endswith("/converse")


def test_server_errors_retried_until_max_attempts(fp: FakeProvider) -> None:
    brt = _client(fp, mode="standard", total_max_attempts=2)
    fp.script(Error(503), Error(500), Error(503), InvokeModel())
    with pytest.raises(brt.exceptions.InternalServerException) as gave_up:
        brt.converse(modelId=CLAUDE, messages=HI)
    assert gave_up.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(fp.requests) == 2
    r = brt.invoke_model(modelId=CLAUDE, body=b"{}")  # the next call: 503, then success
    assert r["ResponseMetadata"]["RetryAttempts"] == 1


def test_not_retried_and_modeled_retryable(fp: FakeProvider, brt: Any) -> None:
    fp.script(Error(400), Error(429, headers={"x-amzn-ErrorType": "ModelNotReadyException"}), Converse())
    with pytest.raises(brt.exceptions.ValidationException):
        brt.converse(modelId=CLAUDE, messages=HI)
    assert len(fp.requests) == 1
    # ModelNotReadyException is modeled retryable (not as throttling) in the service model.
    assert brt.converse(modelId=CLAUDE, messages=HI)["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(fp.requests) == 3


def test_legacy_retry_mode_and_stream_retry(fp: FakeProvider) -> None:
    legacy = _client(fp, mode="legacy", max_attempts=2)  # legacy counts retries, not attempts
    fp.script(Error(503), InvokeModel())
    r = legacy.invoke_model(modelId=CLAUDE, body=b"{}")
    assert r["ResponseMetadata"]["RetryAttempts"] == 1 and len(fp.requests) == 2
    fp.reset()
    standard = _client(fp)
    fp.script(Error(500), ConverseStream(chunks=("ok",)))
    response = standard.converse_stream(modelId=CLAUDE, messages=HI)
    assert response["ResponseMetadata"]["RetryAttempts"] == 1  # retried before the stream began
    assert [
        e["contentBlockDelta"]["delta"]["text"] for e in response["stream"] if "contentBlockDelta" in e
    ] == ["ok"]


def test_count_tokens_is_served(fp: FakeProvider, brt: Any) -> None:
    fp.script(CountBedrockTokens(input_tokens=42))
    r = brt.count_tokens(modelId=CLAUDE, input={"converse": {"messages": HI}})
    assert r["inputTokens"] == 42
    assert fp.requests[0].path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens"
